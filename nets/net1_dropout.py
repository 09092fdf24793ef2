"""Net1 with dropout: the single hidden layer net of the dropout table.

Slide "The influence of dropout rate on train & valid losses of a simple
single-layer-hidden NN"::

    | Dropout_rate | Train_loss | Validation_loss | Duration_time(s) |
    | 0            | 0.00097    | 0.00268         | 0.09222          |
    | 0.1          | 0.0014     | 0.00224         | 0.09424          |
    | 0.45         | 0.00232    | 0.00227         | 0.09407          |

The slides print neither the layers nor the epochs. The table's row of
rate 0 (0.00097 / 0.00268) sits beside the 500-unit row of the hidden-unit
sweep (0.00094 / 0.00253), so: Net1 with 500 hidden units and one dropout
layer between the hidden and output layers (where dropout acts on a net
of one hidden layer), ``dropout_p`` swept by ``experiments``; Net1's
training (fixed learning rate 0.01, momentum 0.9) and 1000 epochs, as the
sweep beside it.
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from lasagne.updates import nesterov_momentum
from nolearn.lasagne import BatchIterator, NeuralNet

from training.handlers import StopOnNonFinite

DEFAULT_EPOCHS = 1000


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=1000, **overrides)

    Net1 with a dropout layer, as a nolearn ``NeuralNet`` (not yet
    initialized); ``dropout_p=0.3`` and the like replace the slide's values.
    """
    return NeuralNet(**dict(dict(
        layers=[
            ('input', layers.InputLayer),
            ('hidden', layers.DenseLayer),
            ('dropout', layers.DropoutLayer),
            ('output', layers.DenseLayer),
        ],
        input_shape=(None, 9216),  # 96x96 input pixels per batch
        hidden_num_units=500,
        dropout_p=0.1,
        output_nonlinearity=None,
        output_num_units=30,

        update=nesterov_momentum,
        update_learning_rate=0.01,
        update_momentum=0.9,

        regression=True,
        batch_iterator_train=BatchIterator(batch_size=128),
        batch_iterator_test=BatchIterator(batch_size=128),  # each net its own
        on_epoch_finished=[StopOnNonFinite()],
        max_epochs=max_epochs,
        verbose=1,
    ), **overrides))  # overrides replace the slide's values
