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

:func:`for_labels` gives the keywords that change with the label set a run
trains on (``data_prep.dataset.LABELS``): none for ``'complete'`` (the
study's objective, untouched), 8 output units for ``'sparse'``, and for
``'all'`` a :class:`MaskedObjective` (missing targets, NaN, count nowhere)
with a :class:`CountLabelled` train split that tells it how many targets
each split has.

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
import theano.tensor as T
from lasagne import regularization
from lasagne.layers import get_output
from lasagne.updates import nesterov_momentum
from nolearn.lasagne import BatchIterator, TrainSplit

from data_prep.dataset import label_columns
from training.batch_iterators import FlipBatchIterator
from training.handlers import LinearSchedule, StopOnNonFinite

__all__ = ['BATCH_SIZE', 'EVAL_SIZE', 'train_iterator', 'fixed_rate',
           'scheduled', 'MaskedObjective', 'CountLabelled', 'for_labels']

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


class MaskedObjective(object):
    """MaskedObjective()

    nolearn's ``objective`` for targets with missing values (NaN): the
    squared error over the labelled coordinates only, so a missing
    keypoint adds nothing to the loss or to its gradient.

    nolearn logs an epoch's loss as the mean of its batches' losses
    weighted by their rows. For that mean to be the mean over the labelled
    coordinates of the whole split, a batch of ``n`` rows whose labelled
    squared errors sum to ``S`` has the loss ``S / (n * c)``, where ``c``
    is the split's labelled coordinates per row (:attr:`train_per_row`,
    :attr:`valid_per_row`), which :class:`CountLabelled` sets when nolearn
    splits the data: sum_b n_b S_b / (n_b c) / N = sum S / C. Each labelled
    coordinate of an epoch so weighs the same, and a batch with none has
    the loss 0. With complete targets ``c`` is 30 and the loss is the
    study's mean squared error (the complete label set does not use this
    objective at all: :func:`for_labels`).

    A missing target is replaced by 0 before the error is taken and its
    error is then switched off: ``(pred - NaN) ** 2`` behind a
    ``T.switch`` would still make the gradient NaN (0 * NaN).

    Called by nolearn as ``objective(layers, loss_function, target,
    aggregate, deterministic, l1, l2, get_output_kw)``, the signature of
    ``nolearn.lasagne.objective``; ``deterministic=True`` is the
    validation loss. ``aggregate`` is not used (the mean is the one
    above).

    Attributes
    ----------
    train_per_row, valid_per_row : theano shared float32
        Labelled coordinates per row of the training and the validation
        split (30 until :meth:`count` is called).
    """

    def __init__(self):
        self.train_per_row = theano.shared(np.float32(30), name='train_per_row')
        self.valid_per_row = theano.shared(np.float32(30), name='valid_per_row')

    def count(self, y_train, y_valid):
        """count(y_train, y_valid)

        Set the labelled coordinates per row of each split (1 for a split
        without any, so nothing divides by 0).
        """
        for share, y in ((self.train_per_row, y_train),
                         (self.valid_per_row, y_valid)):
            y = np.asarray(y)
            labelled = np.isfinite(y).sum() / float(len(y)) if len(y) else 0
            share.set_value(np.float32(labelled if labelled > 0 else 1))

    def __call__(self, layers, loss_function, target, aggregate=None,
                 deterministic=False, l1=0, l2=0, get_output_kw=None):
        output = get_output(layers[-1], deterministic=deterministic,
                            **(get_output_kw or {}))
        labelled = T.invert(T.isnan(target))
        finite_target = T.switch(labelled, target, 0)
        errors = T.switch(labelled, loss_function(output, finite_target), 0)
        per_row = self.valid_per_row if deterministic else self.train_per_row
        rows = T.cast(target.shape[0], theano.config.floatX)
        loss = errors.sum() / (rows * per_row)
        if l1:
            loss += regularization.regularize_layer_params(
                layers.values(), regularization.l1) * l1
        if l2:
            loss += regularization.regularize_layer_params(
                layers.values(), regularization.l2) * l2
        return loss

    def __repr__(self):
        return 'MaskedObjective()'


class CountLabelled(object):
    """CountLabelled(split)

    A ``train_split`` that splits as `split` does and tells the net's
    :class:`MaskedObjective` how many targets each part has
    (:meth:`MaskedObjective.count`). nolearn splits once per ``fit``,
    before the first batch.

    Parameters
    ----------
    split : callable
        nolearn's ``TrainSplit`` or any ``split(X, y, net)``.
    """

    def __init__(self, split):
        self.split = split

    @property
    def eval_size(self):
        """The wrapped split's ``eval_size``."""
        return self.split.eval_size

    def __call__(self, X, y, net):
        X_train, X_valid, y_train, y_valid = self.split(X, y, net)
        if not isinstance(net.objective, MaskedObjective):
            raise TypeError('CountLabelled splits for a MaskedObjective; the '
                            'net has %r' % (net.objective,))
        net.objective.count(y_train, y_valid)
        return X_train, X_valid, y_train, y_valid

    def __repr__(self):
        return 'CountLabelled(%r)' % (self.split,)


def for_labels(labels, train_split=None):
    """for_labels(labels, train_split=None)

    The ``NeuralNet`` keywords of a net that trains on the label set
    `labels` (``data_prep.dataset.LABELS``), new objects each call:

    - ``'complete'``: none, the study's objective and output as declared;
    - ``'sparse'``: ``output_num_units=8``, one per column of
      ``data_prep.keypoints.SPARSE_COLUMNS`` (every row has them);
    - ``'all'``: a :class:`MaskedObjective` and, as ``train_split``,
      `train_split` (default ``TrainSplit(eval_size=EVAL_SIZE)``) wrapped
      in :class:`CountLabelled`.

    >>> for_labels('complete'), for_labels('sparse')
    ({}, {'output_num_units': 8})
    >>> keywords = for_labels('all')
    >>> keywords['objective'], keywords['train_split'].eval_size
    (MaskedObjective(), 0.2)
    """
    columns = label_columns(labels)
    if labels == 'complete':
        return {}
    if labels == 'sparse':
        return {'output_num_units': len(columns)}
    return {'objective': MaskedObjective(),
            'train_split': CountLabelled(
                train_split if train_split is not None
                else TrainSplit(eval_size=EVAL_SIZE))}
