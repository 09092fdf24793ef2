"""Running a table: every row through ``training.run`` into ``results/<table>/``.

Layout::

    results/<table>/settings.json   epoch scale, data, limit, seed of the rows
    results/<table>/<row>/          the row's run folder (training.run)
    results/<table>/logs/<row>.log  a row's output when run with --jobs > 1
    results/<table>/table.md, table.csv, curves.png, pictures
                                    (experiments.summary)

A row is finished when its ``manifest.json`` says ``completed`` (or that a
handler stopped it: ``stopped-nonfinite``, ``stopped-early``:
``run_folder.FINISHED_STATUSES``); finished rows
are never run again. A row left ``running`` or ``interrupted`` (Ctrl-C, a
killed process) is resumed from its checkpoint with ``training.run.resume``;
a row that cannot be resumed (no checkpoint yet, or keywords a manifest
cannot hold) is moved aside to ``<row>.partial-<time>`` and run afresh, so
nothing is deleted.

With ``--cv K`` (``cv=K``) every row trains K folds (``training.cv``): its
folder is a cross-validation parent, ``<row>/fold1..foldK`` with
``cv.json`` and the fold summary; it is finished when every fold is, and an
unfinished one goes on (``training.cv.resume_cv``). ``settings.json`` then
records ``cv``, so folds and single runs never mix in one table.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from errors import UserError
from experiments.augmented_split import DCTAugmentedSplit
# FINISHED_STATUSES, row_status and table_dir are imported from here by
# experiments.__main__ as well.
from experiments.summary import (SETTINGS_FILE, read_settings, study_log_path,
                                 table_dir, write_table)
from experiments.tables import get_table, scaled_epochs, slide_epochs
from nets import default_epochs
from paths import REPO
from run_folder import FINISHED_STATUSES, find_checkpoint, run_status, write_json
from training import cv as training_cv
from training import run as training_run
from training.cv import resolve_data

RESULTS_DIR = 'results'
LOCK_FILE = '.lock'


def net_overrides(row):
    """net_overrides(row)

    The ``NeuralNet`` keywords ``training.run.run`` gets for ``row``: the
    row's own, plus a :class:`experiments.augmented_split.DCTAugmentedSplit`
    as ``train_split`` when the row augments its training split.
    """
    overrides = dict(row.overrides)
    if row.augment is not None:
        overrides['train_split'] = DCTAugmentedSplit(*row.augment)
    return overrides


def _json_plain(value):
    """True when a manifest can hold ``value`` (tuples come back as lists,
    which Lasagne takes as well)."""
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def row_epochs(table_name, row, epochs_scale):
    """row_epochs(table_name, row, epochs_scale)

    ``epochs_scale`` times the slides' epochs of the row (the net's own
    default where the slides print none), at least 1.
    """
    epochs = slide_epochs(table_name, row.name)
    if epochs is None:
        epochs = default_epochs(row.net)
    return scaled_epochs(epochs, epochs_scale)


def row_status(folder):
    """row_status(folder)

    ``run_folder.run_status`` of a row's folder; for a row run as K folds,
    ``training.cv.cv_status`` (``'completed'`` once every fold finished).
    """
    if training_cv.is_cv_folder(folder):
        return training_cv.cv_status(folder)
    return run_status(folder)


def _check_settings(folder, settings, row_names):
    """Refuse to mix rows run with other settings into one table."""
    earlier = read_settings(folder)
    if earlier is not None:
        started = [r for r in row_names
                   if row_status(os.path.join(folder, r)) != 'absent']
        keys = list(settings) + [k for k in earlier if k not in settings]
        if started and any(earlier.get(k) != settings.get(k) for k in keys):
            differ = ', '.join('%s %s (now %s)' % (k, earlier.get(k),
                                                   settings.get(k))
                               for k in keys
                               if earlier.get(k) != settings.get(k))
            raise UserError('%s holds rows run with other settings: %s; give '
                            'another results folder, or move it away'
                            % (folder, differ))
    os.makedirs(folder, exist_ok=True)
    write_json(os.path.join(folder, SETTINGS_FILE), settings)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _TableLock(object):
    """A pid file: two commands must not train the same rows at once."""

    def __init__(self, folder):
        self.path = os.path.join(folder, LOCK_FILE)

    def __enter__(self):
        try:
            with open(self.path) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid and pid != os.getpid() and _pid_alive(pid):
            raise UserError('%s is being run by process %d; wait for it or '
                            'stop it' % (os.path.dirname(self.path), pid))
        with open(self.path, 'w') as f:
            f.write('%d\n' % os.getpid())
        return self

    def __exit__(self, *exc):
        try:
            os.remove(self.path)
        except OSError:
            pass


def _move_aside(folder):
    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
    target = '%s.partial-%s' % (folder, stamp)
    n = 1
    while os.path.exists(target):
        n += 1
        target = '%s.partial-%s-%d' % (folder, stamp, n)
    shutil.move(folder, target)
    return target


def _check_cv_rows(table_name, rows, cv):
    """Refuse --cv for rows whose training split is their own (DCT copies)."""
    own = [row.name for row in rows if 'train_split' in net_overrides(row)]
    if cv is not None and own:
        raise UserError('--cv %s: %s/%s augment%s the training split with '
                        'filtered copies, which folds cannot split; leave '
                        'them out with --rows' % (cv, table_name, ','.join(own),
                                                 's' if len(own) == 1 else ''))


def _run_cv_row(table_name, row, folder, status, cv, command, epochs_scale,
                data, limit, seed, log):
    """run_row's part for a row of K folds; returns its status afterwards."""
    epochs = row_epochs(table_name, row, epochs_scale)
    if status not in ('absent', 'broken') and training_cv.is_cv_folder(folder):
        log('%s/%s: %s, going on with its folds' % (table_name, row.name,
                                                    status))
        training_cv.resume_cv(folder, epochs=epochs,
                              compare_log=study_log_path(row),
                              command=command, data=data, log=log)
        return row_status(folder)
    if status != 'absent':
        aside = _move_aside(folder)
        log('%s/%s: %s and not resumable, moved to %s; running afresh'
            % (table_name, row.name, status, aside))
    log('%s/%s: %s for %d epochs, %d folds' % (table_name, row.name, row.net,
                                               epochs, cv))
    training_cv.run_cv(row.net, cv, out=folder, epochs=epochs, data=data,
                       preprocess=row.preprocess, seed=seed, limit=limit,
                       compare_log=study_log_path(row),
                       net_overrides=net_overrides(row), command=command,
                       log=log)
    return row_status(folder)


def run_row(table_name, row_name, results_dir=RESULTS_DIR, epochs_scale=1.0,
            data=None, limit=None, seed=42, log=print, cv=None):
    """run_row(table_name, row_name, results_dir='results', epochs_scale=1.0, data=None, limit=None, seed=42, log=print, cv=None)

    Train one row into ``<results_dir>/<table>/<row>/`` with
    ``training.run.run`` (or resume it), unless it is finished; with `cv`
    K, as K folds (``training.cv``).

    Returns
    -------
    str
        The row's status afterwards (see :func:`row_status`).
    """
    table = get_table(table_name)
    if row_name not in table.rows:
        raise UserError('table %s has no row %r; rows: %s'
                        % (table_name, row_name, ', '.join(table.rows)))
    row = table.rows[row_name]
    folder = os.path.join(table_dir(results_dir, table_name), row_name)
    status = row_status(folder)
    command = ['python', '-m', 'experiments', 'run', table_name,
               '--rows', row_name, '--epochs-scale', repr(epochs_scale),
               '--data', str(data), '--seed', str(seed)]
    if limit is not None:
        command += ['--limit', str(limit)]
    if cv is not None:
        command += ['--cv', str(cv)]
    if status in FINISHED_STATUSES:
        log('%s/%s: %s, not run again' % (table_name, row_name, status))
        return status
    if cv is not None:
        _check_cv_rows(table_name, [row], cv)
        return _run_cv_row(table_name, row, folder, status, int(cv), command,
                           epochs_scale, data, limit, seed, log)
    overrides = net_overrides(row)
    if status != 'absent':
        checkpoint = find_checkpoint(folder) if status != 'broken' else None
        if checkpoint is not None and _json_plain(row.overrides) \
                and overrides == row.overrides:
            log('%s/%s: %s, resuming' % (table_name, row_name, status))
            training_run.resume(folder,
                                epochs=row_epochs(table_name, row,
                                                  epochs_scale),
                                compare_log=study_log_path(row),
                                command=command, data=data)
            return row_status(folder)
        aside = _move_aside(folder)
        log('%s/%s: %s and not resumable, moved to %s; running afresh'
            % (table_name, row_name, status, aside))
    epochs = row_epochs(table_name, row, epochs_scale)
    log('%s/%s: %s for %d epochs' % (table_name, row_name, row.net, epochs))
    training_run.run(row.net, epochs=epochs, data=data,
                     preprocess=row.preprocess, seed=seed, out=folder,
                     limit=limit, compare_log=study_log_path(row),
                     net_overrides=overrides, command=command)
    return row_status(folder)


def _threads_per_job(jobs):
    return max(1, (os.cpu_count() or 1) // jobs)


def _run_row_process(table_name, row_name, results_dir, epochs_scale, data,
                     limit, seed, jobs, cv=None):
    """Run one row in its own Python process; returns (row, status, rc)."""
    logs = os.path.join(table_dir(results_dir, table_name), 'logs')
    os.makedirs(logs, exist_ok=True)
    argv = [sys.executable, '-m', 'experiments', 'run-row', table_name,
            row_name, '--out', results_dir, '--epochs-scale',
            repr(epochs_scale), '--data', data, '--seed', str(seed)]
    if limit is not None:
        argv += ['--limit', str(limit)]
    if cv is not None:
        argv += ['--cv', str(cv)]
    env = dict(os.environ)
    # N processes share the machine's cores instead of each taking all.
    env['OMP_NUM_THREADS'] = str(_threads_per_job(jobs))
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    with open(os.path.join(logs, '%s.log' % row_name), 'a') as out:
        rc = subprocess.call(argv, stdout=out, stderr=subprocess.STDOUT,
                             env=env)
    folder = os.path.join(table_dir(results_dir, table_name), row_name)
    return row_name, row_status(folder), rc


def run_table(table_name, results_dir=RESULTS_DIR, epochs_scale=1.0, jobs=1,
              data=None, limit=None, seed=42, rows=None, log=print, cv=None):
    """run_table(table_name, results_dir='results', epochs_scale=1.0, jobs=1, data=None, limit=None, seed=42, rows=None, log=print, cv=None)

    Train every unfinished row of a table, then write its table and
    pictures (:func:`experiments.summary.write_table`).

    Parameters
    ----------
    epochs_scale : float
        Each row trains ``epochs_scale`` times the slides' epochs.
    jobs : int
        Rows trained at once, each in its own process (1: one after another
        in this process).
    data : str or None
        Data folder or file, or ``'synthetic'``.
    limit : int or None
        Use only the first ``limit`` shuffled rows of the data.
    rows : list of str or None
        Only these rows (default: all).
    cv : int or None
        Train every row as `cv` folds (``training.cv``); the table gives
        the mean ± standard deviation over the folds.

    Returns
    -------
    dict
        Row name -> status after the run.
    """
    table = get_table(table_name)
    if not epochs_scale > 0:
        raise UserError('--epochs-scale must be above 0, not %s' % epochs_scale)
    if int(jobs) < 1:
        raise UserError('--jobs must be at least 1, not %s' % jobs)
    names = list(table.rows) if not rows else list(rows)
    unknown = [r for r in names if r not in table.rows]
    if unknown:
        raise UserError('table %s has no row %s; rows: %s'
                        % (table_name, ', '.join(map(repr, unknown)),
                           ', '.join(table.rows)))
    if cv is not None and int(cv) < 2:
        raise UserError('--cv %s: cross-validation needs at least 2 folds'
                        % cv)
    _check_cv_rows(table_name, [table.rows[r] for r in names], cv)
    data = resolve_data(data)
    folder = table_dir(results_dir, table_name)
    settings = {'epochs_scale': float(epochs_scale), 'data': data,
                'limit': None if limit is None else int(limit),
                'seed': int(seed)}
    if cv is not None:
        settings['cv'] = int(cv)
    _check_settings(folder, settings, list(table.rows))
    statuses = {}
    with _TableLock(folder):
        pending = []
        for name in names:
            status = row_status(os.path.join(folder, name))
            if status in FINISHED_STATUSES:
                log('%s/%s: %s, not run again' % (table_name, name, status))
                statuses[name] = status
            else:
                pending.append(name)
        started = time.time()
        if int(jobs) == 1:
            for name in pending:
                statuses[name] = run_row(table_name, name, results_dir,
                                         epochs_scale, data, limit, seed, log,
                                         cv)
                if statuses[name] == 'interrupted':
                    log('%s: interrupted; run the same command again to '
                        'resume' % table_name)
                    break
        elif pending:
            log('%s: %d rows in %d processes (OMP_NUM_THREADS=%d each); '
                'output in %s' % (table_name, len(pending), jobs,
                                  _threads_per_job(jobs),
                                  os.path.join(folder, 'logs')))
            with ThreadPoolExecutor(max_workers=int(jobs)) as pool:
                futures = [pool.submit(_run_row_process, table_name, name,
                                       results_dir, epochs_scale, data, limit,
                                       seed, int(jobs), cv)
                           for name in pending]
                for future in futures:
                    name, status, rc = future.result()
                    statuses[name] = status
                    log('%s/%s: %s (exit %d)' % (table_name, name, status, rc))
        if pending:
            log('%s: %d rows in %.0f s' % (table_name, len(pending),
                                            time.time() - started))
        write_table(table_name, results_dir)
    return statuses
