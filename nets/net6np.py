"""Net6NP: Net6 without pooling, with fewer feature maps (6, 12, 24).

Slide "Experiments - Net6NP" ("No pooling, decrease number of filters to
account for large number of parameters")::

    conv1_num_filters=6, conv1_filter_size=(3, 3), # pool1_pool_size=(2, 2),
    dropout1_p=0.1, # !
    conv2_num_filters=12, conv2_filter_size=(2, 2), # pool2_pool_size=(2, 2),
    dropout2_p=0.2, # !
    conv3_num_filters=24, conv3_filter_size=(2, 2), # pool3_pool_size=(2, 2),
    dropout3_p=0.3, # !
    hidden4_num_units=500,
    dropout4_p=0.5, # !
    hidden5_num_units=500,

Slide "Experiments - Net6NP - Results"::

    Neural Network with 101,835,566 learnable parameters
    input 1x96x96, conv1 6x94x94, dropout1 6x94x94, conv2 12x93x93,
    dropout2 12x93x93, conv3 24x92x92, dropout3 24x92x92, hidden4 500,
    dropout4 500, hidden5 500, output 30
    1000  0.00108  0.00136

Trained as Net6 (:func:`nets.recipe.scheduled`, flipped batches); 1000
epochs (``byron_net6NP.csv``).
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from nolearn.lasagne import NeuralNet

from nets import recipe

DEFAULT_EPOCHS = 1000


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=1000, **overrides)

    Net6NP, not yet initialized; `overrides` replace any of its keywords.
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
        conv1_num_filters=6, conv1_filter_size=(3, 3),  # pool1_pool_size=(2, 2),
        dropout1_p=0.1,  # !
        conv2_num_filters=12, conv2_filter_size=(2, 2),  # pool2_pool_size=(2, 2),
        dropout2_p=0.2,  # !
        conv3_num_filters=24, conv3_filter_size=(2, 2),  # pool3_pool_size=(2, 2),
        dropout3_p=0.3,  # !
        hidden4_num_units=500,
        dropout4_p=0.5,  # !
        hidden5_num_units=500,
        output_num_units=30, output_nonlinearity=None,

        max_epochs=max_epochs,
        **recipe.scheduled(flip=True)), **overrides))
