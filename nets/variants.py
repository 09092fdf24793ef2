"""Net6 with the slides' hidden-layer changes, as keyword overrides of Net6.

Slides "Adjust Hidden Layer" ("Adjusting number of nodes in the hidden
layer (300, 500, 1000) has not noticeable impact") and "Adjust Non-Linear
function" ("Change frmo RECT to Sigmoid and Tanh. Make things a little
worse."). The slides give no declarations; these are the choices here:

- ``net6_h300``, ``net6_h1000``: both hidden layers (hidden4 and hidden5)
  get 300 or 1000 units (Net6 has 500).
- ``net6_sigmoid``, ``net6_tanh``: the two dense hidden layers use the
  sigmoid or tanh; the conv layers keep ReLU (the slide sits among the
  hidden-layer slides) and the output stays linear.

Everything else is Net6 (:mod:`nets.net6`), 750 epochs. Net6 with one hidden
layer removed changes the layer list, so it is its own module,
:mod:`nets.net6_1hl`.
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne.nonlinearities import sigmoid, tanh

from nets import net6

DEFAULT_EPOCHS = net6.DEFAULT_EPOCHS


def net6_h300(max_epochs=DEFAULT_EPOCHS, **overrides):
    """net6_h300(max_epochs=750, **overrides)

    Net6 with 300 units in each hidden layer.
    """
    return net6.build(max_epochs, **dict(dict(
        hidden4_num_units=300,
        hidden5_num_units=300,
    ), **overrides))


def net6_h1000(max_epochs=DEFAULT_EPOCHS, **overrides):
    """net6_h1000(max_epochs=750, **overrides)

    Net6 with 1000 units in each hidden layer.
    """
    return net6.build(max_epochs, **dict(dict(
        hidden4_num_units=1000,
        hidden5_num_units=1000,
    ), **overrides))


def net6_sigmoid(max_epochs=DEFAULT_EPOCHS, **overrides):
    """net6_sigmoid(max_epochs=750, **overrides)

    Net6 with sigmoid hidden layers (conv layers keep ReLU).
    """
    return net6.build(max_epochs, **dict(dict(
        hidden4_nonlinearity=sigmoid,
        hidden5_nonlinearity=sigmoid,
    ), **overrides))


def net6_tanh(max_epochs=DEFAULT_EPOCHS, **overrides):
    """net6_tanh(max_epochs=750, **overrides)

    Net6 with tanh hidden layers (conv layers keep ReLU).
    """
    return net6.build(max_epochs, **dict(dict(
        hidden4_nonlinearity=tanh,
        hidden5_nonlinearity=tanh,
    ), **overrides))
