"""Net6: Net5 with dropout after each pooling layer and the first hidden layer.

Slide "Net6 Architecture"::

    input_shape=(None, 1, 96, 96),
    conv1_num_filters=32, conv1_filter_size=(3, 3), pool1_pool_size=(2, 2),
    dropout1_p=0.1,
    conv2_num_filters=64, conv2_filter_size=(2, 2), pool2_pool_size=(2, 2),
    dropout2_p=0.2,
    conv3_num_filters=128, conv3_filter_size=(2, 2), pool3_pool_size=(2, 2),
    dropout3_p=0.3,
    hidden4_num_units=500,
    dropout4_p=0.5,
    hidden5_num_units=500,output_num_units=30,output_nonlinearity=None,

    input    (None, 1, 96, 96)    conv1    (None, 32, 94, 94)
    pool1    (None, 32, 47, 47)   dropout1 (None, 32, 47, 47)
    conv2    (None, 64, 46, 46)   pool2    (None, 64, 23, 23)
    dropout2 (None, 64, 23, 23)   conv3    (None, 128, 22, 22)
    pool3    (None, 128, 11, 11)  dropout3 (None, 128, 11, 11)
    hidden4  (None, 500)          dropout4 (None, 500)
    hidden5  (None, 500)          output   (None, 30)
    750  0.00239  0.00210  1.13988  3.01s

Net5's training (:func:`nets.recipe.scheduled`, flipped batches).
8,051,502 learnable parameters. The study ran 750 epochs
(``w207final_net6.csv``) and took Net6 as the baseline of its explorations.
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from nolearn.lasagne import NeuralNet

from nets import recipe

DEFAULT_EPOCHS = 750


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=750, **overrides)

    Net6, not yet initialized; `overrides` replace any of its keywords.
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
        conv1_num_filters=32, conv1_filter_size=(3, 3), pool1_pool_size=(2, 2),
        dropout1_p=0.1,
        conv2_num_filters=64, conv2_filter_size=(2, 2), pool2_pool_size=(2, 2),
        dropout2_p=0.2,
        conv3_num_filters=128, conv3_filter_size=(2, 2), pool3_pool_size=(2, 2),
        dropout3_p=0.3,
        hidden4_num_units=500,
        dropout4_p=0.5,
        hidden5_num_units=500, output_num_units=30, output_nonlinearity=None,

        max_epochs=max_epochs,
        **recipe.scheduled(flip=True)), **overrides))
