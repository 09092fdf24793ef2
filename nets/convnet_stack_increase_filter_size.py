"""ConvNet_Stack_Increase_Filter_Size: two stacked conv layers (3x3, then 5x5)
before the first pooling.

Slide "Stack conv layer, increase filter size -
ConvNet_Stack_Increase_Filter_Size" (``conv_net_stack_increase_filter_size``)::

    | input    | (None, | 1, 96, 96)   | produces |   9216 | outputs |
    | conv1    | (None, | 32, 94, 94)  | produces | 282752 | outputs |
    | conv2    | (None, | 64, 90, 90)  | produces | 518400 | outputs |
    | pool3    | (None, | 64, 45, 45)  | produces | 129600 | outputs |
    | dropout3 | (None, | 64, 45, 45)  | produces | 129600 | outputs |
    | conv5    | (None, | 128, 44, 44) | produces | 247808 | outputs |
    | pool6    | (None, | 128, 22, 22) | produces |  61952 | outputs |
    | dropout6 | (None, | 128, 22, 22) | produces |  61952 | outputs |
    | hidden5  | (None, | 500)         | produces |    500 | outputs |
    | output   | (None, | 30)          | produces |     30 | outputs |

"Comparing to ConvNet_Stack, increasing the filter size in the first two
conv layers (from 2 * 2 and 3 * 3 to 3 * 3 and 5 * 5) improves the result."
This table is this net's: 96 -> 94 needs 3x3 and 94 -> 90 needs 5x5.
31,076,010 learnable parameters.

The slides give no declaration, so these are this module's choices:
dropout3_p=0.1 and dropout6_p=0.2 (Net6's rates for its first two blocks;
the slides are silent), no dropout after hidden5 (the table lists none),
conv5 2x2 (the table's 45 -> 44), pools 2x2, and Net6's training: learning
rate 0.03 -> 0.0001, momentum 0.9 -> 0.999, flipped batches of 128, 750
epochs (no log of these runs survives; 750 is Net6's).
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

    ConvNet_Stack_Increase_Filter_Size as a nolearn ``NeuralNet`` (not yet initialized).

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
        conv1_num_filters=32, conv1_filter_size=(3, 3),
        conv2_num_filters=64, conv2_filter_size=(5, 5), pool3_pool_size=(2, 2),
        dropout3_p=0.1,  # the slides are silent: Net6's first rate
        conv5_num_filters=128, conv5_filter_size=(2, 2), pool6_pool_size=(2, 2),
        dropout6_p=0.2,  # the slides are silent: Net6's second rate
        hidden5_num_units=500,
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
