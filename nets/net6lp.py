"""Net6LP: Net6 with large pooling windows.

Slide "Net6LP - Large Pools" declares::

    conv1_num_filters=32, conv1_filter_size=(3, 3), pool1_pool_size=(4, 4),
    dropout1_p=0.1, # !
    conv2_num_filters=64, conv2_filter_size=(2, 2), pool2_pool_size=(6, 6),
    dropout2_p=0.2, # !
    conv3_num_filters=128, conv3_filter_size=(2, 2), pool3_pool_size=(8, 8),
    dropout3_p=0.3, # !
    hidden4_num_units=500,
    dropout4_p=0.5, # !
    hidden5_num_units=500,

and slide "Net6LP - Large Pools - Results" prints what ran::

    Neural Network with 371,502 learnable parameters
    input 1x96x96, conv1 32x94x94, pool1 32x23x23, dropout1 32x23x23,
    conv2 64x22x22, pool2 64x5x5, dropout2 64x5x5, conv3 128x4x4,
    pool3 128x1x1, dropout3 128x1x1, hidden4 500, dropout4 500,
    hidden5 500, output 30
    1000  0.00444  0.00428  1.03701  2.45s

The two disagree: a 6x6 pool turns conv2's 22x22 into 3x3, not 5x5, and
an 8x8 pool of conv3's 2x2 would leave nothing. The printed shapes and the
371,502 parameters are exactly those of 4x4 pools in all three places
(94 -> 23, 22 -> 5, 4 -> 1), so this module reproduces the net that ran:
``pool1..3_pool_size=(4, 4)``. Trained as Net6 (:func:`nets.recipe.scheduled`,
flipped batches); 1000 epochs (``byron_net6LP.csv``).
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from nolearn.lasagne import NeuralNet

from nets import recipe

DEFAULT_EPOCHS = 1000


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=1000, **overrides)

    Net6LP, not yet initialized; `overrides` replace any of its keywords.
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
            ('hidden4', layers.DenseLayer),
            ('dropout4', layers.DropoutLayer),
            ('hidden5', layers.DenseLayer),
            ('output', layers.DenseLayer),
        ],
        input_shape=(None, 1, 96, 96),
        conv1_num_filters=32, conv1_filter_size=(3, 3), pool1_pool_size=(4, 4),
        dropout1_p=0.1,  # !
        # the slide's declaration says (6, 6); its printed 64x5x5 needs (4, 4)
        conv2_num_filters=64, conv2_filter_size=(2, 2), pool2_pool_size=(4, 4),
        dropout2_p=0.2,  # !
        # the slide's declaration says (8, 8); its printed 128x1x1 needs (4, 4)
        conv3_num_filters=128, conv3_filter_size=(2, 2), pool3_pool_size=(4, 4),
        dropout3_p=0.3,  # !
        hidden4_num_units=500,
        dropout4_p=0.5,  # !
        hidden5_num_units=500,
        output_num_units=30, output_nonlinearity=None,

        max_epochs=max_epochs,
        **recipe.scheduled(flip=True)), **overrides))
