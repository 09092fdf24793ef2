"""Net1: a single hidden layer of 100 units on the flat 96x96 pixels.

Slide "Architecture of A Single Hidden Layer NN"::

    input_shape=(None, 9216), # 96x96 input pixels per batch
    hidden_num_units=100, # number of units in hidden layer
    output_nonlinearity=None, # output layer uses identity function
    output_num_units=30, # 30 target values

    | input  | (None, 9216) | produces | 9216 outputs |
    | hidden | (None, 100)  | produces |  100 outputs |
    | output | (None, 30)   | produces |   30 outputs |
    | 750 | 0.00156 | 0.00280 | 0.55823 0.07s |

Daniel Nouri's ``net1``: Nesterov momentum with a fixed learning rate 0.01
and momentum 0.9, batches of 128, 20% held out for validation. The input is
flat: feed ``X.reshape(-1, *net.input_shape[1:])``. 924,730 learnable
parameters (9216 * 100 + 100 + 100 * 30 + 30). The study ran 750 epochs
(``w207final_net1.csv``). The slides' hidden-unit sweep overrides
``hidden_num_units``.
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from lasagne.updates import nesterov_momentum
from nolearn.lasagne import BatchIterator, NeuralNet

from training.handlers import StopOnNonFinite

DEFAULT_EPOCHS = 750


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=750, **overrides)

    Net1 as a nolearn ``NeuralNet`` (not yet initialized).

    Parameters
    ----------
    max_epochs : int
        Epochs to train.
    **overrides
        ``NeuralNet`` keywords that replace the slide's, e.g.
        ``hidden_num_units=300``.

    Returns
    -------
    nolearn.lasagne.NeuralNet
    """
    return NeuralNet(**dict(dict(
        layers=[
            ('input', layers.InputLayer),
            ('hidden', layers.DenseLayer),
            ('output', layers.DenseLayer),
        ],
        input_shape=(None, 9216),  # 96x96 input pixels per batch
        hidden_num_units=100,  # number of units in hidden layer
        output_nonlinearity=None,  # output layer uses identity function
        output_num_units=30,  # 30 target values

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
