"""A table's rows as Ray tasks: the embedded loopback Ray, a two-node cluster that
loses the node running a row, a row that fails by itself, S3 storage, the cost.

Every Ray process listens on and dials 127.0.0.1 only: the embedded Ray is
started with ``_node_ip_address='127.0.0.1'``; the cluster's nodes get
``node_ip_address='127.0.0.1'`` and Ray's own ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``
(``ray_constants.ENABLE_RAY_CLUSTER``), which makes ``get_node_ip_address()``
answer 127.0.0.1 in every Ray process, so that connecting to the cluster does
not swap its loopback address for the machine's other interface.
"""
import csv
import json
import os
import re
import shlex
import threading
import time

import pytest

from experiments import cluster
from experiments.__main__ import list_tables, main, parser
from experiments.runner import row_status, run_table

LIMIT = 40       # synthetic faces: 32 train / 8 valid
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def readme_commands():
    """The argv of every ``python -m experiments`` command of README's "Many machines"."""
    with open(os.path.join(REPO, 'README.md')) as f:
        text = f.read()
    section = re.search(r'^## Many machines\n(.*?)(?=^## |\Z)', text, re.M | re.S).group(1)
    blocks = '\n'.join(re.findall(r'```\w*\n(.*?)```', section, re.S))
    return [shlex.split(command) for command in
            re.findall(r"python -m experiments ([^\n']+)", blocks)]


def readme_command(*start):
    found = [argv for argv in readme_commands() if argv[:len(start)] == list(start)]
    assert len(found) == 1, (start, readme_commands())
    return found[0]


@pytest.fixture(autouse=True)
def quiet_fast_ray(monkeypatch):
    monkeypatch.setenv('RAY_USAGE_STATS_ENABLED', '0')
    monkeypatch.setattr(cluster, 'POLL_SECONDS', 0.2)


def _history_epochs(folder):
    with open(os.path.join(folder, 'history.csv'), newline='') as f:
        return [int(row['epoch']) for row in csv.DictReader(f)]


def _table_csv(results, table):
    with open(os.path.join(str(results), table, 'table.csv'), newline='') as f:
        return {r['row']: r for r in csv.DictReader(f)}


def _row_processes(marker, row=None):
    """Pids of live row processes (``run-row``) whose command line holds
    `marker`, and runs `row` of hidden_units when given."""
    pids = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmdline = f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
            with open('/proc/%s/stat' % pid) as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and ' run-row ' in cmdline and state != 'Z' and (
                row is None or ' run-row hidden_units %s ' % row in cmdline):
            pids.append(int(pid))
    return pids


def _row_with_foreign_checkpoint(results, table, row):
    """A row begun on other data: resuming it fails by itself (exit 2)."""
    folder = results / table / row
    (folder / 'checkpoint').mkdir(parents=True)
    (folder / 'manifest.json').write_text(json.dumps({
        'net': 'net1', 'net_overrides': {'hidden_num_units': int(row)},
        'status': 'running', 'seed': 42, 'batch_size': 128, 'checkpoint_every': 10,
        'preprocess': 'none', 'labels': 'complete', 'epochs_requested': 3,
        'data': {'path': 'synthetic', 'sha256': '0' * 64, 'limit': LIMIT}}))
    (folder / 'checkpoint' / 'history.json').write_text(json.dumps(
        {'epoch': 1, 'history': [{'epoch': 1, 'train_loss': 0.1, 'valid_loss': 0.1,
                                  'dur': 0.1}]}))
    return folder


def test_local_ray_runs_the_table_and_a_bad_row_fails_once(tmp_path, capsys):
    bad = _row_with_foreign_checkpoint(tmp_path, 'hidden_units', '300')
    # README's command (the embedded Ray: --ray without ADDRESS; 0.002 x 1000 = 2 epochs a
    # row), on three rows of a few dozen faces, two at once
    argv = readme_command('run', 'hidden_units', '--ray')
    assert main(argv + ['--rows', '100,200,300', '--limit', str(LIMIT), '--jobs', '2',
                        '--out', str(tmp_path)]) == 1
    log = capsys.readouterr().out.splitlines()
    assert log[-1].startswith('hidden_units: 100 completed, 200 completed, 300 failed -> ')
    for row in ('100', '200'):
        assert _history_epochs(tmp_path / 'hidden_units' / row) == [1, 2]
    failed = [line for line in log if line.startswith('hidden_units/300: failed')]
    assert len(failed) == 1, log
    assert 'is not the data the run used' in failed[0]
    assert '(exit 2)' in failed[0]
    # not retried: one attempt, one error in the row's log
    status = json.loads((tmp_path / 'hidden_units' / 'status' / '300.json').read_text())
    assert (status['attempt'], status['state'], status['rc']) == (1, 'failed', 2)
    row_log = (tmp_path / 'hidden_units' / 'logs' / '300.log').read_text()
    assert row_log.count('error: ') == 1
    manifest = json.loads((bad / 'manifest.json').read_text())
    assert manifest['status'] == 'failed'
    assert 'is not the data the run used' in manifest['error']
    records = _table_csv(tmp_path, 'hidden_units')
    assert records['300']['epochs run'] == 'failed'
    assert records['100']['epochs run'] == '2'
    assert (tmp_path / 'hidden_units' / 'table.md').stat().st_size > 0
    assert any('started on 127.0.0.1' in line for line in log)
    assert any('checkpoint at epoch 2/2' in line and 'table ETA' in line
               for line in log)
    assert not _row_processes(str(tmp_path))


@pytest.fixture
def loopback_cluster(monkeypatch):
    """A head without CPUs and two one-CPU worker nodes, all on 127.0.0.1."""
    monkeypatch.setenv('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster
    monkeypatch.setattr(ray_constants, 'ENABLE_RAY_CLUSTER', False)
    ray_cluster = Cluster(initialize_head=True, head_node_args={
        'node_ip_address': cluster.LOOPBACK, 'num_cpus': 0, 'include_dashboard': False})
    for _ in range(2):
        ray_cluster.add_node(node_ip_address=cluster.LOOPBACK, num_cpus=1)
    yield ray_cluster
    ray_cluster.shutdown()


def test_cluster_loses_the_node_running_a_row_and_the_row_resumes(
        tmp_path, loopback_cluster):
    from ray._private import worker
    results, storage = tmp_path / 'results', tmp_path / 'shared'
    rows = ['800', '900', '1000']
    seen = {}

    def lose_a_node():
        """Remove the node of the first row past its first checkpoint (not the
        node the driver is attached to: all nodes share 127.0.0.1, and Ray
        attaches the driver to any of them)."""
        deadline = time.time() + 240
        while time.time() < deadline:
            for row in rows:
                folder = str(storage / 'hidden_units' / row)
                status = cluster.LocalStorage(str(storage)).read_status('hidden_units', row)
                if not (status and status['state'] == 'running'
                        and 10 <= cluster.checkpoint_epoch(folder) < 40):
                    continue
                socket_name, = [n['RayletSocketName'] for n in
                                loopback_cluster.global_state.node_table()
                                if n['NodeID'] == status['node_id']]
                driver = worker._global_node
                if driver is None or socket_name == driver.raylet_socket_name:
                    continue
                node, = [n for n in loopback_cluster.worker_nodes
                         if n.raylet_socket_name == socket_name]
                seen['listed'] = list_tables(str(results))
                seen['row'] = row
                seen['pids'] = _row_processes(str(storage), row)
                loopback_cluster.remove_node(node, allow_graceful=False)
                time.sleep(3)
                seen['left'] = [p for p in seen['pids']
                                if p in _row_processes(str(storage), row)]
                return
            time.sleep(0.05)

    killer = threading.Thread(target=lose_a_node)
    killer.start()
    log = []
    try:
        # 0.05 x 1000 = 50 epochs a row, a checkpoint every 10
        statuses = run_table('hidden_units', str(results), epochs_scale=0.05,
                             data='synthetic', limit=LIMIT, rows=rows,
                             ray=loopback_cluster.address, storage=str(storage),
                             log=lambda line: (log.append(line), print(line, flush=True)))
    finally:
        killer.join()
    assert 'row' in seen, 'no row reached a checkpoint while running: %s' % log
    row = seen['row']
    assert statuses == {r: 'completed' for r in rows}, log
    for name in rows:
        assert _history_epochs(results / 'hidden_units' / name) == list(range(1, 51))
        assert row_status(str(results / 'hidden_units' / name)) == 'completed'
    manifest = json.loads((results / 'hidden_units' / row / 'manifest.json').read_text())
    restart, = manifest['restarts']
    assert restart['attempt'] == 2 and restart['from_epoch'] >= 10
    assert manifest['sessions'][-1]['epochs'] == [restart['from_epoch'] + 1, 50]
    assert any(line.startswith('hidden_units/%s: started again' % row)
               and 'resuming from its checkpoint at epoch %d' % restart['from_epoch']
               in line for line in log), log
    assert any('hidden_units/%s: running on 127.0.0.1' % row in line
               for line in seen['listed']), seen['listed']
    # the lost node's training process died with it; none is left at all
    assert seen['pids'] and not seen['left']
    assert not _row_processes(str(tmp_path))


def test_rows_live_in_s3_and_are_gathered(tmp_path, monkeypatch):
    import boto3
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for key in [k for k in os.environ if k.startswith('AWS_')]:
            monkeypatch.delenv(key)
        monkeypatch.setenv('AWS_ENDPOINT_URL', 'http://%s:%d' % (host, port))
        monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
        monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing')
        monkeypatch.setenv('AWS_DEFAULT_REGION', 'us-east-1')
        monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')
        s3 = boto3.session.Session().client('s3')
        s3.create_bucket(Bucket='kfkd-test-bucket')
        results = tmp_path / 'results'
        statuses = run_table('hidden_units', str(results), epochs_scale=0.002,
                             data='synthetic', limit=LIMIT, rows=['100'], ray='local',
                             storage='s3://kfkd-test-bucket/kfkd/ray',
                             log=lambda line: None)
        keys = {item['Key'] for item in s3.list_objects_v2(
            Bucket='kfkd-test-bucket', Prefix='kfkd/ray/')['Contents']}
    finally:
        server.stop()
    assert statuses == {'100': 'completed'}
    assert {'kfkd/ray/hidden_units/100/manifest.json',
            'kfkd/ray/hidden_units/100/checkpoint/history.json',
            'kfkd/ray/hidden_units/status/100.json',
            'kfkd/ray/hidden_units/logs/100.log'} <= keys
    assert _history_epochs(results / 'hidden_units' / '100') == [1, 2]
    assert (results / 'hidden_units' / 'logs' / '100.log').stat().st_size > 0
    assert _table_csv(results, 'hidden_units')['100']['epochs run'] == '2'


def test_dry_run_prints_the_rows_and_their_cost(capsys, tmp_path):
    argv = readme_command('run', 'conv_nets', '--dry-run')
    assert argv == ['run', 'conv_nets', '--dry-run', '--workers', '4']
    assert main(argv + ['--out', str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert 'conv_nets/cnet_nplfxl: cnet_nplfxl for 1000 epochs' in out
    assert out[-4] == 'cost estimate (an estimate, not a quote):'
    assert out[-2].startswith('  4 x g4dn.xlarge at $0.526/h')
    assert not os.path.exists(str(tmp_path / 'conv_nets' / 'cnet_nplfxl'))


def test_table_cost_spreads_rows_over_workers():
    plan = {'a': {'net': 'net6', 'epochs': 1000}, 'b': {'net': 'net6', 'epochs': 1000}}
    one, two = cluster.table_cost(plan, 1), cluster.table_cost(plan, 2)
    assert round(one['gpu_hours'], 3) == round(2 * 1000 * 3.01 / 3600, 3)
    assert two['wall_hours'] < one['wall_hours']
    assert two['usd'] == pytest.approx(two['wall_hours'] * (2 * 0.526 + 0.096))


@pytest.mark.parametrize('argv, message', [
    (['--ray', 'auto', '--jobs', '2'], '--jobs is for the Ray on this machine'),
    (['--ray', '--cpus-per-row', '0'], '--cpus-per-row must be at least 1'),
])
def test_ray_option_errors(capsys, tmp_path, argv, message):
    assert main(['run', 'hidden_units', '--rows', '100', '--data', 'synthetic',
                 '--out', str(tmp_path)] + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err


def test_readme_commands_parse_and_the_cluster_run_is_the_tested_path():
    commands = readme_commands()
    assert len(commands) == 5, commands
    for argv in commands:
        parser().parse_args(argv)          # an unknown option exits
    on_cluster = parser().parse_args(readme_command('run', 'conv_nets', '--ray'))
    # the options test_cluster_loses_the_node_running_a_row_and_the_row_resumes and
    # test_rows_live_in_s3_and_are_gathered give run_table
    assert on_cluster.ray == 'auto' and on_cluster.gpus_per_row == 1
    assert on_cluster.storage == 's3://my-kfkd-bucket/kfkd/ray'
    jobs = parser().parse_args(readme_command('run', 'hidden_units', '--jobs'))
    assert (jobs.jobs, jobs.ray) == (2, None)
    assert readme_command('list')[:2] == ['list', '--out']


def _session_processes(session):
    """Pids of live processes whose command line names the Ray session."""
    pids = []
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                named = session.encode() in f.read()
            with open('/proc/%s/stat' % pid) as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
        except OSError:
            continue
        if pid.isdigit() and named and state != 'Z':
            pids.append(int(pid))
    return pids


def test_an_embedded_ray_ends_with_its_driver_killed_by_sigkill(tmp_path):
    import signal
    import subprocess
    import sys
    from tests.conftest import REPO
    driver = ('import sys, time\n'
              'from experiments.cluster import start_ray\n'
              'start_ray(num_cpus=1)\n'
              'import ray\n'
              'print(ray._private.worker._global_node.get_session_dir_path(), '
              'flush=True)\n'
              'time.sleep(300)\n')
    proc = subprocess.Popen([sys.executable, '-c', driver], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        session = os.path.basename(proc.stdout.readline().strip())
        assert session.startswith('session_')
        # Ray's processes, the raylet's agents among them, are up.
        deadline = time.time() + 60
        while len(_session_processes(session)) < 5 and time.time() < deadline:
            time.sleep(0.5)
        assert len(_session_processes(session)) >= 5
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.time() + 15
    while _session_processes(session) and time.time() < deadline:
        time.sleep(0.5)
    assert _session_processes(session) == []
