"""Checkpoints of a training run, and resuming from one.

Every ``every`` epochs :class:`Checkpoint` writes ``<run>/checkpoint/``:

- ``weights.npz``: the net's parameters (:mod:`training.weights`),
- ``state.npz``: every shared variable the compiled training function
  updates or reads (parameters, Nesterov velocities, the learning rate and
  momentum a schedule sets, dropout's MRG stream states), and the
  ``RandomState`` of NumPy, Lasagne and the batch iterators,
- ``history.json``: ``train_history_`` (its length is the schedule's position:
  nolearn numbers epochs on from it).

It writes into a temporary folder and renames it into place
(:func:`run_folder.atomic_folder`), so a SIGKILL at any moment leaves the
previous complete checkpoint (as ``checkpoint`` or, between the two renames,
``checkpoint.old``; :func:`run_folder.find_checkpoint` finds either): at most
``every`` epochs are lost.
"""
import os

import numpy as np

import compat  # noqa: F401  (before lasagne)
import lasagne.random

from errors import UserError
from run_folder import (CHECKPOINT, CHECKPOINT_STATE, WEIGHTS, atomic_folder,
                        read_checkpoint_history, run_path,
                        write_checkpoint_history)
from training import seeding
from training.weights import load_arrays, load_weights, save_arrays, save_weights


def rng_states(net):
    """rng_states(net)

    ``{name: numpy.random.RandomState}`` of every generator a run draws from
    after its layers are built: NumPy's global one, Lasagne's and the batch
    iterators' (:func:`training.seeding.batch_iterator_rngs`).
    """
    rngs = {'numpy.global': np.random.mtrand._rand}
    lasagne_rng = lasagne.random.get_rng()
    if isinstance(lasagne_rng, np.random.RandomState):
        rngs['lasagne'] = lasagne_rng
    rngs.update(seeding.batch_iterator_rngs(net))
    return rngs


def _state_variables(net):
    """``[(index, shared variable)]`` of the training function's shared
    variables that are not the net's parameters (velocities, schedule
    values, random streams), indexed by their place in ``get_shared()``."""
    params = set(net.get_all_params())
    return [(index, var) for index, var in
            enumerate(net.train_iter_.get_shared()) if var not in params]


def training_state_arrays(net):
    """training_state_arrays(net)

    Arrays that, with the history, let training go on exactly where it
    stopped: ``shared.<i>`` for the i-th shared variable of the compiled
    training function (``net.train_iter_.get_shared()``) that is not a
    parameter (those are in ``weights.npz``; a 100M-parameter net would
    otherwise write them twice) and
    ``rng.<name>.keys`` / ``rng.<name>.scalars`` for each generator of
    :func:`rng_states`.
    """
    arrays = {}
    for index, var in _state_variables(net):
        arrays['shared.%d' % index] = np.asarray(var.get_value())
    for name, rng in rng_states(net).items():
        kind, keys, pos, has_gauss, cached = rng.get_state()
        arrays['rng.%s.keys' % name] = keys
        arrays['rng.%s.scalars' % name] = np.array(
            [pos, has_gauss, cached], dtype=np.float64)
    return arrays


def restore_training_state(net, arrays, where='checkpoint'):
    """restore_training_state(net, arrays, where='checkpoint')

    Set the training function's shared variables and the generators from
    :func:`training_state_arrays` output. Shapes are checked first.

    Raises
    ------
    UserError
        When the saved state does not fit the net (another net or options).
    """
    shared = dict(_state_variables(net))
    saved = sorted((k for k in arrays if k.startswith('shared.')),
                   key=lambda k: int(k.split('.')[1]))
    if [int(k.split('.')[1]) for k in saved] != sorted(shared):
        raise UserError('%s holds %d training variables, the net has %d: it '
                        'was written for another net or other options'
                        % (where, len(saved), len(shared)))
    shared = [shared[int(k.split('.')[1])] for k in saved]
    for key, var in zip(saved, shared):
        shape = np.shape(var.get_value(borrow=True))
        if arrays[key].shape != shape:
            raise UserError('%s: training variable %s has shape %s, the net '
                            'expects %s' % (where, key, arrays[key].shape,
                                            shape))
    for key, var in zip(saved, shared):
        var.set_value(arrays[key].astype(var.dtype, copy=False))
    for name, rng in rng_states(net).items():
        if 'rng.%s.keys' % name not in arrays:
            continue
        pos, has_gauss, cached = arrays['rng.%s.scalars' % name]
        rng.set_state(('MT19937', arrays['rng.%s.keys' % name].astype(np.uint32),
                       int(pos), int(has_gauss), float(cached)))


def write_checkpoint(net, folder):
    """write_checkpoint(net, folder)

    Write ``<folder>/checkpoint/`` now (weights, training state,
    history), atomically. Returns the checkpoint folder.
    """
    final = run_path(folder, CHECKPOINT)
    with atomic_folder(final) as tmp:
        save_weights(net, os.path.join(tmp, WEIGHTS))
        save_arrays(training_state_arrays(net),
                    os.path.join(tmp, CHECKPOINT_STATE))
        write_checkpoint_history(tmp, net.train_history_)
    return final


def restore_checkpoint(net, checkpoint_folder, net_name=None):
    """restore_checkpoint(net, checkpoint_folder, net_name=None)

    Put an initialized net back in the state a checkpoint saved: weights,
    ``train_history_``, Nesterov velocities, schedule values, dropout
    streams and every generator. ``net.fit(X, y, epochs=remaining)`` then
    continues the epoch numbering and the schedule where they stopped.

    Returns
    -------
    int
        The number of epochs the checkpoint holds.
    """
    net.initialize()
    history = read_checkpoint_history(checkpoint_folder)
    load_weights(net, os.path.join(checkpoint_folder, WEIGHTS), net_name)
    state_path = os.path.join(checkpoint_folder, CHECKPOINT_STATE)
    restore_training_state(net, load_arrays(state_path, 'checkpoint state'),
                           where=state_path)
    net.train_history_[:] = history
    return len(history)


class Checkpoint(object):
    """Checkpoint(folder, every=10)

    nolearn ``on_epoch_finished`` handler: every ``every`` epochs (counted
    by the epoch number, so a resumed run keeps the same rhythm) write
    ``<folder>/checkpoint/`` with :func:`write_checkpoint`.

    Put it after any schedule handler, so it saves the values the next
    epoch will use.
    """

    def __init__(self, folder, every=10):
        if int(every) < 1:
            raise UserError('every=%r: a checkpoint every N epochs needs N at '
                            'least 1' % (every,))
        self.folder = folder
        self.every = int(every)

    def __call__(self, nn, train_history):
        if train_history[-1]['epoch'] % self.every == 0:
            write_checkpoint(nn, self.folder)
