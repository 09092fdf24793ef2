"""The one training code path: train a net of the study and write a run folder.

:func:`run` trains a registered net (``nets.build_net``) on Kaggle's
``training.csv`` (or synthetic faces) with the study's defaults: the net's
own ``NeuralNet`` declaration (Nesterov momentum, batches of 128, its
schedule and flips), nolearn's ``TrainSplit(eval_size=0.2)`` (validation =
the first 20% of the shuffled rows), nolearn's layer table and per-epoch log.
:func:`resume` continues a run from its last checkpoint. Both write::

    <run>/manifest.json          what ran, on what, with what (written first)
    <run>/checkpoint/            every N epochs (training.checkpoint)
    <run>/weights.npz            training.weights
    <run>/history.csv            epoch,train_loss,valid_loss,train_over_valid,dur_s
    <run>/loss.png               training.plots.plot_loss
    <run>/valid_predictions.csv  true and predicted keypoints in pixels
    <run>/metrics.json           final losses, RMSE in pixels, baseline
    <run>/faces_valid.png, worst16.png, keypoint_rmse.png, errors.csv/.md
                                 evaluation.run_report.write_run_report

Ctrl-C during training ends nolearn's ``fit`` (which catches
``KeyboardInterrupt``); the folder is still written, with status
``interrupted``, the history of the epochs done, and the weights as they were
at that moment (they may hold part of the unfinished epoch's updates; the
final checkpoint holds the same, so ``--resume`` goes on from there, not
bit-for-bit as an uninterrupted run would). After a SIGKILL, ``--resume``
goes on from the last periodic checkpoint and repeats the uninterrupted run
exactly (weights, Nesterov velocities, schedules, dropout streams and batch
generators are restored). Handlers' own memory (``StopOnNonFinite``'s best
weights) starts afresh on resume.

``run_experiment.py`` is the command line; ``experiments/`` calls :func:`run`.
"""
import csv
import datetime
import json
import os
import platform
import re
import subprocess
import sys

import numpy as np

import compat  # noqa: F401  (before theano/lasagne/nolearn)
from errors import UserError
from training import seeding
from training.checkpoint import (Checkpoint, find_checkpoint, read_history,
                                 restore_checkpoint, write_checkpoint)
from training.plots import plot_loss
from training.weights import save_weights
from data_prep.scaling import unscale_targets
from evaluation.run_report import write_run_report

#: The study shuffled the rows once with ``random_state=42`` (Nouri's
#: tutorial); the split never depends on ``--seed``.
SHUFFLE_SEED = 42

#: Below this many rows nolearn's 5-fold ``TrainSplit`` cannot split.
MIN_ROWS = 10

HISTORY_COLUMNS = ('epoch', 'train_loss', 'valid_loss', 'train_over_valid',
                   'dur_s')

#: The pinned stack, for the manifest when ``requirements.txt`` is absent.
STACK = ('Theano', 'Lasagne', 'nolearn', 'numpy', 'scipy', 'pandas',
         'scikit-learn', 'scikit-image', 'matplotlib', 'setuptools')

#: ``manifest.json``'s ``status``: 'running' stays when the process was
#: killed; 'failed' when training raised (the error is recorded).
STATUSES = ('running', 'completed', 'interrupted', 'stopped-nonfinite',
            'stopped-early', 'failed')


# --------------------------------------------------------------- provenance

def package_versions(requirements=None):
    """package_versions(requirements=None)

    ``{name: installed version}`` for every package pinned in
    ``requirements.txt`` (``name==version`` lines; :data:`STACK` when there is
    no such file); ``None`` for a package that is not installed.
    """
    from importlib import metadata
    if requirements is None:
        requirements = os.path.join(compat.REPO, 'requirements.txt')
    names = []
    if os.path.isfile(requirements):
        with open(requirements) as f:
            for line in f:
                match = re.match(r'\s*([A-Za-z0-9_.\-]+)\s*==', line)
                if match:
                    names.append(match.group(1))
    versions = {}
    for name in names or STACK:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(folder=None):
    """git_state(folder=None)

    ``{'commit': <HEAD or 'unknown'>, 'dirty': bool or None}`` of the git work
    tree holding `folder` (the repo by default).
    """
    folder = folder or compat.REPO
    try:
        head = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=folder,
                              capture_output=True, text=True, timeout=30)
        if head.returncode != 0:
            return {'commit': 'unknown', 'dirty': None}
        status = subprocess.run(['git', 'status', '--porcelain'], cwd=folder,
                                capture_output=True, text=True, timeout=60)
        return {'commit': head.stdout.strip(),
                'dirty': bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {'commit': 'unknown', 'dirty': None}


def theano_settings():
    """theano_settings()

    ``THEANO_FLAGS`` and the Theano configuration a run used.
    """
    import theano
    return {'THEANO_FLAGS': os.environ.get('THEANO_FLAGS', ''),
            'floatX': theano.config.floatX,
            'blas.ldflags': theano.config.blas.ldflags,
            'openmp': bool(theano.config.openmp),
            'device': theano.config.device,
            'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS')}


def _now():
    return datetime.datetime.now().astimezone().isoformat(timespec='seconds')


def _finite_or_none(value):
    """NaN and infinities as None (strict JSON has no NaN), recursively."""
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    return value


def _write_json(obj, path):
    """Write JSON atomically (a reader never sees half a file)."""
    tmp = '%s.tmp-%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        json.dump(_finite_or_none(obj), f, indent=2, allow_nan=False,
                  default=_json_default)
        f.write('\n')
    os.replace(tmp, path)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


# ------------------------------------------------------------------ folders

def default_run_folder(net_name, runs_dir='runs', when=None):
    """default_run_folder(net_name, runs_dir='runs', when=None)

    ``<runs_dir>/<net>-<YYYYmmdd-HHMMSS>``, with ``-2``, ``-3``... appended
    when that folder already exists.

    >>> import datetime
    >>> default_run_folder('net6', 'runs', datetime.datetime(2016, 4, 1, 9, 5, 0))
    'runs/net6-20160401-090500'
    """
    when = when or datetime.datetime.now()
    base = os.path.join(runs_dir, '%s-%s' % (net_name,
                                             when.strftime('%Y%m%d-%H%M%S')))
    folder, n = base, 1
    while os.path.exists(folder):
        n += 1
        folder = '%s-%d' % (base, n)
    return folder


def check_new_run_folder(folder):
    """check_new_run_folder(folder)

    Refuse a folder that exists and is not empty (an earlier run's results),
    or that exists as a file.
    """
    if os.path.isfile(folder):
        raise UserError('%s is a file, not a run folder' % folder)
    if os.path.isdir(folder) and os.listdir(folder):
        raise UserError('%s already holds files (an earlier run?); choose '
                        'another --out, or --resume it' % folder)


# --------------------------------------------------------------------- data

def check_data_options(labels='complete', limit=None):
    """check_data_options(labels='complete', limit=None)

    Refuse ``labels='all'`` (training uses complete rows, as the study did)
    and a `limit` too small to split.
    """
    if labels != 'complete':
        raise UserError("--labels %s: training uses the rows that have all 30 "
                        "keypoints, as the study did; use --labels complete"
                        % labels)
    if limit is not None and int(limit) < MIN_ROWS:
        raise UserError('--limit %s: need at least %d rows to hold out 20%% '
                        'for validation' % (limit, MIN_ROWS))


def load_training_data(data, preprocess='none', labels='complete',
                       limit=None):
    """load_training_data(data, preprocess='none', labels='complete', limit=None)

    The study's training rows, shuffled with :data:`SHUFFLE_SEED`, the first
    `limit` of them when given.

    Returns
    -------
    dataset : data_prep.dataset.Dataset
        As loaded (all rows).
    X, y : ndarray
        float32 ``(n, 1, 96, 96)`` in [0, 1] and ``(n, 30)`` scaled targets.
    """
    from data_prep.dataset import load_dataset
    check_data_options(labels, limit)
    kwargs = {}
    if data == 'synthetic' and limit is not None:
        kwargs['n_synthetic'] = int(limit)  # generate no more than we use
    dataset = load_dataset(data, kind='training', labels=labels,
                           preprocess=preprocess, shuffle_seed=SHUFFLE_SEED,
                           **kwargs)
    X, y = dataset.X, dataset.y
    if limit is not None:
        X, y = X[:int(limit)], y[:int(limit)]
    if len(X) < MIN_ROWS:
        raise UserError('%s has only %d usable rows; need at least %d'
                        % (dataset.path, len(X), MIN_ROWS))
    return dataset, X, y


def shape_for(net, X):
    """shape_for(net, X)

    `X` reshaped to the net's input layer: ``(n, 9216)`` for net1,
    ``(n, 1, 96, 96)`` for the conv nets. The layers must be built.
    """
    input_shape = net.layers_[0].shape
    return X.reshape((-1,) + tuple(input_shape[1:]))


def validation_rows(net, X, y):
    """validation_rows(net, X, y)

    Indices of the rows the net's ``train_split`` holds out, in order.
    With ``TrainSplit(eval_size=0.2)`` these are the first 20%.
    """
    _, X_valid, _, y_valid = net.train_split(X, y, net)
    n_valid = len(y_valid)
    if not np.array_equal(y_valid, y[:n_valid]):
        raise RuntimeError('train_split does not hold out the first rows; '
                           'valid_predictions.csv would misname them')
    return np.arange(n_valid)


# ------------------------------------------------------------------ outputs

def history_rows(train_history):
    """history_rows(train_history)

    nolearn's ``train_history_`` as rows of :data:`HISTORY_COLUMNS`.

    >>> history_rows([{'epoch': 1, 'train_loss': 0.5, 'valid_loss': 0.25,
    ...                'dur': 1.5}])
    [{'epoch': 1, 'train_loss': 0.5, 'valid_loss': 0.25, 'train_over_valid': 2.0, 'dur_s': 1.5}]
    """
    rows = []
    for info in train_history:
        train, valid = float(info['train_loss']), float(info['valid_loss'])
        rows.append({'epoch': int(info['epoch']), 'train_loss': train,
                     'valid_loss': valid,
                     'train_over_valid': train / valid if valid else float('nan'),
                     'dur_s': float(info['dur'])})
    return rows


def write_history_csv(train_history, path):
    """write_history_csv(train_history, path)

    ``history.csv`` with the columns of the study's logs (full precision).
    """
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(HISTORY_COLUMNS)
        for row in history_rows(train_history):
            writer.writerow([row['epoch']] + ['%.9g' % row[c]
                                              for c in HISTORY_COLUMNS[1:]])


def read_history_csv(path):
    """read_history_csv(path)

    Rows (dicts of floats, ``epoch`` int) of a ``history.csv`` or a log of
    ``../shared/data/w207_logs``.
    """
    try:
        with open(path, newline='') as f:
            rows = list(csv.DictReader(f))
        return [dict({k: float(v) for k, v in row.items()},
                     epoch=int(float(row['epoch']))) for row in rows]
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise UserError('%s is not a readable history CSV (%s)' % (path, e))


def write_valid_predictions(path, rows, image_ids, y_true, y_pred):
    """write_valid_predictions(path, rows, image_ids, y_true, y_pred)

    ``valid_predictions.csv``: ``row`` (index in the shuffled order),
    ``image_id`` (the face's 1-based data row in the file), the 30 true
    keypoints in pixels under Kaggle's column names, then the predicted ones
    as ``<column>_pred``.
    """
    from data_prep.keypoints import KEYPOINT_COLUMNS
    header = (['row', 'image_id'] + list(KEYPOINT_COLUMNS)
              + ['%s_pred' % c for c in KEYPOINT_COLUMNS])
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for index, image_id, true, pred in zip(rows, image_ids, y_true, y_pred):
            writer.writerow([int(index), int(image_id)]
                            + ['%.4f' % v for v in true]
                            + ['%.4f' % v for v in pred])


def evaluate(net, X, y, valid_rows):
    """evaluate(net, X, y, valid_rows)

    Validation predictions and the figures of ``metrics.json``.

    Returns
    -------
    metrics : dict
        ``valid_mse`` (scaled targets, as nolearn logs it), ``valid_rmse_px``
        = sqrt(valid_mse) * 48, ``baseline_rmse_px`` (predicting the
        training rows' mean keypoints for every validation image).
    y_valid_px, y_pred_px : ndarray
        True and predicted keypoints of the validation rows, in pixels.
    """
    from evaluation.metrics import mean_keypoints, overall_rmse
    valid = np.zeros(len(y), dtype=bool)
    valid[valid_rows] = True
    y_valid, y_train = y[valid], y[~valid]
    y_pred = net.predict(X[valid])
    # Scaled units, as nolearn logs the loss: MSE = (RMSE in px / 48) ** 2.
    mse = overall_rmse(y_valid, y_pred) ** 2
    baseline = overall_rmse(y_valid, np.broadcast_to(mean_keypoints(y_train),
                                                     y_valid.shape)) ** 2
    metrics = {'valid_mse': mse,
               'valid_rmse_px': float(np.sqrt(mse) * 48),
               'baseline_mse': baseline,
               'baseline_rmse_px': float(np.sqrt(baseline) * 48),
               'n_train': int((~valid).sum()), 'n_valid': int(valid.sum())}
    return metrics, unscale_targets(y_valid), unscale_targets(y_pred)


# ------------------------------------------------------------------ training

class _Finished(object):
    """on_training_finished marker: nolearn skips it when Ctrl-C ends fit."""

    def __init__(self):
        self.called = False

    def __call__(self, nn, train_history):
        self.called = True


def _stop_status(net):
    """'stopped-nonfinite' / 'stopped-early' when a handler stopped training."""
    from training.handlers import EarlyStopping, StopOnNonFinite
    for handler in net.on_epoch_finished:
        if getattr(handler, 'stopped_epoch', None) is not None:
            if isinstance(handler, StopOnNonFinite):
                return 'stopped-nonfinite'
            if isinstance(handler, EarlyStopping):
                return 'stopped-early'
    return None


def build(net_name, seed, epochs=None, batch_size=None, net_overrides=None):
    """build(net_name, seed, epochs=None, batch_size=None, net_overrides=None)

    The registered net, seeded (:mod:`training.seeding`), with its layers
    built: weights drawn from `seed`, batch iterators reseeded.

    Parameters
    ----------
    epochs : int or None
        ``max_epochs`` (the schedule spans it); None keeps the study's.
    batch_size : int or None
        Replaces the batch size of both batch iterators.
    net_overrides : dict or None
        ``NeuralNet`` keywords for ``nets.build_net`` (e.g. a tiny
        ``hidden_num_units`` in tests).
    """
    from nets import build_net
    overrides = dict(net_overrides or {})
    if epochs is not None:
        if int(epochs) < 1:
            raise UserError('--epochs must be at least 1, not %s' % epochs)
        overrides['max_epochs'] = int(epochs)
    seeding.seed_everything(seed)
    net = build_net(net_name, **overrides)
    if batch_size is not None:
        if int(batch_size) < 1:
            raise UserError('--batch-size must be at least 1, not %s'
                            % batch_size)
        for name in ('batch_iterator_train', 'batch_iterator_test'):
            getattr(net, name).batch_size = int(batch_size)
    seeding.seed_batch_iterators(net, seed)
    net.initialize_layers()
    return net


def _train(net, X, y, image_ids, folder, manifest, checkpoint_every,
           compare_log):
    """Fit, then write every file of the run folder. Returns the manifest."""
    import nets
    finished = _Finished()
    net.on_epoch_finished = list(net.on_epoch_finished) + [
        Checkpoint(folder, every=checkpoint_every)]
    net.on_training_finished = list(net.on_training_finished) + [finished]
    done_before = len(net.train_history_)
    remaining = net.max_epochs - done_before
    manifest.update(params=int(nets.count_params(net)), status='running')
    _write_json(manifest, os.path.join(folder, 'manifest.json'))
    reference = read_history_csv(compare_log) if compare_log else None

    try:
        net.fit(X, y, epochs=remaining)  # nolearn's fit returns on Ctrl-C
    except Exception as e:
        # A crash keeps the last checkpoint; the manifest says what happened.
        manifest.update(status='failed', ended=_now(),
                        error='%s: %s' % (type(e).__name__, e),
                        epochs_run=len(net.train_history_))
        _write_json(manifest, os.path.join(folder, 'manifest.json'))
        raise

    status = 'completed' if finished.called else 'interrupted'
    status = _stop_status(net) or status
    history = net.train_history_
    save_weights(net, os.path.join(folder, 'weights.npz'))
    write_history_csv(history, os.path.join(folder, 'history.csv'))
    if history:
        write_checkpoint(net, folder)
        plot_loss(history_rows(history), os.path.join(folder, 'loss.png'),
                  '%s: train and validation loss' % manifest['net'],
                  reference=reference,
                  reference_label=os.path.basename(compare_log or ''))
    rows = validation_rows(net, X, y)
    metrics, y_true_px, y_pred_px = evaluate(net, X, y, rows)
    write_valid_predictions(os.path.join(folder, 'valid_predictions.csv'),
                            rows, image_ids[rows], y_true_px, y_pred_px)
    durations = [float(row['dur']) for row in history[done_before:]]
    seconds_per_epoch = float(np.median(durations)) if durations else None
    last = history[-1] if history else {}
    metrics = dict({'epochs_run': len(history),
                    'train_loss': float(last.get('train_loss', np.nan)),
                    'valid_loss': float(last.get('valid_loss', np.nan)),
                    'seconds_per_epoch_median': seconds_per_epoch,
                    'status': status}, **metrics)
    _write_json(metrics, os.path.join(folder, 'metrics.json'))
    write_run_report(folder, loaded=(X.reshape(-1, 1, 96, 96),
                                     unscale_targets(y.astype(np.float64))))
    manifest.pop('error', None)  # from an earlier session that failed
    manifest.update(status=status, ended=_now(), epochs_run=len(history),
                    seconds_per_epoch=seconds_per_epoch)
    manifest.setdefault('sessions', []).append(
        {'epochs': [done_before + 1, len(history)],
         'seconds_per_epoch': seconds_per_epoch, 'status': status,
         'command': manifest.get('last_command')})
    _write_json(manifest, os.path.join(folder, 'manifest.json'))
    return manifest


def run(net_name, epochs=None, data=None, preprocess='none', labels='complete',
        seed=42, out=None, checkpoint_every=10, limit=None, batch_size=None,
        compare_log=None, net_overrides=None, command=None, runs_dir='runs'):
    """run(net_name, epochs=None, data=None, preprocess='none', labels='complete', seed=42, out=None, checkpoint_every=10, limit=None, batch_size=None, compare_log=None, net_overrides=None, command=None, runs_dir='runs')

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
    labels : {'complete'}
        Only rows with all 30 keypoints can be trained on (the study's way).
    seed : int
        Weights, dropout and batch order (not the split: that is the study's
        fixed shuffle, :data:`SHUFFLE_SEED`).
    out : str or None
        The run folder; must not exist or be empty. None:
        :func:`default_run_folder`.
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

    Returns
    -------
    str
        The run folder.

    Raises
    ------
    UserError
        Unknown net, bad option, missing/malformed data, taken run folder.
    """
    from nets import NETS  # noqa: F401  (fail early on a missing registry)
    started = _now()
    if out is not None:
        check_new_run_folder(out)
    if compare_log is not None:
        read_history_csv(compare_log)
    if int(checkpoint_every) < 1:
        raise UserError('--checkpoint-every must be at least 1, not %s'
                        % checkpoint_every)
    check_data_options(labels, limit)
    net = build(net_name, seed, epochs, batch_size, net_overrides)
    dataset, X, y = load_training_data(data, preprocess, labels, limit)
    folder = out or default_run_folder(net_name.lower(), runs_dir)
    check_new_run_folder(folder)
    os.makedirs(folder, exist_ok=True)

    net.initialize()
    X = shape_for(net, X)
    n_valid = len(validation_rows(net, X, y))
    manifest = {
        'net': net_name, 'net_overrides': net_overrides or {},
        'command': command if command is not None else list(sys.argv),
        'last_command': command if command is not None else list(sys.argv),
        'status': 'running', 'started': started, 'ended': None,
        'seed': int(seed), 'shuffle_seed': SHUFFLE_SEED,
        'data': {'path': (dataset.path if dataset.path == 'synthetic'
                          else os.path.abspath(dataset.path)),
                 'sha256': dataset.sha256,
                 'synthetic_seed': (_synthetic_seed() if dataset.path == 'synthetic'
                                    else None),
                 'rows_in_file': int(len(dataset.X)), 'rows_used': int(len(X)),
                 'limit': limit, 'n_train': int(len(X) - n_valid),
                 'n_valid': int(n_valid)},
        'preprocess': preprocess, 'labels': labels,
        'epochs_requested': int(net.max_epochs), 'epochs_run': 0,
        'batch_size': int(net.batch_iterator_train.batch_size),
        'checkpoint_every': int(checkpoint_every),
        'seconds_per_epoch': None, 'params': None,
        'python': platform.python_version(), 'platform': platform.platform(),
        'packages': package_versions(), 'theano': theano_settings(),
        'git': git_state(),
    }
    _train(net, X, y, dataset.image_ids[:len(X)], folder, manifest,
           checkpoint_every, compare_log)
    return folder


def _synthetic_seed():
    from data_prep import dataset
    return getattr(dataset, '_SYNTHETIC_SEEDS', {}).get('training')


def read_manifest(folder):
    """read_manifest(folder)

    The ``manifest.json`` of a run folder.
    """
    path = os.path.join(folder, 'manifest.json')
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        raise UserError('%s is not a run folder (no readable manifest.json)'
                        % folder)
    except ValueError as e:
        raise UserError('%s is not readable JSON (%s)' % (path, e))


def _tuples(value):
    """JSON's lists back to the tuples a net declaration used.

    >>> _tuples({'conv1_filter_size': [3, 3], 'hidden4_num_units': 8})
    {'conv1_filter_size': (3, 3), 'hidden4_num_units': 8}
    """
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def resume(folder, epochs=None, compare_log=None, command=None, data=None):
    """resume(folder, epochs=None, compare_log=None, command=None, data=None)

    Continue a run from ``<folder>/checkpoint/``: the same net, seed, data
    rows and options (from ``manifest.json``); weights, history, schedule,
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
    manifest = read_manifest(folder)
    checkpoint = find_checkpoint(folder)
    if checkpoint is None:
        raise UserError('%s has no checkpoint to resume from (none was written '
                        'before it stopped)' % folder)
    target = int(epochs) if epochs is not None else manifest['epochs_requested']
    done = len(read_history(checkpoint))
    if done >= target:
        raise UserError('%s already has %d epochs (asked for %d); pass a larger '
                        '--epochs to train on' % (folder, done, target))
    net = build(manifest['net'], manifest['seed'], target,
                manifest['batch_size'],
                _tuples(manifest.get('net_overrides') or {}))
    data_info = manifest['data']
    source = data or data_info['path']
    dataset, X, y = load_training_data(source, manifest['preprocess'],
                                       manifest['labels'], data_info['limit'])
    if dataset.sha256 != data_info['sha256']:
        raise UserError('%s is not the data this run trained on (SHA-256 %s, '
                        'the run used %s)' % (dataset.path, dataset.sha256[:12],
                                               data_info['sha256'][:12]))
    net.initialize()
    done = restore_checkpoint(net, checkpoint, manifest['net'])
    X = shape_for(net, X)
    print('resuming %s at epoch %d of %d' % (folder, done + 1, target))
    manifest.update(epochs_requested=target,
                    last_command=command if command is not None else list(sys.argv),
                    packages=package_versions(), theano=theano_settings(),
                    git=git_state())
    _train(net, X, y, dataset.image_ids[:len(X)], folder, manifest,
           manifest['checkpoint_every'], compare_log)
    return folder
