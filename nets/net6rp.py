"""Net6RP: pooling replaced by 2x2 convolutions of stride 2.

Slide "Experiments - Net6RP" ("Replace pooling with conv layers of stride
length 2")::

    conv1_num_filters=6, conv1_filter_size=(5, 5), #pool1_pool_size=(4, 4),
    conv_rpool1_num_filters=6, conv_rpool1_filter_size=(2, 2), conv_rpool1_stride=2, # !
    dropout1_p=0.1, # !
    conv2_num_filters=12, conv2_filter_size=(5, 5), #pool2_pool_size=(4, 4),
    conv_rpool2_num_filters=12, conv_rpool2_filter_size=(2, 2), conv_rpool2_stride=2, # !
    dropout2_p=0.2, # !
    conv3_num_filters=32, conv3_filter_size=(5, 5), #pool3_pool_size=(4, 4),
    conv_rpool3_num_filters=32, conv_rpool3_filter_size=(2, 2), conv_rpool3_stride=2,# !
    dropout3_p=0.3, # !
    hidden4_num_units=500,
    dropout4_p=0.5, # !
    hidden5_num_units=500,
    output num units=30, output nonlinearity=None,

Slide "Experiments - Net6RP Results" (no parameter count printed)::

    input 1x96x96, conv1 6x92x92, conv_rpool1 6x46x46, dropout1 6x46x46,
    conv2 12x42x42, conv_rpool2 12x21x21, dropout2 12x21x21,
    conv3 32x17x17, conv_rpool3 32x8x8, dropout3 32x8x8, hidden4 500,
    dropout4 500, hidden5 500, output 30

1,306,496 learnable parameters. The strided convolutions keep Lasagne's
default ReLU. Trained as Net6 (:func:`nets.recipe.scheduled`, flipped
batches); 2000 epochs (``byron_net6RP.csv``).
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from nolearn.lasagne import NeuralNet

from nets import recipe

DEFAULT_EPOCHS = 2000


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=2000, **overrides)

    Net6RP, not yet initialized; `overrides` replace any of its keywords.
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
        conv1_num_filters=6, conv1_filter_size=(5, 5),  # pool1_pool_size=(4, 4),
        conv_rpool1_num_filters=6, conv_rpool1_filter_size=(2, 2), conv_rpool1_stride=2,  # !
        dropout1_p=0.1,  # !

        conv2_num_filters=12, conv2_filter_size=(5, 5),  # pool2_pool_size=(4, 4),
        conv_rpool2_num_filters=12, conv_rpool2_filter_size=(2, 2), conv_rpool2_stride=2,  # !
        dropout2_p=0.2,  # !

        conv3_num_filters=32, conv3_filter_size=(5, 5),  # pool3_pool_size=(4, 4),
        conv_rpool3_num_filters=32, conv_rpool3_filter_size=(2, 2), conv_rpool3_stride=2,  # !
        dropout3_p=0.3,  # !

        hidden4_num_units=500,
        dropout4_p=0.5,  # !
        hidden5_num_units=500,
        output_num_units=30, output_nonlinearity=None,

        max_epochs=max_epochs,
        **recipe.scheduled(flip=True)), **overrides))
