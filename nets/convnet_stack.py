"""ConvNet_Stack: two stacked conv layers (2x2, then 3x3) before the first
pooling.

Slide "Stack conv layer - ConvNet_Stack" (``conv_net_stack``): "Stack conv
layer (with different filter size and depth) without pooling and dropout in
between." The slide on the next net says ConvNet_Stack used "2 * 2 and
3 * 3" filters in its first two conv layers. The layer table this slide
prints cannot be that net's (its 96 -> 94 needs 3x3, 94 -> 90 needs 5x5):
it is the table of ConvNet_Stack_Increase_Filter_Size
(:mod:`nets.convnet_stack_increase_filter_size`), printed twice. This
module follows the text, conv1 2x2 and conv2 3x3, so its shapes are::

    conv1 32x95x95, conv2 64x93x93, pool3 64x46x46, dropout3 64x46x46,
    conv5 128x45x45, pool6 128x22x22, dropout6 128x22x22, hidden5 500

and from pool6 on they agree with the table again. 31,043,082 learnable
parameters.

The slides give no declaration, so these are this module's choices:
dropout3_p=0.1 and dropout6_p=0.2 (Net6's rates for its first two blocks;
the slides are silent), no dropout after hidden5 (the table lists none),
conv5 2x2 (the table's 45 -> 44), pools 2x2, and Net6's training
(:func:`nets.recipe.scheduled`, flipped batches) and 750 epochs (no log of
these runs survives; 750 is Net6's).
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from nolearn.lasagne import NeuralNet

from nets import recipe

DEFAULT_EPOCHS = 750


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=750, **overrides)

    ConvNet_Stack, not yet initialized; `overrides` replace any
    of its keywords.
    """
    return NeuralNet(**dict(dict(
        layers=[
            ('input', layers.InputLayer),
            ('conv1', layers.Conv2DLayer),
            ('conv2', layers.Conv2DLayer),
            ('pool3', layers.MaxPool2DLayer),
            ('dropout3', layers.DropoutLayer),
            ('conv5', layers.Conv2DLayer),
            ('pool6', layers.MaxPool2DLayer),
            ('dropout6', layers.DropoutLayer),
            ('hidden5', layers.DenseLayer),
            ('output', layers.DenseLayer),
        ],
        input_shape=(None, 1, 96, 96),
        conv1_num_filters=32, conv1_filter_size=(2, 2),
        conv2_num_filters=64, conv2_filter_size=(3, 3), pool3_pool_size=(2, 2),
        dropout3_p=0.1,  # the slides are silent: Net6's first rate
        conv5_num_filters=128, conv5_filter_size=(2, 2), pool6_pool_size=(2, 2),
        dropout6_p=0.2,  # the slides are silent: Net6's second rate
        hidden5_num_units=500,
        output_num_units=30, output_nonlinearity=None,

        max_epochs=max_epochs,
        **recipe.scheduled(flip=True)), **overrides))
