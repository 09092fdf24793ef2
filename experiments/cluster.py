"""A table's rows as Ray tasks: on an embedded Ray on this machine, or on a cluster.

``python -m experiments run TABLE --ray [ADDRESS]`` (and ``--jobs N``, the same
code path on the embedded Ray) hands every unfinished row to :func:`run_rows`:

* One Ray task per row. The task runs the row in a fresh Python process
  (``experiments.runner._run_row_process``: Theano reads its flags once per
  process) with ``OMP_NUM_THREADS`` = the task's CPUs, and one GPU per row
  where the cluster has GPUs (``--gpus-per-row``).
* The row's run folder lives in a storage every node sees
  (:func:`open_storage`): a folder at the same path on every node (the
  results folder on one machine; a shared file system such as EFS on a
  cluster), or an S3 prefix, to which the node's copy is pushed at every
  checkpoint. When the table ends, the rows are gathered into
  ``results/<table>/`` and its table and pictures are written as always.
* A task whose worker or node is lost (a spot reclaim, a killed raylet) is run
  again by Ray (``max_retries``; system failures only) and the row resumes
  from its last checkpoint in the storage: the manifest's ``restarts`` says so.
  A row whose process fails by itself (bad data, a crash: exit status not 0)
  is not retried: it is reported failed with its one-line error and the other
  rows go on.
* Each task keeps ``<storage>/<table>/status/<row>.json`` up to date (node,
  attempt, epoch of the last checkpoint). The driver prints a line as a row
  starts, checkpoints and ends, with the table's ETA; ``python -m experiments
  list`` and ``show TABLE`` read the same files (:func:`running_lines`), found
  through ``results/<table>/cluster.json``.

Ray is imported only in the functions that use it.
"""
import datetime
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

from ec2.catalog import DEFAULT_INSTANCE_TYPE, SETUP_MINUTES
from ec2.plan import estimate_cost, sec_per_epoch_estimate
from errors import UserError
from paths import REPO
from run_folder import (RunFolderError, find_checkpoint, read_checkpoint_history, read_json,
                        write_json)

__all__ = ['run_rows', 'start_ray', 'open_storage', 'LocalStorage', 'S3Storage',
           'checkpoint_epoch', 'running_lines', 'table_cost', 'format_table_cost',
           'MAX_ROW_RETRIES', 'LOOPBACK']

#: Times Ray runs a row again after losing its worker or node.
MAX_ROW_RETRIES = 3
#: Seconds between two looks at the rows' checkpoints and status files.
POLL_SECONDS = float(os.environ.get('KFKD_RAY_POLL_SECONDS', '2'))
#: The embedded Ray listens on loopback only.
LOOPBACK = '127.0.0.1'
#: The embedded Ray's object store: rows pass no data through it.
LOCAL_OBJECT_STORE_BYTES = 128 * 1024 * 1024
STATUS_DIR = 'status'
LOGS_DIR = 'logs'
#: In ``results/<table>/``: where the rows of a Ray run live, for ``list``.
CLUSTER_FILE = 'cluster.json'
#: The head of ec2/ray-cluster.yaml (m5.large), on-demand us-east-1, USD/h.
HEAD_INSTANCE_TYPE = 'm5.large'
HEAD_USD_PER_HOUR = 0.096


def _now():
    return datetime.datetime.now().astimezone().isoformat(timespec='seconds')


def _write_json(obj, path):
    """Write JSON atomically (a reader never sees half a file), making its folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json(path, obj)


def _read_json(path):
    """The JSON in `path`, or None while it is absent or unreadable."""
    try:
        return read_json(path)
    except RunFolderError:
        return None


def _one_line(error, limit=300):
    """The last non-empty line of an error's text, at most `limit` long."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    line = lines[-1] if lines else type(error).__name__
    return line if len(line) <= limit else line[:limit - 3] + '...'


def checkpoint_epoch(folder):
    """checkpoint_epoch(folder)

    Epochs held by the run folder's last complete checkpoint (0: none).
    """
    checkpoint = find_checkpoint(folder)
    if checkpoint is None:
        return 0
    try:
        return len(read_checkpoint_history(checkpoint))
    except RunFolderError:
        return 0


# ------------------------------------------------------------------ storage

def open_storage(url=None, results_dir='results'):
    """open_storage(url=None, results_dir='results')

    The storage of a table's run folders: ``s3://BUCKET/PREFIX`` as an
    :class:`S3Storage`, any other string as a :class:`LocalStorage` folder,
    None as the results folder itself (one machine).

    >>> open_storage(None, '/tmp/results').url
    '/tmp/results'
    >>> open_storage('s3://my-bucket/kfkd/ray').workdir.endswith('my-bucket/kfkd/ray')
    True
    """
    if url is None:
        return LocalStorage(results_dir)
    url = os.fspath(url)
    if url.startswith('s3://'):
        return S3Storage(url)
    return LocalStorage(url)


class LocalStorage(object):
    """LocalStorage(root)

    Run folders under ``<root>/<table>/<row>/``, a folder every node sees at
    the same path: the results folder on one machine, a shared file system
    (EFS, NFS) on a cluster. Nothing to pull or push: the row's process
    writes there directly.
    """

    def __init__(self, root):
        self.root = os.path.abspath(os.fspath(root))
        self.url = self.root
        self.workdir = self.root

    def row_folder(self, table, row):
        return os.path.join(self.workdir, table, row)

    def log_path(self, table, row):
        return os.path.join(self.workdir, table, LOGS_DIR, '%s.log' % row)

    def pull(self, table, row):
        """Make the row's folder of the storage current on this node."""

    def push(self, table, row):
        """Put this node's copy of the row's folder into the storage."""

    def write_status(self, table, row, status):
        _write_json(status, os.path.join(self.root, table, STATUS_DIR,
                                         '%s.json' % row))

    def read_status(self, table, row):
        return _read_json(os.path.join(self.root, table, STATUS_DIR,
                                       '%s.json' % row))

    def read_statuses(self, table):
        """``{row: status}`` of every row with a status file."""
        folder = os.path.join(self.root, table, STATUS_DIR)
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            return {}
        statuses = {}
        for name in names:
            if name.endswith('.json'):
                status = _read_json(os.path.join(folder, name))
                if status is not None:
                    statuses[name[:-len('.json')]] = status
        return statuses

    def seed(self, table, row, results_dir):
        """Copy a row begun in the results folder into the storage, so that it
        resumes there (when the storage has no copy of its own)."""
        source = os.path.join(os.path.abspath(results_dir), table, row)
        target = self.row_folder(table, row)
        if source != target and os.path.isdir(source) and os.listdir(source) \
                and not os.path.exists(target):
            shutil.copytree(source, target)

    def gather(self, table, row, results_dir):
        """Copy the row's folder and log from the storage into the results."""
        target = os.path.join(os.path.abspath(results_dir), table, row)
        source = self.row_folder(table, row)
        if source == target or not os.path.isdir(source):
            return
        _replace_tree(source, target)
        log = self.log_path(table, row)
        if os.path.isfile(log):
            logs = os.path.join(os.path.abspath(results_dir), table, LOGS_DIR)
            os.makedirs(logs, exist_ok=True)
            shutil.copy2(log, logs)


def _replace_tree(source, target):
    """Put a copy of folder `source` at `target`, whole or not at all."""
    tmp = '%s.tmp-%d' % (target, os.getpid())
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    shutil.copytree(source, tmp)
    if os.path.exists(target):
        shutil.rmtree(target)
    os.rename(tmp, target)


class S3Storage(object):
    """S3Storage(url)

    Run folders under ``s3://BUCKET/PREFIX/<table>/<row>/``. A row trains in a
    copy on its node (``<tmp>/kfkd-ray/BUCKET/PREFIX/<table>/<row>``), pulled
    from S3 when its task starts (to resume) and pushed at every checkpoint
    and at the end; status files are objects under ``<table>/status/``.
    ``AWS_ENDPOINT_URL`` (boto3's own setting) points it at another endpoint,
    such as moto's server in the tests.
    """

    def __init__(self, url):
        rest = url[len('s3://'):]
        self.bucket, _, prefix = rest.partition('/')
        if not self.bucket:
            raise UserError('%s: no bucket; use s3://BUCKET/PREFIX' % url)
        self.prefix = prefix.strip('/')
        self.url = 's3://%s/%s' % (self.bucket, self.prefix)
        self.workdir = os.path.join(tempfile.gettempdir(), 'kfkd-ray', self.bucket,
                                    *[p for p in self.prefix.split('/') if p])
        self._client = None
        self._pushed = {}

    @property
    def client(self):
        if self._client is None:
            import boto3
            self._client = boto3.session.Session().client('s3')
        return self._client

    def _key(self, *parts):
        return '/'.join(([self.prefix] if self.prefix else []) + list(parts))

    def row_folder(self, table, row):
        return os.path.join(self.workdir, table, row)

    def log_path(self, table, row):
        return os.path.join(self.workdir, table, LOGS_DIR, '%s.log' % row)

    def _keys(self, prefix):
        keys = []
        paginator = self.client.get_paginator('list_objects_v2')
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys += [item['Key'] for item in page.get('Contents', [])]
        return keys

    def _download_tree(self, prefix, folder):
        for key in self._keys(prefix):
            path = os.path.join(folder, *key[len(prefix):].split('/'))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.client.download_file(self.bucket, key, path)

    def _upload(self, path, key):
        stat = os.stat(path)
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._pushed.get(path) != stamp:
            self.client.upload_file(path, self.bucket, key)
            self._pushed[path] = stamp

    def _upload_tree(self, folder, prefix):
        files = []
        for parent, dirs, names in os.walk(folder):
            dirs[:] = [d for d in dirs if '.tmp-' not in d]   # a checkpoint being written
            files += [os.path.join(parent, n) for n in names if '.tmp-' not in n]
        # history.json last: a checkpoint's weights reach S3 before the history
        # that declares them.
        files.sort(key=lambda p: (os.path.basename(p) == 'history.json', p))
        for path in files:
            self._upload(path, prefix + '/'.join(
                os.path.relpath(path, folder).split(os.sep)))

    def pull(self, table, row):
        folder = self.row_folder(table, row)
        if os.path.exists(folder):
            shutil.rmtree(folder)   # an older attempt's copy on this node
        self._download_tree(self._key(table, row) + '/', folder)
        log_key = self._key(table, LOGS_DIR, '%s.log' % row)
        if self._keys(log_key):
            os.makedirs(os.path.dirname(self.log_path(table, row)), exist_ok=True)
            self.client.download_file(self.bucket, log_key, self.log_path(table, row))

    def push(self, table, row):
        folder = self.row_folder(table, row)
        if os.path.isdir(folder):
            self._upload_tree(folder, self._key(table, row) + '/')
        log = self.log_path(table, row)
        if os.path.isfile(log):
            self._upload(log, self._key(table, LOGS_DIR, '%s.log' % row))

    def write_status(self, table, row, status):
        self.client.put_object(Bucket=self.bucket,
                               Key=self._key(table, STATUS_DIR, '%s.json' % row),
                               Body=json.dumps(status, sort_keys=True).encode())

    def _get_json(self, key):
        """The object's JSON, or None when there is none (or it is unreadable)."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)['Body'].read()
            return json.loads(body.decode())
        except (self.client.exceptions.NoSuchKey, ValueError):
            return None

    def read_status(self, table, row):
        return self._get_json(self._key(table, STATUS_DIR, '%s.json' % row))

    def read_statuses(self, table):
        prefix = self._key(table, STATUS_DIR) + '/'
        statuses = {}
        for key in self._keys(prefix):
            if key.endswith('.json'):
                status = self._get_json(key)
                if status is not None:
                    statuses[key[len(prefix):-len('.json')]] = status
        return statuses

    def seed(self, table, row, results_dir):
        source = os.path.join(os.path.abspath(results_dir), table, row)
        prefix = self._key(table, row) + '/'
        if os.path.isdir(source) and os.listdir(source) and not self._keys(prefix):
            self._upload_tree(source, prefix)

    def gather(self, table, row, results_dir):
        prefix = self._key(table, row) + '/'
        if not self._keys(prefix):
            return
        scratch = tempfile.mkdtemp(prefix='kfkd-gather-')
        try:
            self._download_tree(prefix, os.path.join(scratch, row))
            _replace_tree(os.path.join(scratch, row),
                          os.path.join(os.path.abspath(results_dir), table, row))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        log_key = self._key(table, LOGS_DIR, '%s.log' % row)
        if self._keys(log_key):
            logs = os.path.join(os.path.abspath(results_dir), table, LOGS_DIR)
            os.makedirs(logs, exist_ok=True)
            self.client.download_file(self.bucket, log_key,
                                      os.path.join(logs, '%s.log' % row))


# ------------------------------------------------------------------ Ray

def start_ray(address=None, num_cpus=None):
    """start_ray(address=None, num_cpus=None)

    Connect this process to Ray: without `address` (or ``'local'``) start an
    embedded Ray on this machine, on loopback only, without a dashboard,
    with `num_cpus` CPUs (default: the machine's); ``'auto'`` joins the
    cluster this machine is a node of; ``HOST:PORT`` the cluster whose head
    listens there. Ray's usage reports are off unless
    ``RAY_USAGE_STATS_ENABLED`` says otherwise.
    """
    os.environ.setdefault('RAY_USAGE_STATS_ENABLED', '0')
    import ray
    # Workers on every node import this code from the same path (ray up's
    # file_mounts put it there); Ray itself adds the driver's folder to the
    # workers' sys.path only on the driver's own node.
    path = os.pathsep.join([REPO] + ([os.environ['PYTHONPATH']]
                                     if os.environ.get('PYTHONPATH') else []))
    options = dict(log_to_driver=False, logging_level=logging.WARNING,
                   runtime_env={'env_vars': {'PYTHONPATH': path}})
    if address in (None, 'local'):
        # address='local': a new Ray even where another one runs on this machine
        ray.init(address='local', _node_ip_address=LOOPBACK, include_dashboard=False,
                 num_cpus=num_cpus, object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                 **options)
        _reap_with_this_process(os.path.basename(
            ray._private.worker._global_node.get_session_dir_path()))
    else:
        _check_reachable(address)
        try:
            ray.init(address=address, **options)
        except ConnectionError as e:
            raise UserError('no Ray cluster at %s: %s' % (address, _one_line(e)))


#: The reaper of an embedded Ray (:func:`_reap_with_this_process`): it waits
#: for the end of its stdin, then kills every process whose command line
#: names the session.
_REAPER = (
    'import os, signal, sys\n'
    'sys.stdin.buffer.read()\n'
    'needle = sys.argv[1].encode()\n'
    'for pid in os.listdir("/proc"):\n'
    '    try:\n'
    '        if pid.isdigit() and int(pid) != os.getpid() and needle in open(\n'
    '                "/proc/%s/cmdline" % pid, "rb").read():\n'
    '            os.kill(int(pid), signal.SIGKILL)\n'
    '    except OSError:\n'
    '        pass\n')

#: The pipe's write end, held open as long as this process lives.
_REAPER_PIPES = []


def _reap_with_this_process(session):
    """Make the embedded Ray of `session` end with this process, however it
    ends. Ray makes its GCS and raylet die with their driver (Linux's
    PR_SET_PDEATHSIG), but not the raylet's own children, the dashboard and
    runtime-env agents, which notice after about two minutes: a reaper in a
    session of its own reads a pipe whose only writer is this process, so
    the pipe ends when this process does (even by SIGKILL), and the reaper
    then kills what is left of the session."""
    if not os.path.isdir('/proc'):
        return
    read_end, write_end = os.pipe()  # neither inherited by Ray's processes
    try:
        subprocess.Popen([sys.executable, '-c', _REAPER, session],
                         stdin=read_end, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    finally:
        os.close(read_end)
    _REAPER_PIPES.append(write_end)


def _check_reachable(address, timeout=5.0):
    """Refuse a ``HOST:PORT`` where nothing answers, within `timeout`
    seconds: ``ray.init`` would retry for minutes before saying so.
    ``'auto'`` and ``ray://`` addresses are Ray's to resolve."""
    host, _, port = address.rpartition(':')
    if address == 'auto' or '://' in address or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise UserError('no Ray cluster at %s: nothing answers there (%s)'
                        % (address, e.strerror or 'timed out'))


def _this_node():
    import ray
    node_id = ray.get_runtime_context().get_node_id()
    return {'node': '%s (node %s)' % (ray.util.get_node_ip_address(), node_id[:8]),
            'node_id': node_id, 'host': socket.gethostname()}


def _row_task(table_name, row_name, run_row, storage_url, threads, run_id,
              poll_seconds):
    """The Ray task of one row: pull its folder, run its process, keep its
    status file and the storage's copy current, push the end.

    Returns a dict: ``row``, ``status`` (the run folder's), ``rc`` (the row
    process's exit status), ``error`` (its one-line error or None),
    ``node``, ``attempt``.
    """
    storage = open_storage(storage_url)
    node = _this_node()
    previous = storage.read_status(table_name, row_name) or {}
    attempt = (int(previous.get('attempt', 0)) + 1
               if previous.get('run') == run_id else 1)
    storage.pull(table_name, row_name)
    folder = storage.row_folder(table_name, row_name)
    resumed_from = checkpoint_epoch(folder)
    status = dict(node, row=row_name, run=run_id, attempt=attempt, state='running',
                  pid=os.getpid(), started=_now(), updated=_now(),
                  epoch=resumed_from, resumed_from=resumed_from, threads=threads)
    storage.write_status(table_name, row_name, status)
    restart = None
    if attempt > 1:
        restart = {'at': _now(), 'attempt': attempt, 'node': node['node'],
                   'host': node['host'], 'from_epoch': resumed_from,
                   'after': 'attempt %d lost its worker or node (%s)'
                            % (attempt - 1, previous.get('node', 'unknown'))}

    def poll():
        epoch = checkpoint_epoch(folder)
        if epoch != status['epoch']:
            storage.push(table_name, row_name)
            status.update(epoch=epoch, updated=_now())
            storage.write_status(table_name, row_name, status)

    _, row_state, rc, error = run_row(row_name, storage.workdir, threads,
                                      poll=poll, poll_seconds=poll_seconds,
                                      restart=restart)
    storage.push(table_name, row_name)
    status.update(state=row_state if rc == 0 else 'failed', rc=rc, error=error,
                  epoch=checkpoint_epoch(folder), updated=_now(), ended=_now())
    storage.write_status(table_name, row_name, status)
    return {'row': row_name, 'status': row_state, 'rc': rc, 'error': error,
            'node': node['node'], 'attempt': attempt}


class _Progress(object):
    """_Progress(table_name, epochs, log)

    Turns the rows' status files into lines: a row started (again), reached
    a checkpoint, ended; each with the table's ETA, from the epochs trained
    since the table started.
    """

    def __init__(self, table_name, epochs, log):
        self.table = table_name
        self.epochs = dict(epochs)
        self.log = log
        self.started = time.time()
        self.seen = {}       # row -> (attempt, epoch) last printed
        self.first = {}      # row -> epoch when first seen
        self.current = {}    # row -> epoch now
        self.ended = set()

    def eta(self):
        trained = sum(max(0, self.current[r] - self.first[r]) for r in self.current)
        left = sum(max(0, n - self.current.get(r, 0))
                   for r, n in self.epochs.items() if r not in self.ended)
        if not left:
            return 'table ETA now'
        if not trained:
            return 'table ETA unknown yet'
        seconds = left * (time.time() - self.started) / trained
        return 'table ETA %s' % _duration(seconds)

    def update(self, statuses, run_id):
        for row, status in sorted(statuses.items()):
            if row not in self.epochs or status.get('run') != run_id \
                    or row in self.ended:
                continue
            attempt, epoch = status.get('attempt', 1), int(status.get('epoch') or 0)
            self.first.setdefault(row, epoch)
            self.current[row] = max(self.current.get(row, 0), epoch)
            last = self.seen.get(row)
            if last is None or last[0] != attempt:
                again = attempt > 1
                self.log('%s/%s: started%s on %s (attempt %d)%s'
                         % (self.table, row, ' again' if again else '', status['node'],
                            attempt, ', resuming from its checkpoint at epoch %d'
                            % epoch if epoch else ''))
            elif epoch != last[1] and status.get('state') == 'running':
                self.log('%s/%s: checkpoint at epoch %d/%d on %s; %s'
                         % (self.table, row, epoch, self.epochs[row], status['node'],
                            self.eta()))
            self.seen[row] = (attempt, epoch)

    def end(self, row, result):
        self.ended.add(row)
        if result.get('rc') == 0:
            self.current[row] = self.epochs[row]
            self.first.setdefault(row, 0)
        done = len(self.ended)
        if result.get('rc') == 0:
            what = '%s on %s' % (result['status'], result.get('node', '?'))
        else:
            what = 'failed%s%s: %s' % (
                ' on %s' % result['node'] if result.get('node') else '',
                ' (exit %s)' % result['rc'] if result.get('rc') is not None else '',
                result.get('error') or 'no error message')
        self.log('%s/%s: %s; %d of %d rows ended, %s'
                 % (self.table, row, what, done, len(self.epochs), self.eta()))


def _duration(seconds):
    if seconds < 90:
        return '%.0f s' % seconds
    if seconds < 90 * 60:
        return '%.0f min' % (seconds / 60)
    return '%.1f h' % (seconds / 3600)


def run_rows(table_name, plan, run_row, results_dir, storage=None, address=None,
             jobs=1, cpus_per_row=None, gpus_per_row=None, log=print,
             poll_seconds=None):
    """run_rows(table_name, plan, run_row, results_dir, storage=None,
                 address=None, jobs=1, cpus_per_row=None, gpus_per_row=None,
                 log=print, poll_seconds=None)

    Run each row of `plan` as one Ray task, then gather the rows into
    ``<results_dir>/<table>/``.

    Parameters
    ----------
    plan : dict
        Row name -> ``{'net': name, 'epochs': epochs}``, in order.
    run_row : callable
        ``run_row(row, results_dir, threads, poll=, poll_seconds=, restart=)
        -> (row, status, rc, error)``: runs the row in a fresh process
        (``experiments.runner._run_row_process`` with the table's options).
    storage : str or None
        Where the run folders live (:func:`open_storage`); None: the results
        folder.
    address : str or None
        None or ``'local'``: an embedded Ray on this machine, `jobs` rows at
        once with ``cores // jobs`` CPUs each; ``'auto'`` or ``HOST:PORT``:
        that cluster, `cpus_per_row` CPUs (default 1) and `gpus_per_row`
        GPUs (default 1 where the cluster has GPUs now) per row.

    Returns
    -------
    dict
        Row name -> the task's result (``status``, ``rc``, ``error``,
        ``node``, ``attempt``).
    """
    local = address in (None, 'local')
    if not local and int(jobs) != 1:
        raise UserError('--jobs is for the Ray on this machine; a cluster runs as '
                        'many rows at once as its nodes hold (see --cpus-per-row)')
    if cpus_per_row is not None and int(cpus_per_row) < 1:
        raise UserError('--cpus-per-row must be at least 1, not %s' % cpus_per_row)
    if gpus_per_row is not None and float(gpus_per_row) < 0:
        raise UserError('--gpus-per-row must be at least 0, not %s' % gpus_per_row)
    poll_seconds = POLL_SECONDS if poll_seconds is None else float(poll_seconds)
    cores = os.cpu_count() or 1
    threads = int(cpus_per_row or (max(1, cores // int(jobs)) if local else 1))
    store = open_storage(storage, results_dir)
    for name in plan:
        store.seed(table_name, name, results_dir)
    run_id = uuid.uuid4().hex[:12]
    _write_json({'storage': store.url, 'ray': address or 'local', 'run': run_id,
                 'started': _now(), 'driver': socket.gethostname()},
                os.path.join(os.path.abspath(results_dir), table_name, CLUSTER_FILE))
    import ray
    start_ray(address, num_cpus=max(cores, int(jobs) * threads) if local else None)
    results = {}
    try:
        if gpus_per_row is None:
            gpus_per_row = 1 if ray.cluster_resources().get('GPU', 0) >= 1 else 0
        where = ('the local Ray' if local else 'the Ray cluster at %s' % address)
        log('%s: %d rows in %d processes (OMP_NUM_THREADS=%d each%s) on %s; run '
            'folders in %s, output in %s' % (
                table_name, len(plan), int(jobs) if local else len(plan), threads,
                ', %g GPU' % gpus_per_row if gpus_per_row else '', where, store.url,
                os.path.join(store.url, table_name, LOGS_DIR)))
        task = ray.remote(_row_task).options(
            num_cpus=threads, num_gpus=gpus_per_row, max_retries=MAX_ROW_RETRIES,
            retry_exceptions=False)
        refs = {task.remote(table_name, name, run_row, store.url, threads, run_id,
                            poll_seconds): name for name in plan}
        progress = _Progress(table_name, {n: p['epochs'] for n, p in plan.items()}, log)
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=poll_seconds)
            progress.update(store.read_statuses(table_name), run_id)
            for ref in ready:
                name = refs.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as e:
                    # Lost more often than max_retries, or the task itself broke.
                    result = {'row': name, 'status': 'failed', 'rc': None,
                              'error': _one_line(e), 'node': None}
                results[name] = result
                progress.end(name, result)
    finally:
        ray.shutdown()
    for name in results:
        store.gather(table_name, name, results_dir)
    return results


def running_lines(results_dir, table_name):
    """running_lines(results_dir, table_name)

    Lines naming the rows of the table's last Ray run that are running now,
    where, and how far (from ``results/<table>/cluster.json`` and the rows'
    status files); none when no row runs.
    """
    info = _read_json(os.path.join(results_dir, table_name, CLUSTER_FILE))
    if not info:
        return []
    try:
        statuses = open_storage(info['storage']).read_statuses(table_name)
    except Exception as e:   # S3 out of reach: say so, do not fail `list`
        return ['  %s: status unknown (%s)' % (table_name, _one_line(e))]
    lines = []
    for row, status in sorted(statuses.items()):
        if status.get('run') == info.get('run') and status.get('state') == 'running':
            lines.append('  %s/%s: running on %s, attempt %s, checkpoint at epoch %s, '
                         'last heard %s' % (table_name, row, status.get('node'),
                                            status.get('attempt'), status.get('epoch'),
                                            status.get('updated')))
    return lines


# ------------------------------------------------------------------ cost

def table_cost(plan, workers, instance_type=DEFAULT_INSTANCE_TYPE,
               price_per_hour=None, region='us-east-1'):
    """table_cost(plan, workers, instance_type='g4dn.xlarge',
                   price_per_hour=None, region='us-east-1')

    An estimate of a table on `workers` GPU workers: each row's epochs x its
    net's seconds per epoch (``ec2.plan.sec_per_epoch_estimate``: the
    study's GRID K520 figures), the rows spread evenly over the workers, each
    worker's setup (``ec2.catalog.SETUP_MINUTES``) once, workers billed
    while the table runs, plus the head.

    >>> c = table_cost({'a': {'net': 'net6', 'epochs': 1000}}, workers=1)
    >>> round(c['gpu_hours'], 2), round(c['wall_hours'], 2), round(c['usd'], 2)
    (0.84, 1.09, 0.68)
    """
    if int(workers) < 1:
        raise UserError('--workers must be at least 1, not %s' % workers)
    seconds = sum(p['epochs'] * sec_per_epoch_estimate(p['net'])[0]
                  for p in plan.values())
    rows_per_worker = -(-len(plan) // int(workers))
    longest = max([p['epochs'] * sec_per_epoch_estimate(p['net'])[0]
                   for p in plan.values()] or [0])
    wall = max(seconds / int(workers), longest) if rows_per_worker else 0.0
    hourly = estimate_cost(region, instance_type, True, None, 0, price_per_hour)
    wall_hours = (wall + SETUP_MINUTES * 60) / 3600.0
    usd = None
    if hourly['usd_per_hour'] is not None:
        usd = wall_hours * (int(workers) * hourly['usd_per_hour'] + HEAD_USD_PER_HOUR)
    return {'rows': len(plan), 'workers': int(workers), 'instance_type': instance_type,
            'gpu_hours': seconds / 3600.0, 'wall_hours': wall_hours,
            'usd_per_hour': hourly['usd_per_hour'], 'price_source': hourly['price_source'],
            'usd': usd}


def format_table_cost(cost):
    """format_table_cost(cost)

    :func:`table_cost`'s estimate as lines for the terminal.
    """
    price = ('unknown (%s)' % cost['price_source'] if cost['usd_per_hour'] is None
             else '$%.3f/h (%s)' % (cost['usd_per_hour'], cost['price_source']))
    lines = ['cost estimate (an estimate, not a quote):',
             '  %d rows, %.2f GPU-hours of training at the study\'s GRID K520 speed'
             % (cost['rows'], cost['gpu_hours']),
             '  %d x %s at %s, plus the head (%s, $%.3f/h)'
             % (cost['workers'], cost['instance_type'], price, HEAD_INSTANCE_TYPE,
                HEAD_USD_PER_HOUR),
             '  about %.2f h from submitting to the last row (setup included)%s'
             % (cost['wall_hours'], '' if cost['usd'] is None
                else ', at most $%.2f' % cost['usd'])]
    return lines
