"""Net6_1HL: Net6 with one of its two hidden layers removed.

Slide "Adjust Hidden Layer": "Net2 has two FC hidden layer, each with 500
nodes, followed by an output layer (30 nodes). If one of the hidden layers
is completely removed, overfitting becomes severe." The slide gives no
declaration; this module removes hidden4 and its dropout4 as the study's
Net6RHL slide does (its commented ``# hidden4_num_units=500`` and
``# dropout4_p=0.5`` lines), keeping everything else of Net6::

    input 1x96x96, conv1 32x94x94, pool1 32x47x47, dropout1 32x47x47,
    conv2 64x46x46, pool2 64x23x23, dropout2 64x23x23, conv3 128x22x22,
    pool3 128x11x11, dropout3 128x11x11, hidden5 500, output 30

7,801,002 learnable parameters. Net6's training (:func:`nets.recipe.scheduled`,
flipped batches) and 750 epochs.
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from nolearn.lasagne import NeuralNet

from nets import recipe

DEFAULT_EPOCHS = 750


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=750, **overrides)

    Net6 with one hidden layer, not yet initialized; `overrides` replace any
    of its keywords.
    """
    return NeuralNet(**dict(dict(
        layers=[
            ('input', layers.InputLayer),
            ('conv1', layers.Conv2DLayer),
            ('pool1', layers.MaxPool2DLayer),
            ('dropout1', layers.DropoutLayer),
            ('conv2', layers.Conv2DLayer),
            ('pool2', layers.MaxPool2DLayer),
            ('dropout2', layers.DropoutLayer),
            ('conv3', layers.Conv2DLayer),
            ('pool3', layers.MaxPool2DLayer),
            ('dropout3', layers.DropoutLayer),
            ('hidden5', layers.DenseLayer),
            ('output', layers.DenseLayer),
        ],
        input_shape=(None, 1, 96, 96),
        conv1_num_filters=32, conv1_filter_size=(3, 3), pool1_pool_size=(2, 2),
        dropout1_p=0.1,
        conv2_num_filters=64, conv2_filter_size=(2, 2), pool2_pool_size=(2, 2),
        dropout2_p=0.2,
        conv3_num_filters=128, conv3_filter_size=(2, 2), pool3_pool_size=(2, 2),
        dropout3_p=0.3,
        # hidden4_num_units=500,
        # dropout4_p=0.5,
        hidden5_num_units=500, output_num_units=30, output_nonlinearity=None,

        max_epochs=max_epochs,
        **recipe.scheduled(flip=True)), **overrides))
