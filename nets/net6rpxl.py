"""Net6RPXL: strided 2x2 convolutions instead of pooling, 32/64/128 maps of
5x5/7x7/9x9.

Slide "Net6RPXL" ("Replace pooling with conv layers of stride length 2,
with large number of filters")::

    conv1_num_filters=32, conv1_filter_size=(5, 5), #pool1_pool_size=(4, 4),
    conv_rpool1_num_filters=32, conv_rpool1_filter_size=(2, 2), conv_rpool1_stride=2, # !
    dropout1_p=0.1, # !
    conv2_num_filters=64, conv2_filter_size=(7, 7), #pool2_pool_size=(4, 4),
    conv_rpool2_num_filters=64, conv_rpool2_filter_size=(2, 2), conv_rpool2_stride=2, # !
    dropout2_p=0.2, # !
    conv3_num_filters=128, conv3_filter_size=(9, 9), #pool3_pool_size=(4, 4),
    conv_rpool3_num_filters=128, conv_rpool3_filter_size=(2, 2), conv_rpool3_stride=2,# !
    dropout3_p=0.3, # !
    hidden4_num_units=500,
    dropout4_p=0.5, # !
    hidden5_num_units=500,
    output_num_units=30, output_nonlinearity=None,

    Neural Network with 3,421,198 learnable parameters
    input 1x96x96, conv1 32x92x92, conv_rpool1 32x46x46, dropout1 32x46x46,
    conv2 64x40x40, conv_rpool2 64x20x20, dropout2 64x20x20,
    conv3 128x12x12, conv_rpool3 128x6x6, dropout3 128x6x6, hidden4 500,
    dropout4 500, hidden5 500, output 30
    1000  0.00226  0.00180  1.25192  14.29s

Trained as Net6 (:func:`nets.recipe.scheduled`, flipped batches); 1000
epochs as the slide shows (``byron_net6RPXL.csv`` stops at 773).
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from nolearn.lasagne import NeuralNet

from nets import recipe

DEFAULT_EPOCHS = 1000


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=1000, **overrides)

    Net6RPXL, not yet initialized; `overrides` replace any of its keywords.
    """
    return NeuralNet(**dict(dict(
        layers=[
            ('input', layers.InputLayer),
            ('conv1', layers.Conv2DLayer),
            ('conv_rpool1', layers.Conv2DLayer),
            ('dropout1', layers.DropoutLayer),
            ('conv2', layers.Conv2DLayer),
            ('conv_rpool2', layers.Conv2DLayer),
            ('dropout2', layers.DropoutLayer),
            ('conv3', layers.Conv2DLayer),
            ('conv_rpool3', layers.Conv2DLayer),
            ('dropout3', layers.DropoutLayer),
            ('hidden4', layers.DenseLayer),
            ('dropout4', layers.DropoutLayer),
            ('hidden5', layers.DenseLayer),
            ('output', layers.DenseLayer),
        ],
        input_shape=(None, 1, 96, 96),
        conv1_num_filters=32, conv1_filter_size=(5, 5),  # pool1_pool_size=(4, 4),
        conv_rpool1_num_filters=32, conv_rpool1_filter_size=(2, 2), conv_rpool1_stride=2,  # !
        dropout1_p=0.1,  # !

        conv2_num_filters=64, conv2_filter_size=(7, 7),  # pool2_pool_size=(4, 4),
        conv_rpool2_num_filters=64, conv_rpool2_filter_size=(2, 2), conv_rpool2_stride=2,  # !
        dropout2_p=0.2,  # !

        conv3_num_filters=128, conv3_filter_size=(9, 9),  # pool3_pool_size=(4, 4),
        conv_rpool3_num_filters=128, conv_rpool3_filter_size=(2, 2), conv_rpool3_stride=2,  # !
        dropout3_p=0.3,  # !

        hidden4_num_units=500,
        dropout4_p=0.5,  # !
        hidden5_num_units=500,
        output_num_units=30, output_nonlinearity=None,

        max_epochs=max_epochs,
        **recipe.scheduled(flip=True)), **overrides))
