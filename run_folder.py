"""The run folder: the name, the format and the writing of every file a run leaves.

A training run (``training.run``) writes one folder, ``runs/<net>-<time>/``
or a table's ``results/<table>/<row>/``::

    manifest.json          MANIFEST: what ran, on what, with what (first)
    checkpoint/            CHECKPOINT: weights.npz, state.npz, history.json
    weights.npz            WEIGHTS: the trained weights (training.weights)
    history.csv            HISTORY: epoch,train_loss,valid_loss,
                           train_over_valid,dur_s (the study's log columns)
    loss.png               LOSS_PLOT (training.plots)
    valid_predictions.csv  VALID_PREDICTIONS: true and predicted keypoints
    metrics.json           METRICS: final losses, RMSE in pixels, baseline
    faces_valid.png, worst16.png, keypoint_rmse.png, errors.csv, errors.md
                           REPORT_FILES (evaluation.run_report)

This module is where those names, the manifest's statuses and the files'
formats live, and the one way a file of the project is written:
:func:`atomic_path` (a temporary file beside the target, renamed over it with
``os.replace``), so a reader never sees half a file and a failed write
leaves the earlier file as it was. JSON is written strict: NaN and
infinities become ``null``.

Readers raise :class:`RunFolderError` (a :class:`errors.UserError`) for a
file that is missing or unreadable; a caller that tolerates absence checks
first (:func:`run_status`, ``os.path.isfile``) or catches it.

Provenance, for the manifest: :func:`package_versions`, :func:`git_state`,
:func:`theano_settings`, :func:`now`.
"""
import contextlib
import csv
import datetime
import itertools
import json
import os
import platform
import re
import shutil
import subprocess
from importlib import metadata

import numpy as np
import pandas as pd

from data_prep.keypoints import KEYPOINT_COLUMNS
from errors import DiskFullError, UserError, is_disk_full
from paths import REPO

__all__ = [
    'RunFolderError', 'MANIFEST', 'WEIGHTS', 'HISTORY', 'LOSS_PLOT',
    'VALID_PREDICTIONS', 'METRICS', 'CHECKPOINT', 'CHECKPOINT_STATE',
    'CHECKPOINT_HISTORY', 'REPORT_FILES', 'FILES', 'HISTORY_COLUMNS',
    'STATUSES', 'FINISHED_STATUSES', 'STACK',
    'run_path', 'default_run_folder', 'free_folder', 'check_new_folder',
    'check_new_run_folder',
    'atomic_path', 'atomic_open', 'atomic_folder', 'write_json', 'read_json',
    'write_manifest', 'read_manifest', 'manifest_net_overrides',
    'manifest_columns', 'manifest_cleaning', 'run_status',
    'history_rows', 'write_history_csv', 'read_history_csv',
    'find_checkpoint', 'write_checkpoint_history', 'read_checkpoint_history',
    'write_valid_predictions', 'read_valid_predictions',
    'write_metrics', 'read_metrics',
    'now', 'package_versions', 'git_state', 'theano_settings', 'provenance',
]


class RunFolderError(UserError):
    """RunFolderError(message)

    A run folder, or a file in it (or in its format, such as a study's
    log), is missing or cannot be read. The message names the file.
    """


# ------------------------------------------------------------------ layout

MANIFEST = 'manifest.json'
WEIGHTS = 'weights.npz'
HISTORY = 'history.csv'
LOSS_PLOT = 'loss.png'
VALID_PREDICTIONS = 'valid_predictions.csv'
METRICS = 'metrics.json'
CHECKPOINT = 'checkpoint'
#: In ``checkpoint/`` besides ``weights.npz``: the training state
#: (training.checkpoint) and nolearn's ``train_history_``.
CHECKPOINT_STATE = 'state.npz'
CHECKPOINT_HISTORY = 'history.json'
#: The run report's files (evaluation.run_report).
REPORT_FILES = ('faces_valid.png', 'worst16.png', 'keypoint_rmse.png',
                'errors.csv', 'errors.md')
#: Every name a run folder holds.
FILES = (MANIFEST, CHECKPOINT, WEIGHTS, HISTORY, LOSS_PLOT, VALID_PREDICTIONS,
         METRICS) + REPORT_FILES

HISTORY_COLUMNS = ('epoch', 'train_loss', 'valid_loss', 'train_over_valid',
                   'dur_s')

#: ``manifest.json``'s ``status``: 'running' stays when the process was
#: killed; 'failed' when training raised (the error is recorded).
STATUSES = ('running', 'completed', 'interrupted', 'stopped-nonfinite',
            'stopped-early', 'failed')
#: Statuses of a run that ended by itself: it is never trained again.
FINISHED_STATUSES = ('completed', 'stopped-nonfinite', 'stopped-early')

#: The pinned stack, for the manifest when ``requirements.txt`` is absent.
STACK = ('Theano', 'Lasagne', 'nolearn', 'numpy', 'scipy', 'pandas',
         'scikit-learn', 'scikit-image', 'matplotlib', 'setuptools')

#: A complete checkpoint folder keeps this name while the next one is
#: renamed into place.
_OLD = '.old'


def run_path(folder, name):
    """run_path(folder, name)

    The path of file `name` (one of :data:`FILES`) of the run folder.

    >>> run_path('runs/net6-20160401-090500', METRICS)
    'runs/net6-20160401-090500/metrics.json'
    >>> run_path('runs/x', 'notes.txt')
    Traceback (most recent call last):
    ...
    ValueError: 'notes.txt' is not a file of a run folder
    """
    if name not in FILES:
        raise ValueError('%r is not a file of a run folder' % (name,))
    return os.path.join(os.fspath(folder), name)


def default_run_folder(net_name, runs_dir='runs', when=None):
    """default_run_folder(net_name, runs_dir='runs', when=None)

    ``<runs_dir>/<net>-<YYYYmmdd-HHMMSS>``, with ``-2``, ``-3``... appended
    when that folder already exists.

    >>> default_run_folder('net6', 'runs', datetime.datetime(2016, 4, 1, 9, 5, 0))
    'runs/net6-20160401-090500'
    """
    when = when or datetime.datetime.now()
    return free_folder(os.path.join(runs_dir, '%s-%s' % (
        net_name, when.strftime('%Y%m%d-%H%M%S'))))


def free_folder(base):
    """free_folder(base)

    `base`, or ``base-2``, ``base-3``... : the first of them that does not
    exist (a default folder never lands in an earlier one).

    >>> free_folder('runs/no-such-folder')
    'runs/no-such-folder'
    """
    folder, n = base, 1
    while os.path.exists(folder):
        n += 1
        folder = '%s-%d' % (base, n)
    return folder


def check_new_folder(folder, kind, advice, name=None):
    """check_new_folder(folder, kind, advice, name=None)

    Refuse an output folder that exists and is not empty (an earlier
    `kind`'s results, which nothing may overwrite), or that is a file.

    Parameters
    ----------
    kind : str
        What writes the folder (``'run'``, ``'review'``, ...), for the message.
    advice : str
        What the user can do instead, for the message.
    name : str or None
        How the message names the folder; None: its path.

    >>> check_new_folder('/nonexistent/kfkd', 'run', 'choose another')  # absent: fine
    """
    name = folder if name is None else name
    if os.path.isfile(folder):
        raise UserError('%s is a file, not a %s folder' % (name, kind))
    if os.path.isdir(folder) and os.listdir(folder):
        raise UserError('%s already holds files (an earlier %s?); %s'
                        % (name, kind, advice))


def check_new_run_folder(folder):
    """check_new_run_folder(folder)

    Refuse a folder that exists and is not empty (an earlier run's results),
    or that exists as a file (:func:`check_new_folder`).
    """
    check_new_folder(folder, 'run', 'choose another folder, or resume that run')


# ----------------------------------------------------------- atomic writes

_TMP_NUMBERS = itertools.count()


@contextlib.contextmanager
def atomic_path(path, fsync=False, size=None):
    """atomic_path(path, fsync=False, size=None)

    Context manager: a temporary path beside `path` (same folder, same
    extension, so writers that go by it, as matplotlib does, still work) to
    write to; when the block ends without an error it is renamed over
    `path` with ``os.replace``, else removed. Readers of `path` see the old
    file or the new one, never half of one.

    Parameters
    ----------
    path : str
    fsync : bool
        Flush the file to disk before the rename (checkpoints and weights:
        a power cut then leaves the old file or the new one, not an empty
        one).
    size : int or None
        The bytes the file will take, when the writer knows, for the
        message of the :class:`errors.DiskFullError` that a full disk
        raises (the earlier file stays).

    >>> import tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), 'table.md')
    >>> with atomic_path(target) as tmp:
    ...     with open(tmp, 'w') as f:
    ...         _ = f.write('# done\\n')
    ...     os.path.exists(target)
    False
    >>> open(target).read(), os.listdir(os.path.dirname(target))
    ('# done\\n', ['table.md'])
    """
    path = os.fspath(path)
    tmp = '%s.tmp-%d-%d%s' % (path, os.getpid(), next(_TMP_NUMBERS),
                              os.path.splitext(path)[1])
    try:
        yield tmp
        if fsync:
            handle = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(handle)
            finally:
                os.close(handle)
        os.replace(tmp, path)
    except Exception as e:
        if not is_disk_full(e) or isinstance(e, DiskFullError):
            raise
        # One line naming the file, instead of what the writer's library
        # raised over the ENOSPC (zipfile: "seek of closed file").
        written = os.path.getsize(tmp) if os.path.exists(tmp) else 0
        raise DiskFullError(path, size or written, at_least=not size) from e
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_open(path, mode='w', fsync=False, size=None, **open_keywords):
    """atomic_open(path, mode='w', fsync=False, size=None, **open_keywords)

    Context manager: ``open(...)`` of an :func:`atomic_path` temporary file;
    `path` gets what was written when the block ends without an error.
    `open_keywords` go to ``open`` (``newline=''`` for csv).
    """
    with atomic_path(path, fsync=fsync, size=size) as tmp:
        with open(tmp, mode, **open_keywords) as handle:
            yield handle


@contextlib.contextmanager
def atomic_folder(path):
    """atomic_folder(path)

    Context manager: an empty temporary folder beside `path` to fill; when
    the block ends without an error it replaces the folder `path`. A
    folder cannot be renamed over another, so the earlier one is first
    renamed to ``<path>.old`` and removed once the new one is in place: a
    kill at any moment leaves one complete folder, as `path` or
    ``<path>.old`` (:func:`find_checkpoint` looks for both).
    """
    path = os.fspath(path)
    tmp = '%s.tmp-%d' % (path, os.getpid())
    old = path + _OLD
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    try:
        os.makedirs(tmp)
        yield tmp
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, Exception) and is_disk_full(e):
            # Named by the folder the user asked for, not its temporary.
            raise DiskFullError(path, getattr(e, 'needed', None),
                                at_least=True) from e
        raise
    if os.path.exists(old):
        shutil.rmtree(old)
    if os.path.exists(path):
        os.rename(path, old)
    os.rename(tmp, path)
    if os.path.exists(old):
        shutil.rmtree(old)


# -------------------------------------------------------------------- JSON

def _finite_or_none(value):
    """NaN and infinities as None (strict JSON has no NaN), recursively.

    >>> _finite_or_none({'a': [1.0, float('nan')], 'b': np.float32('inf')})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    return value


def _json_default(value):
    """NumPy scalars and arrays as Python's; anything else as its str."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_json(path, obj):
    """write_json(path, obj)

    `obj` as strict JSON (indent 2, a final newline; NaN and infinities as
    ``null``; NumPy values as Python's), atomically.
    """
    with atomic_open(path) as f:
        json.dump(_finite_or_none(obj), f, indent=2, allow_nan=False,
                  default=_json_default)
        f.write('\n')


def read_json(path):
    """read_json(path)

    The JSON value in `path`.

    Raises
    ------
    RunFolderError
        The file is missing, unreadable or not JSON.
    """
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise RunFolderError('cannot read %s (%s)' % (path, e.strerror or e))
    except ValueError as e:
        raise RunFolderError('%s is not readable JSON (%s)' % (path, e))


# ---------------------------------------------------------------- manifest

def write_manifest(folder, manifest):
    """write_manifest(folder, manifest)

    Write the run's ``manifest.json`` (:func:`write_json`).
    """
    write_json(run_path(folder, MANIFEST), manifest)


def read_manifest(folder):
    """read_manifest(folder)

    The ``manifest.json`` of a run folder, as a dict.

    Raises
    ------
    RunFolderError
        No ``manifest.json`` there (not a run folder), or one that is not
        readable JSON or not a JSON object.
    """
    path = run_path(folder, MANIFEST)
    if not os.path.isfile(path):
        raise RunFolderError('%s is not a run folder (no readable '
                             'manifest.json)' % folder)
    manifest = read_json(path)
    if not isinstance(manifest, dict):
        raise RunFolderError('%s is not a run manifest (not a JSON object)'
                             % path)
    return manifest


def manifest_net_overrides(manifest):
    """manifest_net_overrides(manifest)

    The manifest's ``net_overrides`` with JSON's lists back as the tuples a
    net declaration uses.

    >>> manifest_net_overrides({'net_overrides': {'conv1_filter_size': [3, 3],
    ...                                           'hidden4_num_units': 8}})
    {'conv1_filter_size': (3, 3), 'hidden4_num_units': 8}
    """
    def tuples(value):
        if isinstance(value, dict):
            return {k: tuples(v) for k, v in value.items()}
        if isinstance(value, list):
            return tuple(tuples(v) for v in value)
        return value
    return tuples(manifest.get('net_overrides') or {})


def manifest_columns(manifest):
    """manifest_columns(manifest)

    The keypoint columns the run predicts, in order: its manifest's
    ``columns`` (a ``--labels sparse`` run predicts 8), all 30 of Kaggle's
    for a run from before the manifest named them.

    >>> manifest_columns({'columns': ['nose_tip_x', 'nose_tip_y']})
    ('nose_tip_x', 'nose_tip_y')
    >>> len(manifest_columns({}))
    30
    """
    return tuple(manifest.get('columns') or KEYPOINT_COLUMNS)


def manifest_cleaning(manifest):
    """manifest_cleaning(manifest)

    The keywords of ``data_prep.dataset.load_training_data`` that re-apply
    the run's cleaning (its manifest's ``cleaning``): the method, the list,
    and the rows it must drop again. A run from before the manifest
    recorded cleaning dropped nothing.

    >>> manifest_cleaning({'cleaning': {'method': 'auto', 'clean_list': None,
    ...                    'dropped': [{'row': 4}, {'row': 9}]}})
    {'clean': 'auto', 'clean_list': None, 'dropped_rows': [4, 9]}
    >>> manifest_cleaning({})
    {'clean': 'none', 'clean_list': None, 'dropped_rows': []}
    """
    cleaning = manifest.get('cleaning') or {}
    return {'clean': cleaning.get('method', 'none'),
            'clean_list': cleaning.get('clean_list'),
            'dropped_rows': [record['row']
                             for record in cleaning.get('dropped', [])]}


def run_status(folder):
    """run_status(folder)

    ``'absent'`` (no folder, or an empty one), ``'broken'`` (files but no
    readable manifest, or one without a status), or the manifest's status
    (one of :data:`STATUSES`).
    """
    if not os.path.isdir(folder) or not os.listdir(folder):
        return 'absent'
    try:
        manifest = read_manifest(folder)
    except RunFolderError:
        return 'broken'
    return manifest.get('status', 'broken')


# ----------------------------------------------------------------- history

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

    ``history.csv`` with the columns of the study's logs (full precision),
    atomically.
    """
    with atomic_open(path, newline='') as f:
        writer = csv.writer(f)
        writer.writerow(HISTORY_COLUMNS)
        for row in history_rows(train_history):
            writer.writerow([row['epoch']] + ['%.9g' % row[c]
                                              for c in HISTORY_COLUMNS[1:]])


def read_history_csv(path):
    """read_history_csv(path)

    Rows (dicts of floats, ``epoch`` int) of a ``history.csv`` or a log of
    ``../shared/data/w207_logs``.

    Raises
    ------
    RunFolderError
        The file is missing, has no ``epoch``, ``train_loss`` and
        ``valid_loss`` columns, or a row holds a non-number. The message
        is short: it never quotes the file (a wrong file may hold images).
    """
    try:
        with open(path, newline='') as f:
            reader = csv.DictReader(f)
            missing = [c for c in HISTORY_COLUMNS[:3]
                       if c not in (reader.fieldnames or ())]
            if missing:
                raise RunFolderError(
                    '%s is not a readable history CSV (no %s column; a '
                    'history has %s)'
                    % (path, ', '.join(missing), ','.join(HISTORY_COLUMNS)))
            rows = []
            for number, row in enumerate(reader, 2):
                try:
                    rows.append(dict({k: float(v) for k, v in row.items()},
                                     epoch=int(float(row['epoch']))))
                except (KeyError, ValueError, TypeError):
                    raise RunFolderError('%s is not a readable history CSV '
                                         '(row %d holds a non-number)'
                                         % (path, number))
        return rows
    except OSError as e:
        raise RunFolderError('%s is not a readable history CSV (%s)'
                             % (path, e.strerror or e))
    except csv.Error as e:
        raise RunFolderError('%s is not a readable history CSV (%s)'
                             % (path, str(e)[:80]))


# -------------------------------------------------------------- checkpoint

def find_checkpoint(folder):
    """find_checkpoint(folder)

    The newest complete checkpoint folder of a run (``checkpoint``, or
    ``checkpoint.old`` when a kill fell between :func:`atomic_folder`'s two
    renames), or None.
    """
    for name in (CHECKPOINT, CHECKPOINT + _OLD):
        path = os.path.join(folder, name)
        if os.path.isfile(os.path.join(path, CHECKPOINT_HISTORY)):
            return path
    return None


def write_checkpoint_history(checkpoint_folder, train_history):
    """write_checkpoint_history(checkpoint_folder, train_history)

    nolearn's ``train_history_`` as ``history.json`` of a checkpoint
    folder: every key of every epoch, NaN kept (training goes on from it),
    flushed to disk.
    """
    history = [{k: _json_default(v) if isinstance(v, np.generic) else v
                for k, v in row.items()} for row in train_history]
    with atomic_open(os.path.join(checkpoint_folder, CHECKPOINT_HISTORY),
                     fsync=True) as f:
        json.dump({'epoch': len(history), 'history': history}, f)


def read_checkpoint_history(checkpoint_folder):
    """read_checkpoint_history(checkpoint_folder)

    The ``train_history_`` rows saved in a checkpoint folder.

    Raises
    ------
    RunFolderError
        Missing or unreadable ``history.json``.
    """
    path = os.path.join(checkpoint_folder, CHECKPOINT_HISTORY)
    try:
        with open(path) as f:
            return json.load(f)['history']
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RunFolderError('%s is not a readable checkpoint history (%s)'
                             % (path, e))


# ----------------------------------------------------- predictions, metrics

def _prediction_columns(columns=KEYPOINT_COLUMNS):
    return (['row', 'image_id'] + list(columns)
            + ['%s_pred' % c for c in columns])


def write_valid_predictions(path, rows, image_ids, y_true, y_pred,
                            columns=KEYPOINT_COLUMNS):
    """write_valid_predictions(path, rows, image_ids, y_true, y_pred, columns=KEYPOINT_COLUMNS)

    ``valid_predictions.csv``: ``row`` (index in the shuffled order),
    ``image_id`` (the face's 1-based data row in the file), the true
    keypoints in pixels under Kaggle's column names (``nan`` where the
    face has none), then the predicted ones as ``<column>_pred`` (4
    decimals), atomically. `columns` are the run's (``y_true`` and
    ``y_pred`` have one column each): all 30, or the 8 of a sparse run.
    """
    with atomic_open(path, newline='') as f:
        writer = csv.writer(f)
        writer.writerow(_prediction_columns(columns))
        for index, image_id, true, pred in zip(rows, image_ids, y_true, y_pred):
            writer.writerow([int(index), int(image_id)]
                            + ['%.4f' % v for v in true]
                            + ['%.4f' % v for v in pred])


def read_valid_predictions(path):
    """read_valid_predictions(path)

    A run's ``valid_predictions.csv``.

    Returns
    -------
    rows : int64 (n,)
        Each validation face's index in the run's shuffled data.
    y_true, y_pred : float64 (n, 30)
        Keypoints in pixels in Kaggle's 30 columns: NaN where the truth is
        missing, and NaN in both for a column the run does not predict
        (a sparse run's file has 8).

    Raises
    ------
    RunFolderError
        Missing file, no keypoint column, a column without its
        ``_pred``, or no rows.
    """
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise RunFolderError('%s is not a readable valid_predictions.csv (%s)'
                             % (path, e))
    columns = [c for c in KEYPOINT_COLUMNS if c in table.columns]
    wanted = ['row'] + (columns or list(KEYPOINT_COLUMNS)) + [
        '%s_pred' % c for c in columns]
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise RunFolderError('%s lacks column %s'
                             % (path, ', '.join(missing[:3])))
    if len(table) == 0:
        raise RunFolderError('%s has no rows' % path)
    y_true = np.full((len(table), len(KEYPOINT_COLUMNS)), np.nan)
    y_pred = y_true.copy()
    where = [KEYPOINT_COLUMNS.index(c) for c in columns]
    y_true[:, where] = table[columns].to_numpy(dtype=np.float64)
    y_pred[:, where] = table[['%s_pred' % c for c in columns]].to_numpy(
        dtype=np.float64)
    return table['row'].to_numpy(dtype=np.int64), y_true, y_pred


def write_metrics(folder, metrics):
    """write_metrics(folder, metrics)

    Write the run's ``metrics.json`` (:func:`write_json`).
    """
    write_json(run_path(folder, METRICS), metrics)


def read_metrics(folder):
    """read_metrics(folder)

    The run's ``metrics.json`` (``null`` for a non-finite figure).

    Raises
    ------
    RunFolderError
        Missing or unreadable file.
    """
    return read_json(run_path(folder, METRICS))


# -------------------------------------------------------------- provenance

def now():
    """now()

    The local time with its UTC offset, to the second, as ISO 8601 (the
    manifest's ``started`` and ``ended``).
    """
    return datetime.datetime.now().astimezone().isoformat(timespec='seconds')


def package_versions(requirements=None):
    """package_versions(requirements=None)

    ``{name: installed version}`` for every package pinned in
    ``requirements.txt`` (``name==version`` lines; :data:`STACK` when there is
    no such file); ``None`` for a package that is not installed.
    """
    if requirements is None:
        requirements = os.path.join(REPO, 'requirements.txt')
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
    tree holding `folder` (the repository by default).
    """
    folder = folder or REPO
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

    ``THEANO_FLAGS`` and the Theano configuration a run used (the
    manifest's ``theano``), with ``compat.runtime_info()``: the device
    requested and the one really used, and which pooling and dropout-RNG
    implementations (``'fastops'`` or ``'theano'``) were compiled.
    """
    # Here, not at the top: the run folder's readers (data_prep's cache,
    # experiments' tables, predict.py's checks) must not load Theano.
    import compat  # (before theano)
    import theano
    settings = {'THEANO_FLAGS': os.environ.get('THEANO_FLAGS', ''),
                'floatX': theano.config.floatX,
                'blas.ldflags': theano.config.blas.ldflags,
                'openmp': bool(theano.config.openmp),
                'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS')}
    # The device Theano really computes on (not only the one asked for) and
    # the pooling and dropout-RNG implementations its graphs compile.
    settings.update(compat.runtime_info())
    return settings


def provenance():
    """provenance()

    The manifest's record of where a run ran: ``python``, ``platform``,
    ``packages`` (:func:`package_versions`), ``theano``
    (:func:`theano_settings`) and ``git`` (:func:`git_state`).
    """
    return {'python': platform.python_version(),
            'platform': platform.platform(),
            'packages': package_versions(), 'theano': theano_settings(),
            'git': git_state()}
