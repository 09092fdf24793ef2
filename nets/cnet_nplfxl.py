"""CNet_NPLFXL: the study's final net. No pooling, 6/12/36 feature maps of
5x5/7x7/9x9, two hidden layers of 500, dropout after each.

Slide "CNet_NPLFXL" ("XLarge filters size, medium feature maps, no pool")::

    conv1_num_filters=6, conv1_filter_size=(5, 5), # pool1_pool_size=(2, 2),
    dropout1_p=0.1, # !
    conv2_num_filters=12, conv2_filter_size=(7, 7), # pool1_pool_size=(2, 2),
    dropout2_p=0.2, # !
    conv3_num_filters=36, conv3_filter_size=(9, 9), # pool1_pool_size=(2, 2),
    dropout3_p=0.3, # !
    hidden4_num_units=500,
    dropout4_p=0.5, # !
    hidden5_num_units=500,
    output_num_units=30,

    Neural Network with 109,816,754 learnable parameters
    input 1x96x96, conv1 6x92x92, dropout1 6x92x92, conv2 12x86x86,
    dropout2 12x86x86, conv3 36x78x78, dropout3 36x78x78, hidden4 500,
    dropout4 500, hidden5 500, output 30
    1000  0.00100  0.00107  0.93156  18.93s

Trained as Net6 (:func:`nets.recipe.scheduled`, flipped batches); 1000
epochs (``CNet_NPLFXL_master_HEAD.csv``).
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from nolearn.lasagne import NeuralNet

from nets import recipe

DEFAULT_EPOCHS = 1000


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=1000, **overrides)

    CNet_NPLFXL, not yet initialized; `overrides` replace any of its keywords.
    """
    return NeuralNet(**dict(dict(
        layers=[
            ('input', layers.InputLayer),
            ('conv1', layers.Conv2DLayer),
            ('dropout1', layers.DropoutLayer),
            ('conv2', layers.Conv2DLayer),
            ('dropout2', layers.DropoutLayer),
            ('conv3', layers.Conv2DLayer),
            ('dropout3', layers.DropoutLayer),
            ('hidden4', layers.DenseLayer),
            ('dropout4', layers.DropoutLayer),
            ('hidden5', layers.DenseLayer),
            ('output', layers.DenseLayer),
        ],
        input_shape=(None, 1, 96, 96),
        conv1_num_filters=6, conv1_filter_size=(5, 5),  # pool1_pool_size=(2, 2),
        dropout1_p=0.1,  # !
        conv2_num_filters=12, conv2_filter_size=(7, 7),  # pool2_pool_size=(2, 2),
        dropout2_p=0.2,  # !
        conv3_num_filters=36, conv3_filter_size=(9, 9),  # pool3_pool_size=(2, 2),
        dropout3_p=0.3,  # !
        hidden4_num_units=500,
        dropout4_p=0.5,  # !
        hidden5_num_units=500,
        output_num_units=30, output_nonlinearity=None,

        max_epochs=max_epochs,
        **recipe.scheduled(flip=True)), **overrides))
