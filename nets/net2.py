"""Net2: the basic conv net (three conv/pool blocks, two hidden layers of 500).

Slide "Architecture of a Basic Conv Net"::

    input_shape=(None, 1, 96, 96),
    conv1_num_filters=32, conv1_filter_size=(3, 3), pool1_pool_size=(2, 2),
    conv2_num_filters=64, conv2_filter_size=(2, 2), pool2_pool_size=(2, 2),
    conv3 num filters=128, conv3 filter size=(2, 2), pool3 pool size=(2, 2),
    hidden4 num units=500, hidden5 num units=500, output num units=30,
    output nonlinearity=None,

    input   (None, 1, 96, 96)   produces   9216 outputs
    conv1   (None, 32, 94, 94)  produces 282752 outputs
    pool1   (None, 32, 47, 47)  produces  70688 outputs
    conv2   (None, 64, 46, 46)  produces 135424 outputs
    pool2   (None, 64, 23, 23)  produces  33856 outputs
    conv3   (None, 128, 22, 22) produces  61952 outputs
    pool3   (None, 128, 11, 11) produces  15488 outputs
    hidden4 (None, 500)         produces    500 outputs
    hidden5 (None, 500)         produces    500 outputs
    output  (None, 30)          produces     30 outputs
    750  0.00144  0.00175  0.82118  2.94s

Daniel Nouri's ``net2``, trained at a fixed rate
(:func:`nets.recipe.fixed_rate`), no flips, no dropout. 8,051,502 learnable
parameters. The study ran 750 epochs (``w207final_net2.csv``).
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from nolearn.lasagne import NeuralNet

from nets import recipe

DEFAULT_EPOCHS = 750


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=750, **overrides)

    Net2, not yet initialized; `overrides` replace any of its keywords.
    """
    return NeuralNet(**dict(dict(
        layers=[
            ('input', layers.InputLayer),
            ('conv1', layers.Conv2DLayer),
            ('pool1', layers.MaxPool2DLayer),
            ('conv2', layers.Conv2DLayer),
            ('pool2', layers.MaxPool2DLayer),
            ('conv3', layers.Conv2DLayer),
            ('pool3', layers.MaxPool2DLayer),
            ('hidden4', layers.DenseLayer),
            ('hidden5', layers.DenseLayer),
            ('output', layers.DenseLayer),
        ],
        input_shape=(None, 1, 96, 96),
        conv1_num_filters=32, conv1_filter_size=(3, 3), pool1_pool_size=(2, 2),
        conv2_num_filters=64, conv2_filter_size=(2, 2), pool2_pool_size=(2, 2),
        conv3_num_filters=128, conv3_filter_size=(2, 2), pool3_pool_size=(2, 2),
        hidden4_num_units=500, hidden5_num_units=500,
        output_num_units=30, output_nonlinearity=None,

        max_epochs=max_epochs,
        **recipe.fixed_rate()), **overrides))
