"""The study's two training recipes, as ``NeuralNet`` keywords.

Every net of the slides trains one of Daniel Nouri's two ways:

* :func:`fixed_rate` (Net1-Net3): Nesterov momentum with a fixed learning
  rate of 0.01 and momentum of 0.9.
* :func:`scheduled` (Net4 on): the learning rate moved from 0.03 to 0.0001
  and the momentum from 0.9 to 0.999, linearly over ``max_epochs``
  (:class:`training.handlers.LinearSchedule`, Nouri's ``AdjustVariable``).

Both train a regression on batches of :data:`BATCH_SIZE` taken in the
training set's order (never reshuffled), hold out the first
:data:`EVAL_SIZE` of the rows for validation, print nolearn's per-epoch
log, and put :class:`training.handlers.StopOnNonFinite` first among the
epoch handlers. ``flip=True`` gives the training batches to a
:class:`training.batch_iterators.FlipBatchIterator` (:func:`train_iterator`).
The net names its own ``max_epochs``, over which the schedules run.

Every training keyword of the nets is set here, in :func:`_training`. Each
call returns new objects: batch iterators, train split, handlers and
shared variables belong to one net. nolearn's defaults are single instances
shared by every ``NeuralNet``, and a handler or a schedule shared by two
nets would carry one net's state into the other.

>>> keywords = scheduled(flip=True)
>>> sorted(keywords) == sorted(fixed_rate())
True
>>> keywords['update_learning_rate'].get_value()
array(0.03, dtype=float32)
>>> [type(handler).__name__ for handler in keywords['on_epoch_finished']]
['StopOnNonFinite', 'LinearSchedule', 'LinearSchedule']
>>> again = scheduled(flip=True)
>>> again['on_epoch_finished'][0] is keywords['on_epoch_finished'][0]
False
"""
import compat  # noqa: F401  (before lasagne/nolearn/theano)
import numpy as np
import theano
from lasagne.updates import nesterov_momentum
from nolearn.lasagne import BatchIterator, TrainSplit

from training.batch_iterators import FlipBatchIterator
from training.handlers import LinearSchedule, StopOnNonFinite

__all__ = ['BATCH_SIZE', 'EVAL_SIZE', 'train_iterator', 'fixed_rate',
           'scheduled']

#: Rows per batch, in training and in prediction.
BATCH_SIZE = 128
#: The share of the rows held out for validation (the first ones).
EVAL_SIZE = 0.2


def train_iterator(flip):
    """train_iterator(flip)

    A new iterator of training batches of :data:`BATCH_SIZE`, in order:
    a :class:`training.batch_iterators.FlipBatchIterator` (a random half of
    each batch mirrored) when `flip`, else nolearn's ``BatchIterator``.

    >>> type(train_iterator(flip=True)).__name__, train_iterator(False).shuffle
    ('FlipBatchIterator', False)
    """
    if flip:
        return FlipBatchIterator(batch_size=BATCH_SIZE)
    return BatchIterator(batch_size=BATCH_SIZE)


def _training(flip, learning_rate, momentum, schedules):
    return dict(
        update=nesterov_momentum,
        update_learning_rate=learning_rate,
        update_momentum=momentum,
        regression=True,
        batch_iterator_train=train_iterator(flip),
        batch_iterator_test=BatchIterator(batch_size=BATCH_SIZE),
        train_split=TrainSplit(eval_size=EVAL_SIZE),
        on_epoch_finished=[StopOnNonFinite()] + schedules,  # sees every epoch first
        verbose=1,
    )


def fixed_rate(flip=False):
    """fixed_rate(flip=False)

    Net1-Net3's training, as new ``NeuralNet`` keywords: Nesterov momentum,
    learning rate 0.01 and momentum 0.9 throughout; flipped batches when
    `flip`.

    >>> keywords = fixed_rate()
    >>> keywords['update_learning_rate'], keywords['update_momentum']
    (0.01, 0.9)
    >>> type(keywords['batch_iterator_train']).__name__
    'BatchIterator'
    """
    return _training(flip, learning_rate=0.01, momentum=0.9, schedules=[])


def scheduled(flip):
    """scheduled(flip)

    The training of Net4 and every later net, as new ``NeuralNet`` keywords:
    Nesterov momentum with the learning rate 0.03 -> 0.0001 and the momentum
    0.9 -> 0.999, linear over the net's ``max_epochs`` (each a
    ``theano.shared`` value that a :class:`training.handlers.LinearSchedule`
    sets after every epoch); flipped batches when `flip`.

    >>> keywords = scheduled(flip=False)
    >>> [(h.name, h.start, h.stop) for h in keywords['on_epoch_finished'][1:]]
    [('update_learning_rate', 0.03, 0.0001), ('update_momentum', 0.9, 0.999)]
    """
    learning_rate = LinearSchedule('update_learning_rate', start=0.03,
                                   stop=0.0001)
    momentum = LinearSchedule('update_momentum', start=0.9, stop=0.999)
    return _training(
        flip,
        learning_rate=theano.shared(np.float32(learning_rate.start)),
        momentum=theano.shared(np.float32(momentum.start)),
        schedules=[learning_rate, momentum])
