"""The one training code path: train a net of the study and write a run folder.

:func:`run` trains a registered net (``nets.build_net``) on Kaggle's
``training.csv`` (or synthetic faces) with the study's defaults: the net's
own ``NeuralNet`` declaration (Nesterov momentum, batches of 128, its
schedule and flips), nolearn's ``TrainSplit(eval_size=0.2)`` (validation =
the first 20% of the shuffled rows; ``fold=(k, K)``: block k of K, as
``training.folds`` splits), nolearn's layer table and per-epoch log.
:func:`resume` continues a run from its last checkpoint. Both write::

    <run>/manifest.json          what ran, on what, with what (written first)
    <run>/checkpoint/            every N epochs (training.checkpoint)
    <run>/weights.npz            training.weights
    <run>/history.csv            epoch,train_loss,valid_loss,train_over_valid,dur_s
    <run>/loss.png               training.plots.plot_loss
    <run>/valid_predictions.csv  true and predicted keypoints in pixels
    <run>/metrics.json           final losses, RMSE in pixels, baseline
                                 (evaluation.metrics.evaluate)
    <run>/faces_valid.png, worst16.png, keypoint_rmse.png, errors.csv/.md
                                 evaluation.run_report.write_run_report

The names and formats of these files are :mod:`run_folder`'s; the data
comes from ``data_prep.dataset.load_training_data``: first cleaned
(``clean``, ``clean_list``: ``data_prep.clean``; one line printed with the
rows dropped per rule, every one recorded in the manifest's ``cleaning``),
then the rows and targets of the label set ``labels`` (``'complete'``, the
study's; ``'all'``, every row with ``nets.recipe.MaskedObjective``;
``'sparse'``, 8 outputs), whose columns the manifest's ``columns`` names.
nolearn's per-epoch log gains an ETA column and a plan line before the
first epoch (``training.handlers.EpochETA``).

Ctrl-C during training ends nolearn's ``fit`` (which catches
``KeyboardInterrupt``); the folder is still written, with status
``interrupted``, the history of the epochs done, and the weights as they were
at that moment (they may hold part of the unfinished epoch's updates; the
final checkpoint holds the same, so ``--resume`` goes on from there, not
bit-for-bit as an uninterrupted run would). After a SIGKILL, ``--resume``
goes on from the last periodic checkpoint and repeats the uninterrupted run
exactly (weights, Nesterov velocities, schedules, dropout streams and batch
generators are restored). Handlers' own memory (``StopOnNonFinite``'s best
weights) starts afresh on resume. A run killed after its last epoch but
before its files were written (status ``running``) is finished by
``resume`` without training. A full disk ends the run with
``errors.DiskFullError`` (status ``interrupted``, the last complete
checkpoint kept), so that ``resume`` goes on once there is space.

``run_experiment.py`` is the command line; ``experiments/`` calls :func:`run`.
"""
import os
import sys

import numpy as np

import compat  # before theano/lasagne/nolearn
from nolearn.lasagne import PrintLog

import nets
from errors import DiskFullError, UserError, is_disk_full
from data_prep.dataset import (SHUFFLE_SEED, SYNTHETIC_SEEDS,
                               describe_cleaning, expand_columns,
                               label_columns, load_training_data)
from data_prep.derived import read_derived
from data_prep.scaling import unscale_targets
from nets import recipe
from evaluation.metrics import evaluate
from evaluation.run_report import write_run_report
from run_folder import (FINISHED_STATUSES, HISTORY, LOSS_PLOT, VALID_PREDICTIONS, WEIGHTS,
                        check_new_run_folder, default_run_folder,
                        find_checkpoint, git_state, history_rows,
                        manifest_cleaning, manifest_columns,
                        manifest_net_overrides, now, package_versions,
                        provenance, read_checkpoint_history, read_history_csv,
                        read_manifest, run_path, theano_settings,
                        write_history_csv, write_manifest, write_metrics,
                        write_valid_predictions)
from training import seeding
from training.checkpoint import Checkpoint, restore_checkpoint, write_checkpoint
from training.folds import check_fold, fold_overrides, fold_rows
from training.handlers import EarlyStopping, EpochETA, StopOnNonFinite
from training.plots import plot_loss
from training.weights import param_arrays, save_weights


def shape_for(net, X):
    """shape_for(net, X)

    `X` reshaped to the net's input layer: ``(n, 9216)`` for net1,
    ``(n, 1, 96, 96)`` for the conv nets. The layers must be built.
    """
    input_shape = net.layers_[0].shape
    return X.reshape((-1,) + tuple(input_shape[1:]))


def validation_rows(net, X, y, fold=None):
    """validation_rows(net, X, y, fold=None)

    Indices of the rows the net's ``train_split`` holds out, in order.
    With ``TrainSplit(eval_size=0.2)`` these are the first 20%; with
    `fold` ``(k, K)`` (``training.folds.FoldSplit``), block k of K.
    """
    _, X_valid, _, y_valid = net.train_split(X, y, net)
    n_valid = len(y_valid)
    rows = np.arange(n_valid) if fold is None else fold_rows(len(y), fold)[1]
    if len(rows) != n_valid or not np.array_equal(y_valid, y[rows],
                                                  equal_nan=True):
        raise RuntimeError('train_split does not hold out the %s; '
                           'valid_predictions.csv would misname them'
                           % ('first rows' if fold is None
                              else 'rows of fold %d of %d' % tuple(fold)))
    return rows


class _Finished(object):
    """on_training_finished marker: nolearn skips it when Ctrl-C ends fit."""

    def __init__(self):
        self.called = False

    def __call__(self, nn, train_history):
        self.called = True


def _stop_status(net):
    """'stopped-nonfinite' / 'stopped-early' when a handler stopped training."""
    for handler in net.on_epoch_finished:
        if getattr(handler, 'stopped_epoch', None) is not None:
            if isinstance(handler, StopOnNonFinite):
                return 'stopped-nonfinite'
            if isinstance(handler, EarlyStopping):
                return 'stopped-early'
    return None


def build(net_name, seed, epochs=None, batch_size=None, net_overrides=None,
          labels='complete'):
    """build(net_name, seed, epochs=None, batch_size=None, net_overrides=None, labels='complete')

    The registered net, seeded (:mod:`training.seeding`), with its layers
    built: weights drawn from `seed`, batch iterators reseeded; trained on
    the label set `labels` (the keywords of ``nets.recipe.for_labels``:
    none for ``'complete'``).

    Parameters
    ----------
    epochs : int or None
        ``max_epochs`` (the schedule spans it); None keeps the study's.
    batch_size : int or None
        Replaces the batch size of both batch iterators.
    net_overrides : dict or None
        ``NeuralNet`` keywords for ``nets.build_net`` (e.g. a tiny
        ``hidden_num_units`` in tests).
    labels : {'complete', 'all', 'sparse'}
    """
    overrides = dict(net_overrides or {})
    overrides.update(recipe.for_labels(labels, overrides.get('train_split')))
    if epochs is not None:
        if int(epochs) < 1:
            raise UserError('epochs=%s: must be at least 1' % epochs)
        overrides['max_epochs'] = int(epochs)
    seeding.seed_everything(seed)
    net = nets.build_net(net_name, **overrides)
    if batch_size is not None:
        if int(batch_size) < 1:
            raise UserError('batch_size=%s: must be at least 1' % batch_size)
        for name in ('batch_iterator_train', 'batch_iterator_test'):
            getattr(net, name).batch_size = int(batch_size)
    seeding.seed_batch_iterators(net, seed)
    net.initialize_layers()
    return net


def _with_eta(net, expected=None, source=None):
    """nolearn's PrintLog replaced, in place, by a training.handlers.EpochETA
    (its columns and an ETA), whose plan line follows the layer table."""
    eta = EpochETA(expected, source)
    printing = [type(h) is PrintLog for h in net.on_epoch_finished]
    if any(printing):
        net.on_epoch_finished = [eta if p else h for p, h in
                                 zip(printing, net.on_epoch_finished)]
        net.on_training_started = list(net.on_training_started) + [eta.plan]


def _train(net, X, y, image_ids, folder, manifest, checkpoint_every,
           reference=None, reference_label='', expected=None, source=None):
    """Fit, then write every file of the run folder. Returns the manifest."""
    finished = _Finished()
    _with_eta(net, expected, source)
    net.on_epoch_finished = list(net.on_epoch_finished) + [
        Checkpoint(folder, every=checkpoint_every)]
    net.on_training_finished = list(net.on_training_finished) + [finished]
    done_before = len(net.train_history_)
    remaining = net.max_epochs - done_before
    manifest.update(params=int(nets.count_params(net)), status='running')
    write_manifest(folder, manifest)

    try:
        if remaining > 0:
            net.fit(X, y, epochs=remaining)  # nolearn's fit returns on Ctrl-C
        _write_results(net, X, y, image_ids, folder, manifest, done_before,
                       finished.called or remaining <= 0, reference,
                       reference_label)
    except Exception as e:
        if is_disk_full(e):
            raise _stopped_by_full_disk(net, folder, manifest, e)
        # A crash keeps the last checkpoint; the manifest says what happened.
        manifest.update(status='failed', ended=now(),
                        error='%s: %s' % (type(e).__name__, e),
                        epochs_run=len(net.train_history_))
        write_manifest(folder, manifest)
        raise
    return manifest


def _stopped_by_full_disk(net, folder, manifest, error):
    """The DiskFullError that ends a run on a full disk, with the space a
    run of this net needs and how to go on; the manifest says 'interrupted'
    (when it can still be written: else it stays 'running', which
    ``resume`` takes as well), the last complete checkpoint stays."""
    # Two checkpoints (the new one is written beside the last), each the
    # weights and as much training state, the final weights, and ~2 MB of
    # pictures and CSVs.
    needed = 5 * sum(a.nbytes for a in param_arrays(net).values()) + 2 ** 21
    path = getattr(error, 'path', None) or getattr(error, 'filename', None)
    manifest.update(status='interrupted', ended=now(),
                    error='no space left on the disk',
                    epochs_run=len(read_checkpoint_history(
                        find_checkpoint(folder)))
                    if find_checkpoint(folder) else 0)
    try:
        write_manifest(folder, manifest)
    except DiskFullError:
        pass
    return DiskFullError(
        path or folder, needed,
        advice='the run keeps its checkpoint of epoch %d: free space, then '
               'run_experiment.py --resume %s' % (manifest['epochs_run'],
                                                  folder))


def _write_results(net, X, y, image_ids, folder, manifest, done_before,
                   finished, reference, reference_label):
    """Every file of the run folder after training, the manifest last."""
    status = 'completed' if finished else 'interrupted'
    status = _stop_status(net) or status
    history = net.train_history_
    save_weights(net, run_path(folder, WEIGHTS))
    write_history_csv(history, run_path(folder, HISTORY))
    if history:
        write_checkpoint(net, folder)
        plot_loss(history_rows(history), run_path(folder, LOSS_PLOT),
                  '%s: train and validation loss' % manifest['net'],
                  reference=reference, reference_label=reference_label)
    rows = validation_rows(net, X, y, manifest.get('fold'))
    columns = manifest['columns']
    metrics, y_true_px, y_pred_px = evaluate(net, X, y, rows)
    write_valid_predictions(run_path(folder, VALID_PREDICTIONS),
                            rows, image_ids[rows], y_true_px, y_pred_px,
                            columns)
    durations = [float(row['dur']) for row in history[done_before:]]
    seconds_per_epoch = (float(np.median(durations)) if durations
                         else manifest.get('seconds_per_epoch'))
    last = history[-1] if history else {}
    metrics = dict({'epochs_run': len(history),
                    'train_loss': float(last.get('train_loss', np.nan)),
                    'valid_loss': float(last.get('valid_loss', np.nan)),
                    'seconds_per_epoch_median': seconds_per_epoch,
                    'status': status}, **metrics)
    write_metrics(folder, metrics)
    write_run_report(folder, loaded=(
        X.reshape(-1, 1, 96, 96),
        expand_columns(unscale_targets(y.astype(np.float64)), columns)))
    manifest.pop('error', None)  # from an earlier session that failed
    manifest.update(status=status, ended=now(), epochs_run=len(history),
                    seconds_per_epoch=seconds_per_epoch)
    manifest.setdefault('sessions', []).append(
        {'epochs': [done_before + 1, len(history)],
         'seconds_per_epoch': seconds_per_epoch, 'status': status,
         'command': manifest.get('last_command')})
    write_manifest(folder, manifest)


def _reference(compare_log):
    """The rows of `compare_log` and its legend name (read before training,
    so a bad file stops the run before it starts)."""
    if compare_log is None:
        return None, ''
    return read_history_csv(compare_log), os.path.basename(compare_log)


def run(net_name, epochs=None, data=None, preprocess='none', labels='complete',
        seed=42, out=None, checkpoint_every=10, limit=None, batch_size=None,
        compare_log=None, net_overrides=None, command=None, runs_dir='runs',
        clean='none', clean_list=None, fold=None):
    """run(net_name, epochs=None, data=None, preprocess='none', labels='complete', seed=42,
    out=None, checkpoint_every=10, limit=None, batch_size=None, compare_log=None,
    net_overrides=None, command=None, runs_dir='runs', clean='none', clean_list=None,
    fold=None)

    Train net `net_name` and write a run folder (see the module's doc).

    Parameters
    ----------
    net_name : str
        A name of ``nets.NETS`` (case-insensitive).
    epochs : int or None
        Epochs to train; None: the study's for that net.
    data : str or None
        Data folder or file, or ``'synthetic'``; None: ``$KFKD_DATA`` or
        ``data/``.
    preprocess : {'none', 'stretch', 'equalize', 'adaptive'}
    labels : {'complete', 'all', 'sparse'}
        The rows and targets (``data_prep.dataset``): the rows with all 30
        keypoints (the study's way); every row, a missing keypoint counting
        nowhere in the loss (``nets.recipe.MaskedObjective``); or the rows
        with the 8 sparse keypoints, a net with 8 outputs. The manifest's
        ``columns`` names the targets.
    seed : int
        Weights, dropout and batch order (not the split: that is the study's
        fixed shuffle, ``data_prep.dataset.SHUFFLE_SEED``).
    out : str or None
        The run folder; must not exist or be empty. None:
        ``run_folder.default_run_folder(net_name, runs_dir)``.
    checkpoint_every : int
        Epochs between checkpoints.
    limit : int or None
        Use only the first `limit` shuffled rows.
    batch_size : int or None
        None keeps the net's (128).
    compare_log : str or None
        A history CSV (e.g. the study's log) drawn dashed in ``loss.png``.
    net_overrides : dict or None
        Extra ``NeuralNet`` keywords for ``nets.build_net``.
    command : list of str or None
        The command line, for the manifest.
    runs_dir : str
        Where ``out=None`` puts the run folder.
    clean : {'none', 'study', 'auto'}
    clean_list : str or None
        Rows to drop first (``data_prep.clean.select``, on every row of the
        file); the manifest's ``cleaning`` records every row dropped and
        why, and one line printed counts them per rule.
    fold : (int, int) or None
        ``(k, K)``: validate on block k of K (``training.folds``; fold 1 of
        5 holds out the default's rows) and record it in the manifest
        (``"fold": [k, K]``); None: nolearn's ``TrainSplit(0.2)``.

    Returns
    -------
    str
        The run folder.

    Raises
    ------
    UserError
        Unknown net, bad option, missing/malformed data, taken run folder.
    """
    # Before any folder exists: a GPU run that Theano would quietly compute
    # on the CPU stops here with one line, instead of training for days.
    compat.check_requested_device()
    started = now()
    folder = out or default_run_folder(net_name.lower(), runs_dir)
    check_new_run_folder(folder)
    reference, reference_label = _reference(compare_log)
    if int(checkpoint_every) < 1:
        raise UserError('checkpoint_every=%s: must be at least 1'
                        % checkpoint_every)
    net = build(net_name, seed, epochs, batch_size,
                fold_overrides(net_overrides, fold), labels)
    dataset, X, y = load_training_data(data, preprocess, labels, limit,
                                       clean=clean, clean_list=clean_list)
    print(describe_cleaning(dataset.cleaning))
    if fold is not None:
        fold_rows(len(y), fold)  # more folds than rows: refused before the folder
    os.makedirs(folder, exist_ok=True)

    net.initialize()
    X = shape_for(net, X)
    n_valid = len(validation_rows(net, X, y, fold))
    synthetic = dataset.path == 'synthetic'
    manifest = dict({
        'net': net_name, 'net_overrides': net_overrides or {},
        'command': command if command is not None else list(sys.argv),
        'last_command': command if command is not None else list(sys.argv),
        'status': 'running', 'started': started, 'ended': None,
        'seed': int(seed), 'shuffle_seed': SHUFFLE_SEED,
        'data': {'path': (dataset.path if synthetic
                          else os.path.abspath(dataset.path)),
                 'sha256': dataset.sha256,
                 'synthetic_seed': (SYNTHETIC_SEEDS['training'] if synthetic
                                    else None),
                 'rows_in_file': dataset.cleaning['rows_in_file'],
                 'rows_with_labels': int(len(dataset.X)),
                 'rows_used': int(len(X)),
                 'limit': limit, 'n_train': int(len(X) - n_valid),
                 'n_valid': int(n_valid)},
        'cleaning': dataset.cleaning,
        'preprocess': preprocess, 'labels': labels,
        'columns': list(label_columns(labels)),
        'epochs_requested': int(net.max_epochs), 'epochs_run': 0,
        'batch_size': int(net.batch_iterator_train.batch_size),
        'checkpoint_every': int(checkpoint_every),
        'seconds_per_epoch': None, 'params': None,
    }, **provenance())
    if fold is not None:
        manifest['fold'] = list(check_fold(fold))
    derived = read_derived(dataset.path)
    if derived is not None:  # e.g. pseudo-labels: the runs that made them
        manifest['data']['derived_from'] = derived
    _train(net, X, y, dataset.image_ids[:len(X)], folder, manifest,
           checkpoint_every, reference, reference_label)
    return folder


def resume(folder, epochs=None, compare_log=None, command=None, data=None):
    """resume(folder, epochs=None, compare_log=None, command=None, data=None)

    Continue a run from ``<folder>/checkpoint/``: the same net, seed, data
    rows, fold and options (from ``manifest.json``); weights, history, schedule,
    velocities and generators as the checkpoint saved them. Trains the
    epochs left up to `epochs` (default: the run's request) and rewrites the
    run folder's files.

    Parameters
    ----------
    data : str or None
        Where the data is now, when it moved; its SHA-256 must match.

    Returns
    -------
    str
        The run folder.
    """
    compat.check_requested_device()
    manifest = read_manifest(folder)
    checkpoint = find_checkpoint(folder)
    if checkpoint is None:
        raise UserError('%s has no checkpoint to resume from (none was written '
                        'before it stopped)' % folder)
    reference, reference_label = _reference(compare_log)
    target = int(epochs) if epochs is not None else manifest['epochs_requested']
    done = len(read_checkpoint_history(checkpoint))
    # A run killed after its last epoch, before it was marked done, is
    # finished (report, pictures, status) without training.
    finishing = (done == target
                 and manifest.get('status') not in FINISHED_STATUSES)
    if done >= target and not finishing:
        raise UserError('%s already has %d epochs (asked for %d); ask for more '
                        'epochs to train on' % (folder, done, target))
    labels = manifest.get('labels', 'complete')
    net = build(manifest['net'], manifest['seed'], target,
                manifest['batch_size'],
                fold_overrides(manifest_net_overrides(manifest),
                               manifest.get('fold')),
                labels)
    data_info = manifest['data']
    dataset, X, y = load_training_data(
        data or data_info['path'], manifest['preprocess'], labels,
        data_info['limit'], sha256=data_info['sha256'],
        **manifest_cleaning(manifest))
    print(describe_cleaning(dataset.cleaning))
    manifest.setdefault('columns', list(manifest_columns(manifest)))
    manifest.setdefault('cleaning', dataset.cleaning)
    net.initialize()
    done = restore_checkpoint(net, checkpoint, manifest['net'])
    X = shape_for(net, X)
    if finishing:
        print('finishing %s: its %d epochs are trained, writing its results'
              % (folder, done))
    else:
        print('resuming %s at epoch %d of %d' % (folder, done + 1, target))
    manifest.update(epochs_requested=target,
                    last_command=command if command is not None else list(sys.argv),
                    packages=package_versions(), theano=theano_settings(),
                    git=git_state())
    _train(net, X, y, dataset.image_ids[:len(X)], folder, manifest,
           manifest['checkpoint_every'], reference, reference_label,
           expected=manifest.get('seconds_per_epoch'),
           source="median of this run's last session")
    return folder
