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

Daniel Nouri's ``net1``, trained at a fixed rate
(:func:`nets.recipe.fixed_rate`). The input is flat: feed
``X.reshape(-1, *net.input_shape[1:])``. 924,730 learnable parameters
(9216 * 100 + 100 + 100 * 30 + 30). The study ran 750 epochs
(``w207final_net1.csv``). The slides' hidden-unit sweep overrides
``hidden_num_units``.
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from nolearn.lasagne import NeuralNet

from nets import recipe

DEFAULT_EPOCHS = 750


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=750, **overrides)

    Net1, not yet initialized; `overrides` replace any of its keywords.
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
        max_epochs=max_epochs,
        **recipe.fixed_rate()), **overrides))
