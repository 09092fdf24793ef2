"""Net3: Net2 trained on batches of which a random half is mirrored.

Slide "Comparison of Different ConvNets" (after Daniel Nouri's tutorial):
the same layers as Net2 ("Architecture of a Basic Conv Net")::

    conv1 32@3x3 -> pool1 2x2 -> conv2 64@2x2 -> pool2 2x2 -> conv3 128@2x2
    -> pool3 2x2 -> hidden4 500 -> hidden5 500 -> output 30 (linear)

with Nouri's ``FlipBatchIterator``: each batch of 128 has a random half of
its images mirrored and their left/right keypoints swapped. Fixed learning
rate 0.01 and momentum 0.9. 8,051,502 learnable parameters. The study ran
750 epochs (``w207final_net3.csv``).
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
from lasagne import layers
from lasagne.updates import nesterov_momentum
from nolearn.lasagne import BatchIterator, NeuralNet

from training.batch_iterators import FlipBatchIterator
from training.handlers import StopOnNonFinite

DEFAULT_EPOCHS = 750


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=750, **overrides)

    Net3 as a nolearn ``NeuralNet`` (not yet initialized).

    Parameters
    ----------
    max_epochs : int
        Epochs to train.
    **overrides
        ``NeuralNet`` keywords that replace the slide's.

    Returns
    -------
    nolearn.lasagne.NeuralNet
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

        update=nesterov_momentum,
        update_learning_rate=0.01,
        update_momentum=0.9,

        regression=True,
        batch_iterator_train=FlipBatchIterator(batch_size=128),
        batch_iterator_test=BatchIterator(batch_size=128),  # each net its own
        on_epoch_finished=[StopOnNonFinite()],
        max_epochs=max_epochs,
        verbose=1,
    ), **overrides))  # overrides replace the slide's values
