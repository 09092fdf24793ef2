"""Small callables for nolearn's ``on_epoch_finished`` hook.

nolearn calls each one as ``handler(nn, train_history)`` after every epoch,
where ``train_history`` is ``nn.train_history_`` (one dict per epoch with
``epoch``, ``train_loss``, ``valid_loss``, ...). A handler stops training by
raising ``StopIteration``, which nolearn's ``train_loop`` catches.

- :class:`LinearSchedule`: Daniel Nouri's ``AdjustVariable`` (learning rate
  and momentum moved linearly over ``max_epochs``), robust to a second
  ``fit`` and to resumed histories.
- :class:`EarlyStopping`: stop when the validation loss has not improved
  for ``patience`` epochs and go back to the best weights (not used by the
  study's nets).
- :class:`StopOnNonFinite`: stop as soon as a loss is NaN or infinite and go
  back to the best weights seen so far.
- :class:`EpochETA`: nolearn's per-epoch log line with the expected finish
  time added, and the plan (epochs, seconds per epoch, finish) before the
  first epoch.
"""
import datetime
import re

import numpy as np

import compat  # noqa: F401  (before nolearn)
from nolearn.lasagne import PrintLog

from errors import UserError

#: The colour codes nolearn's log puts around a best loss.
_ANSI = re.compile(r'\x1b\[[0-9;]*m')


class LinearSchedule(object):
    """LinearSchedule(name, start, stop)

    Move a ``theano.shared`` hyperparameter of the net linearly from `start`
    to `stop` over ``nn.max_epochs`` epochs.

    After epoch ``e`` (``train_history[-1]['epoch']``, 1-based) the value is
    ``np.linspace(start, stop, nn.max_epochs)[e - 1]``, as Daniel Nouri's
    ``AdjustVariable`` set it: the value after epoch 1 is `start`, after
    epoch ``max_epochs`` it is `stop`. Unlike ``AdjustVariable`` it caches
    nothing and clips the epoch, so a second ``fit`` (epochs past
    ``max_epochs``) keeps `stop` instead of raising ``IndexError``, and a
    resumed history (epochs continuing from a checkpoint) finds its place.

    Parameters
    ----------
    name : str
        The net's attribute, e.g. ``'update_learning_rate'``; it must hold a
        ``theano.shared`` variable (a plain number is compiled into the
        update function and cannot change).
    start, stop : float
        The values after the first and after the last epoch.

    Examples
    --------
    >>> import types, numpy as np
    >>> class Shared(object):
    ...     def set_value(self, v): self.value = v
    >>> nn = types.SimpleNamespace(max_epochs=3, update_learning_rate=Shared())
    >>> schedule = LinearSchedule('update_learning_rate', start=0.03, stop=0.01)
    >>> for epoch in (1, 2, 3, 7):
    ...     schedule(nn, [{'epoch': epoch}])
    ...     print(round(float(nn.update_learning_rate.value), 4))
    0.03
    0.02
    0.01
    0.01
    """

    def __init__(self, name, start, stop):
        self.name = name
        self.start = start
        self.stop = stop

    def value_at(self, epoch, max_epochs):
        """value_at(epoch, max_epochs)

        The value set after `epoch` (1-based) of a run of `max_epochs`.
        """
        values = np.linspace(self.start, self.stop, max(int(max_epochs), 1))
        index = min(max(int(epoch) - 1, 0), len(values) - 1)
        return np.float32(values[index])

    def __call__(self, nn, train_history):
        variable = getattr(nn, self.name)
        if not hasattr(variable, 'set_value'):
            raise UserError(
                "%s is the fixed number %r, so LinearSchedule cannot change it: "
                "pass theano.shared(np.float32(%r)) instead, or leave the "
                "schedule out of on_epoch_finished"
                % (self.name, variable, variable))
        variable.set_value(self.value_at(train_history[-1]['epoch'],
                                         nn.max_epochs))

    def __repr__(self):
        return 'LinearSchedule(%r, start=%r, stop=%r)' % (
            self.name, self.start, self.stop)


class BestParams(object):
    """BestParams()

    A copy of a net's parameter values from its best epoch so far.

    The copy lives in arrays allocated once, on the first :meth:`keep`, and
    overwritten in place afterwards: a 100M-parameter net costs its 440 MB
    once, not once per improvement.

    Attributes
    ----------
    epoch : int or None
        The epoch whose values are kept; None before the first :meth:`keep`.
    loss : float
        The loss of that epoch (``inf`` before the first :meth:`keep`).
    """

    def __init__(self):
        self.epoch = None
        self.loss = np.inf
        self._values = None

    def keep(self, nn, epoch, loss):
        """keep(nn, epoch, loss)

        Copy the current parameter values of `nn` as those of `epoch`.
        """
        params = nn.get_all_params()
        if self._values is None or len(self._values) != len(params):
            self._values = [np.empty_like(p.get_value(borrow=True))
                            for p in params]
        for param, kept in zip(params, self._values):
            np.copyto(kept, param.get_value(borrow=True))
        self.epoch = epoch
        self.loss = loss

    def restore(self, nn):
        """restore(nn)

        Put the kept values back into `nn`; returns False when none are kept.
        """
        if self._values is None:
            return False
        for param, kept in zip(nn.get_all_params(), self._values):
            param.set_value(kept)  # copies: the kept arrays stay ours
        return True


def _has_validation(row):
    """Whether nolearn validated this epoch.

    nolearn 0.6.1 stores ``valid_loss_best`` as a bool when there is a
    validation set (even when the loss is NaN) and as ``np.nan`` when there
    is none (``train_split`` with ``eval_size=0``).
    """
    return isinstance(row.get('valid_loss_best'), (bool, np.bool_))


class EarlyStopping(object):
    """EarlyStopping(patience=100)

    Stop when the validation loss has not improved for `patience` epochs,
    and go back to the weights of the best epoch (Daniel Nouri's handler,
    with the weights kept by :class:`BestParams`).

    Not part of the study's nets: add it with
    ``on_epoch_finished=[..., EarlyStopping(patience=100)]``.

    Parameters
    ----------
    patience : int
        Epochs without a new best validation loss before stopping.

    Attributes
    ----------
    best : BestParams
        The best epoch, its validation loss and weights.
    stopped_epoch : int or None
        The epoch at which training stopped, None while it has not.
    """

    def __init__(self, patience=100):
        self.patience = patience
        self.best = BestParams()
        self.stopped_epoch = None

    def __call__(self, nn, train_history):
        row = train_history[-1]
        epoch, valid_loss = row['epoch'], row['valid_loss']
        if valid_loss < self.best.loss:
            self.best.keep(nn, epoch, valid_loss)
        elif self.best.epoch is not None and epoch - self.best.epoch >= self.patience:
            self.stopped_epoch = epoch
            self.best.restore(nn)
            print("early stopping at epoch %d: no better valid loss for %d "
                  "epochs; keeping the weights of epoch %d (valid loss %.6f)"
                  % (epoch, self.patience, self.best.epoch, self.best.loss))
            raise StopIteration()

    def __repr__(self):
        return 'EarlyStopping(patience=%r)' % self.patience


class StopOnNonFinite(object):
    """StopOnNonFinite()

    Stop as soon as the train or validation loss is NaN or infinite, and go
    back to the weights of the best epoch so far.

    It keeps a copy of the weights (:class:`BestParams`) each time the
    validation loss improves (the train loss when the net has no validation
    set), so put it in ``on_epoch_finished`` from the first epoch on. On
    stopping it prints one line, e.g.::

        training stopped at epoch 12: train loss is nan; keeping the weights
        of epoch 11 (best valid loss 0.004211)

    When the very first epoch is not finite there is nothing to go back to:
    the line says so and :attr:`best` ``.epoch`` stays None.

    Attributes
    ----------
    best : BestParams
        The best finite epoch, its loss and weights.
    stopped_epoch : int or None
        The epoch at which training stopped, None while it has not.
    message : str or None
        The line printed on stopping.
    """

    def __init__(self):
        self.best = BestParams()
        self.stopped_epoch = None
        self.message = None

    def __call__(self, nn, train_history):
        row = train_history[-1]
        epoch = row['epoch']
        validated = _has_validation(row)
        losses = [('train', row['train_loss'])]
        if validated:
            losses.append(('valid', row['valid_loss']))
        bad = [(kind, loss) for kind, loss in losses if not np.isfinite(loss)]
        kind = 'valid' if validated else 'train'
        if not bad:
            loss = row['valid_loss'] if validated else row['train_loss']
            if loss < self.best.loss:
                self.best.keep(nn, epoch, loss)
            return
        what = ' and '.join('%s loss is %s' % (k, float(v)) for k, v in bad)
        if self.best.restore(nn):
            kept = 'keeping the weights of epoch %d (best %s loss %.6f)' % (
                self.best.epoch, kind, self.best.loss)
        else:
            kept = 'no earlier finite epoch, so the weights are not usable'
        self.stopped_epoch = epoch
        self.message = 'training stopped at epoch %d: %s; %s' % (epoch, what, kept)
        print(self.message)
        raise StopIteration()

    def __repr__(self):
        return 'StopOnNonFinite()'


def format_finish(seconds_from_now, now=None):
    """format_finish(seconds_from_now, now=None)

    The clock time `seconds_from_now` after `now` (a ``datetime``, default
    the local time now): ``HH:MM:SS`` within the same day, else
    ``YYYY-MM-DD HH:MM``.

    >>> start = datetime.datetime(2016, 4, 1, 9, 5, 0)
    >>> format_finish(125.4, start), format_finish(86400, start)
    ('09:07:05', '2016-04-02 09:05')
    """
    now = now or datetime.datetime.now()
    finish = now + datetime.timedelta(seconds=float(seconds_from_now))
    if finish.date() == now.date():
        return finish.strftime('%H:%M:%S')
    return finish.strftime('%Y-%m-%d %H:%M')


class EpochETA(PrintLog):
    """EpochETA(expected=None, source=None)

    nolearn's ``PrintLog`` (the per-epoch table, its columns unchanged)
    with one more column, ``eta``: when training will end, from the epochs
    left (``nn.max_epochs`` minus the history's) times the mean duration
    of the epochs this ``fit`` has run.

    :meth:`plan`, as an ``on_training_started`` handler, prints before the
    first epoch the epochs to run, the expected seconds per epoch and the
    finish time::

        training epochs 1-750 of 750; expected s/epoch: unknown until the
        first epoch; finish: unknown

    Parameters
    ----------
    expected : float or None
        Seconds per epoch to expect before any epoch has run (a measured
        figure, e.g. an earlier session of the same run); None: unknown.
    source : str or None
        Where `expected` comes from, for the line.

    Examples
    --------
    >>> import types
    >>> nn = types.SimpleNamespace(max_epochs=4, regression=True,
    ...     scores_train=[], scores_valid=[], custom_scores=None)
    >>> eta = EpochETA()
    >>> eta.plan(nn, [])
    training epochs 1-4 of 4; expected s/epoch: unknown until the first epoch; finish: unknown
    >>> row = {'epoch': 1, 'train_loss': 0.5, 'valid_loss': 0.25, 'dur': 2.0,
    ...        'train_loss_best': False, 'valid_loss_best': False}
    >>> print(eta.table(nn, [row]))  # doctest: +NORMALIZE_WHITESPACE
      epoch    trn loss    val loss    trn/val  dur    eta
    -------  ----------  ----------  ---------  -----  --------
          1     0.50000     0.25000    2.00000  2.00s  ...
    >>> eta.seconds_left(nn, [row])
    6.0
    """

    #: Width of the ``eta`` column's rule (``HH:MM:SS``).
    WIDTH = 8

    def __init__(self, expected=None, source=None):
        super(EpochETA, self).__init__()
        self.expected = None if expected is None else float(expected)
        self.source = source
        self.first_epoch = None  # history length when fit started
        self.width = 0  # of nolearn's table, from its rule

    def plan(self, nn, train_history):
        """plan(nn, train_history)

        ``on_training_started``: print the plan line.
        """
        done = len(train_history)
        self.first_epoch = done
        left = max(int(nn.max_epochs) - done, 0)
        if self.expected is None:
            speed, finish = 'unknown until the first epoch', 'unknown'
        else:
            speed = '%.2f%s' % (self.expected, ' (%s)' % self.source
                                if self.source else '')
            finish = 'about ' + format_finish(left * self.expected)
        print('training epochs %d-%d of %d; expected s/epoch: %s; finish: %s'
              % (done + 1, nn.max_epochs, nn.max_epochs, speed, finish))

    def seconds_left(self, nn, train_history):
        """seconds_left(nn, train_history)

        The expected seconds until the last epoch ends: the epochs left
        times the mean duration of this ``fit``'s epochs.
        """
        durations = [float(row['dur'])
                     for row in train_history[self.first_epoch or 0:]]
        left = max(int(nn.max_epochs) - len(train_history), 0)
        return left * float(np.mean(durations)) if durations else None

    def table(self, nn, train_history):
        """table(nn, train_history)

        nolearn's table lines (the header with the first epoch) with the
        ``eta`` column.
        """
        lines = super(EpochETA, self).table(nn, train_history).split('\n')
        if len(lines) > 1:  # the header and its rule: the table's width
            self.width = len(lines[1])
        seconds = self.seconds_left(nn, train_history)
        eta = 'unknown' if seconds is None else format_finish(seconds)
        cells = ['eta', '-' * self.WIDTH, eta][-len(lines):]
        return '\n'.join('%s%s  %s' % (
            line, ' ' * (self.width - len(_ANSI.sub('', line))), cell)
            for line, cell in zip(lines, cells))

    def __repr__(self):
        return 'EpochETA(expected=%r, source=%r)' % (self.expected,
                                                     self.source)
