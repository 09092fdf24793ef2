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
import functools
import json
import os
import shutil
import subprocess
import sys
import time
from collections import OrderedDict

from errors import UserError
from experiments.augmented_split import DCTAugmentedSplit
# FINISHED_STATUSES, row_status and table_dir are imported from here by
# experiments.__main__ as well.
from experiments.summary import (SETTINGS_FILE, read_settings, study_log_path,
                                 table_dir, write_table)
from experiments import cluster
from experiments.tables import get_table, scaled_epochs, slide_epochs
from nets import default_epochs
from paths import REPO
from run_folder import (FINISHED_STATUSES, find_checkpoint, read_manifest, run_status,
                        write_json, write_manifest)
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
                        'them out with --rows'
                        % (cv, table_name, ','.join(own), 's' if len(own) == 1 else ''))


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
    """run_row(table_name, row_name, results_dir='results', epochs_scale=1.0,
               data=None, limit=None, seed=42, log=print, cv=None)

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


def _die_with_parent_command():
    """Python code that makes the row's process die with the process that
    started it (Linux's PR_SET_PDEATHSIG), then runs ``python -m experiments``:
    a Ray worker killed with its node leaves no training process behind."""
    return ('import ctypes, os, runpy, signal, sys\n'
            'parent = int(sys.argv.pop(1))\n'
            'if sys.platform.startswith("linux"):\n'
            '    ctypes.CDLL(None).prctl(1, signal.SIGKILL)\n'
            '    if os.getppid() != parent:\n'
            '        sys.exit("its parent process ended before it started")\n'
            'runpy.run_module("experiments", run_name="__main__", alter_sys=True)\n')


def _error_line(log_path, since):
    """The one-line error a row's process wrote to its log after byte `since`:
    its ``error: ...`` line, else its last line (a traceback's exception)."""
    try:
        with open(log_path, 'rb') as f:
            f.seek(since)
            lines = [line.strip() for line in
                     f.read().decode('utf-8', 'replace').splitlines() if line.strip()]
    except OSError:
        return None
    errors = [line for line in lines if line.startswith('error: ')]
    line = errors[-1][len('error: '):] if errors else (lines[-1] if lines else None)
    return line if line is None or len(line) <= 300 else line[:297] + '...'


def _run_row_process(table_name, row_name, results_dir, threads, epochs_scale=1.0,
                     data=None, limit=None, seed=42, poll=None, poll_seconds=2.0,
                     restart=None, cv=None):
    """_run_row_process(table_name, row_name, results_dir, threads,
                         epochs_scale=1.0, data=None, limit=None, seed=42,
                         poll=None, poll_seconds=2.0, restart=None, cv=None)

    Run one row in a fresh Python process (Theano reads its flags once per
    process) with ``OMP_NUM_THREADS=threads``, its output appended to
    ``<results_dir>/<table>/logs/<row>.log``; the process dies with this one.

    Parameters
    ----------
    poll : callable or None
        Called every `poll_seconds` while the process runs.
    restart : dict or None
        Appended to the manifest's ``restarts`` before the row resumes (the
        row ran before and its worker was lost).
    cv : int or None
        Train the row as `cv` folds (``training.cv``).

    Returns
    -------
    tuple
        ``(row, status, rc, error)``: the run folder's status afterwards, the
        process's exit status, and its one-line error when that is not 0 (the
        manifest of a row left ``running`` then says ``failed`` with it).
    """
    folder = os.path.join(table_dir(results_dir, table_name), row_name)
    logs = os.path.join(table_dir(results_dir, table_name), 'logs')
    os.makedirs(logs, exist_ok=True)
    manifest = _manifest_or_none(folder)
    if restart is not None and manifest is not None \
            and manifest.get('status') not in FINISHED_STATUSES:
        manifest.setdefault('restarts', []).append(restart)
        write_manifest(folder, manifest)
    argv = [sys.executable, '-c', _die_with_parent_command(), str(os.getpid()),
            'run-row', table_name, row_name, '--out', results_dir, '--epochs-scale',
            repr(epochs_scale), '--data', str(data), '--seed', str(seed)]
    if limit is not None:
        argv += ['--limit', str(limit)]
    if cv is not None:
        argv += ['--cv', str(cv)]
    env = dict(os.environ)
    # N processes share the machine's cores instead of each taking all.
    env['OMP_NUM_THREADS'] = str(int(threads))
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    log_path = os.path.join(logs, '%s.log' % row_name)
    with open(log_path, 'a') as out:
        since = out.tell()
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                   env=env, cwd=REPO)
        try:
            while True:
                try:
                    rc = process.wait(timeout=poll_seconds)
                    break
                except subprocess.TimeoutExpired:
                    if poll is not None:
                        poll()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    error = None if rc == 0 else _error_line(log_path, since)
    if rc != 0:
        manifest = _manifest_or_none(folder)
        if manifest is not None and manifest.get('status') == 'running':
            # The process is gone: 'running' would be a lie.
            manifest.update(status='failed', error=error or 'exit status %d' % rc)
            write_manifest(folder, manifest)
    return row_name, row_status(folder), rc, error


def _manifest_or_none(folder):
    """The row's manifest, or None before its process wrote one."""
    if run_status(folder) in ('absent', 'broken'):
        return None
    return read_manifest(folder)


def run_table(table_name, results_dir=RESULTS_DIR, epochs_scale=1.0, jobs=1,
              data=None, limit=None, seed=42, rows=None, log=print, cv=None,
              ray=None, storage=None, cpus_per_row=None, gpus_per_row=None,
              estimate=None):
    """run_table(table_name, results_dir='results', epochs_scale=1.0, jobs=1,
                 data=None, limit=None, seed=42, rows=None, log=print, cv=None,
                 ray=None, storage=None, cpus_per_row=None, gpus_per_row=None,
                 estimate=None)

    Train every unfinished row of a table, then write its table and
    pictures (:func:`experiments.summary.write_table`).

    Parameters
    ----------
    epochs_scale : float
        Each row trains ``epochs_scale`` times the slides' epochs.
    jobs : int
        Rows trained at once on the Ray of this machine, each in its own
        process (1 without `ray`: one after another in this process).
    data : str or None
        Data folder or file, or ``'synthetic'``.
    limit : int or None
        Use only the first ``limit`` shuffled rows of the data.
    rows : list of str or None
        Only these rows (default: all).
    cv : int or None
        Train every row as `cv` folds (``training.cv``); the table gives
        the mean ± standard deviation over the folds.
    ray : str or None
        Run the rows as Ray tasks (:func:`experiments.cluster.run_rows`):
        ``'local'`` on an embedded Ray on this machine, ``'auto'`` or
        ``HOST:PORT`` on that cluster. None: on the local Ray when
        ``jobs > 1``, else in this process.
    storage : str or None
        Where the Ray tasks keep the run folders: a folder every node sees
        or ``s3://BUCKET/PREFIX`` (default: `results_dir`); gathered into
        `results_dir` at the end.
    cpus_per_row, gpus_per_row : int, float or None
        A Ray task's CPUs (its ``OMP_NUM_THREADS``) and GPUs.
    estimate : dict or None
        Train nothing: log what the unfinished rows would cost on a cluster
        (the keywords of :func:`experiments.cluster.table_cost`: ``workers``,
        ``instance_type``, ``price_per_hour``).

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
        plan = OrderedDict(
            (name, {'net': table.rows[name].net,
                    'epochs': row_epochs(table_name, table.rows[name],
                                         epochs_scale)})
            for name in pending)
        if estimate is not None:
            for name, row in plan.items():
                log('%s/%s: %s for %d epochs' % (table_name, name, row['net'],
                                                 row['epochs']))
            for line in cluster.format_table_cost(cluster.table_cost(plan, **estimate)):
                log(line)
            return statuses
        if ray is None and int(jobs) == 1:
            for name in pending:
                statuses[name] = run_row(table_name, name, results_dir,
                                         epochs_scale, data, limit, seed, log,
                                         cv)
                if statuses[name] == 'interrupted':
                    log('%s: interrupted; run the same command again to '
                        'resume' % table_name)
                    break
        elif pending:
            if storage is not None and not str(storage).startswith('s3://'):
                _check_settings(table_dir(storage, table_name), settings,
                                list(table.rows))
            row_process = functools.partial(
                _run_row_process, table_name, epochs_scale=epochs_scale,
                data=data, limit=limit, seed=seed, cv=cv)
            results = cluster.run_rows(
                table_name, plan, row_process, results_dir, storage=storage,
                address=ray, jobs=int(jobs), cpus_per_row=cpus_per_row,
                gpus_per_row=gpus_per_row, log=log)
            for name, result in results.items():
                status = row_status(os.path.join(folder, name))
                statuses[name] = (status if result['rc'] == 0
                                  or status == 'failed' else 'failed')
        if pending:
            log('%s: %d rows in %.0f s'
                % (table_name, len(pending), time.time() - started))
        write_table(table_name, results_dir)
    return statuses
