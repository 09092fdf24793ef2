"""Net1 with dropout: the single hidden layer net of the dropout table.

Slide "The influence of dropout rate on train & valid losses of a simple
single-layer-hidden NN"::

    | Dropout_rate | Train_loss | Validation_loss | Duration_time(s) |
    | 0            | 0.00097    | 0.00268         | 0.09222          |
    | 0.1          | 0.0014     | 0.00224         | 0.09424          |
    | 0.45         | 0.00232    | 0.00227         | 0.09407          |

The slides print neither the layers nor the epochs. The table's row of
rate 0 (0.00097 / 0.00268) sits beside the 500-unit row of the hidden-unit
sweep (0.00094 / 0.00253), so: Net1 (:mod:`nets.net1`, its training too)
with 500 hidden units and one dropout layer between the hidden and output
layers (where dropout acts on a net of one hidden layer), ``dropout_p``
swept by ``experiments``, and 1000 epochs, as the sweep beside it.
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers

from nets import net1

DEFAULT_EPOCHS = 1000


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=1000, **overrides)

    Net1 plus a dropout layer; `overrides` replace any of its keywords.
    """
    return net1.build(max_epochs, **dict(dict(
        layers=[
            ('input', layers.InputLayer),
            ('hidden', layers.DenseLayer),
            ('dropout', layers.DropoutLayer),  # the change
            ('output', layers.DenseLayer),
        ],
        hidden_num_units=500,
        dropout_p=0.1,
    ), **overrides))
