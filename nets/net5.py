"""Net5: Net4 (scheduled learning rate and momentum) plus flipped batches.

Slide "Comparison of Different ConvNets" (after Daniel Nouri's tutorial):
Net2's layers ("Architecture of a Basic Conv Net")::

    conv1 32@3x3 -> pool1 2x2 -> conv2 64@2x2 -> pool2 2x2 -> conv3 128@2x2
    -> pool3 2x2 -> hidden4 500 -> hidden5 500 -> output 30 (linear)

learning rate 0.03 -> 0.0001 and momentum 0.9 -> 0.999 linear over
``max_epochs``, and a random half of each batch mirrored. 8,051,502
learnable parameters. The study ran 750 epochs (``w207final_net5.csv``).
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
import numpy as np
import theano
from lasagne import layers
from lasagne.updates import nesterov_momentum
from nolearn.lasagne import BatchIterator, NeuralNet

from training.batch_iterators import FlipBatchIterator
from training.handlers import LinearSchedule, StopOnNonFinite

DEFAULT_EPOCHS = 750


def build(max_epochs=DEFAULT_EPOCHS, **overrides):
    """build(max_epochs=750, **overrides)

    Net5 as a nolearn ``NeuralNet`` (not yet initialized).

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
        update_learning_rate=theano.shared(np.float32(0.03)),
        update_momentum=theano.shared(np.float32(0.9)),

        regression=True,
        batch_iterator_train=FlipBatchIterator(batch_size=128),
        batch_iterator_test=BatchIterator(batch_size=128),  # each net its own
        on_epoch_finished=[
            StopOnNonFinite(),
            LinearSchedule('update_learning_rate', start=0.03, stop=0.0001),
            LinearSchedule('update_momentum', start=0.9, stop=0.999),
        ],
        max_epochs=max_epochs,
        verbose=1,
    ), **overrides))  # overrides replace the slide's values
