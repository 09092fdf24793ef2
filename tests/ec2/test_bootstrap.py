"""ec2/bootstrap.sh for real, minus the GPU: ``--cpu`` on this machine, S3 and EC2 on moto.

The user-data the launcher rendered for a moto instance runs here: it reads
the code and data from S3, installs the environment with ec2/install_env.sh
(a venv), runs the self-test (ec2/check_device.py) on net1, trains a few
faces, uploads the run (archive, pointer, files, upload.json, all verified);
the launcher then fetches it back. A spot notice from a fake IMDS makes the
instance checkpoint and start its successor, whose user-data then continues
the run. These run in the default suite: net1, 64 faces, an epoch or a few.
"""
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import sysconfig
import threading
import time

import pytest

from ec2_moto import AMI_PARAMETER, BUCKET, REGION, run_id_of, user_data_of
from ec2 import launcher
from tests.conftest import REPO


def needs_bootstrap_pieces():
    import shutil
    if shutil.which('aws') is None:
        pytest.skip('needs the AWS CLI on PATH (the Deep Learning AMI has it)')


@pytest.fixture(scope='module')
def shared_venv(tmp_path_factory):
    """A venv that sees this interpreter's packages, so pip installs nothing.

    ec2/install_env.sh reuses the environment it finds complete (its
    kfkd-env.sh names the same requirements), as after a reboot; the tests
    share this one, so only the first bootstrap runs pip.
    """
    folder = tmp_path_factory.mktemp('bootstrap') / 'env'
    subprocess.run([sys.executable, '-m', 'venv', str(folder)], check=True)
    site = subprocess.run([str(folder / 'bin' / 'python'), '-c',
                           'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                          capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(site, 'kfkd-parent-venv.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    return folder


def instance_folder(tmp_path, name, venv):
    folder = tmp_path / name
    folder.mkdir()
    os.symlink(str(venv), str(folder / 'env'))
    return folder


def launch_and_get_user_data(aws, capsys, tmp_path, epochs='1', *argv):
    from data_prep.synthetic import write_kaggle_csv
    write_kaggle_csv(str(tmp_path / 'training.csv'), 120, seed=3)
    status = launcher.main(['net1', '--epochs', epochs, '--bucket', BUCKET, '--region', REGION,
                            '--ami-parameter', AMI_PARAMETER,
                            '--upload-data', str(tmp_path)] + list(argv))
    out = capsys.readouterr().out
    assert status == 0, out
    run_id = run_id_of(out)
    [instance] = live_instances(aws, run_id)
    user_data = tmp_path / 'user-data.sh'
    user_data.write_text(user_data_of(aws, instance['InstanceId']))
    return run_id, user_data


def live_instances(aws, run_id):
    answer = aws.client('ec2').describe_instances(Filters=[
        {'Name': 'tag:kfkd:run', 'Values': [run_id]},
        {'Name': 'instance-state-name', 'Values': ['pending', 'running']}])
    return [i for r in answer['Reservations'] for i in r['Instances']]


def run_bootstrap(user_data, workdir, timeout=600, theano_flags='', **env):
    """Run the user-data with ``--cpu``; on a time-out, end it and all it started."""
    # The project's compile cache: a fresh one would compile for minutes.
    flags = 'base_compiledir=%s%s' % (os.path.join(REPO, '.theano'), theano_flags)
    environment = dict(os.environ, KFKD_BASE_PYTHON=sys.executable, KFKD_THEANO_FLAGS=flags,
                       KFKD_LOG_SECONDS='2', KFKD_RETRY_DELAYS='0.2,0.2', **env)
    process = subprocess.Popen(['bash', str(user_data), '--cpu', '--workdir', str(workdir)],
                               env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output = process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, output, '')


def read_s3(aws, key):
    return aws.client('s3').get_object(Bucket=BUCKET, Key=key)['Body'].read().decode()


def test_bootstrap_trains_uploads_verified_and_the_launcher_fetches(
        aws, capsys, tmp_path, shared_venv):
    needs_bootstrap_pieces()
    run_id, user_data = launch_and_get_user_data(aws, capsys, tmp_path, '1', '--', '--limit',
                                                 '64')
    workdir = instance_folder(tmp_path, 'instance', shared_venv)
    result = run_bootstrap(user_data, workdir)
    log = (workdir / 'bootstrap.log').read_text()
    assert result.returncode == 0, log[-3000:]
    assert result.stdout.startswith('kfkd: no power-off scheduled (--cpu)\n')
    assert 'device check passed: device=cpu net=net1' in log
    prefix = 'kfkd/runs/%s/' % run_id
    assert read_s3(aws, prefix + 'ec2/status.txt').split(' ', 1)[1].startswith('done: ')
    assert 'training finished' in read_s3(aws, prefix + 'ec2/bootstrap.log')
    # The self-test's report went up before training.
    device = json.loads(read_s3(aws, prefix + 'ec2/device.json'))
    assert device['passed'] and device['device'] == 'cpu' and device['s_per_batch'] > 0
    assert device['placement']['host'] and device['epochs'] == 1
    # The checkpoint as one archive and a pointer; every file verified in upload.json.
    pointer = json.loads(read_s3(aws, prefix + 'ec2/checkpoint.json'))
    assert pointer['epoch'] == 1 and pointer['current']['slot'] == 'a'
    upload = json.loads(read_s3(aws, prefix + 'ec2/upload.json'))
    assert {'manifest.json', 'history.csv', 'weights.npz'} <= set(upload['files'])
    assert not any(name.startswith('checkpoint') for name in upload['files'])

    dest = tmp_path / 'fetched'
    assert launcher.main(['fetch', run_id, '--bucket', BUCKET, '--dest', str(dest)]) == 0
    assert 'checkpoint of epoch 1, verified against ec2/upload.json' in capsys.readouterr().out
    manifest = json.loads((dest / 'manifest.json').read_text())
    assert manifest['net'] == 'net1' and manifest['status'] == 'completed'
    history = (dest / 'history.csv').read_text().strip().splitlines()
    assert history[0].startswith('epoch,train_loss,valid_loss') and len(history) == 2
    assert (dest / 'weights.npz').stat().st_size > 0
    assert json.loads((dest / 'checkpoint' / 'history.json').read_text())['epoch'] == 1
    assert not (dest / 'ec2' / 'checkpoint-a.tar').exists()
    # (Resuming from that checkpoint on a new instance: the spot test below.)


def test_bootstrap_stops_with_a_clear_message_when_the_device_is_wrong(
        aws, capsys, tmp_path, shared_venv):
    needs_bootstrap_pieces()
    run_id, user_data = launch_and_get_user_data(aws, capsys, tmp_path)
    workdir = instance_folder(tmp_path, 'instance', shared_venv)
    # device=cuda on a machine without one: Theano cannot use it, the check must say so.
    result = run_bootstrap(user_data, workdir, theano_flags=',device=cuda')
    assert result.returncode != 0
    log = (workdir / 'bootstrap.log').read_text()
    assert "error: Theano is on device 'cuda', not cpu" in log
    assert 'ERROR: Theano does not compute on the cpu device' in log
    assert 'run_experiment.py' not in log.split('ERROR:')[1]
    status = read_s3(aws, 'kfkd/runs/%s/ec2/status.txt' % run_id)
    assert "failed at step 'device check'" in status
    assert json.loads(read_s3(aws, 'kfkd/runs/%s/ec2/device.json' % run_id))['passed'] is False
    assert 'ERROR: Theano does not compute' in read_s3(aws, 'kfkd/runs/%s/ec2/bootstrap.log'
                                                       % run_id)


class SpotNotice(http.server.BaseHTTPRequestHandler):
    """IMDSv2 on 127.0.0.1: a token, then the interruption notice once armed."""
    armed = threading.Event()
    seen_tokens = []

    def do_PUT(self):
        assert self.path == '/latest/api/token'
        assert self.headers['X-aws-ec2-metadata-token-ttl-seconds']
        self._answer(200, 'token-123')

    def do_GET(self):
        SpotNotice.seen_tokens.append(self.headers.get('X-aws-ec2-metadata-token'))
        if self.path == '/latest/meta-data/spot/instance-action' and SpotNotice.armed.is_set():
            self._answer(200, '{"action": "terminate", "time": "2026-01-01T00:02:00Z"}')
        else:
            self._answer(404, 'not found')

    def _answer(self, code, body):
        self.send_response(code)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def when(condition, timeout=300):
    """Run ``condition`` in a thread once, as soon as it returns something true."""
    def wait():
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return
            time.sleep(0.3)
    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread


def test_spot_notice_checkpoints_relaunches_and_the_successor_continues(aws, capsys, tmp_path,
                                                                        shared_venv):
    needs_bootstrap_pieces()
    run_id, user_data = launch_and_get_user_data(
        aws, capsys, tmp_path, '100000', '--', '--limit', '64', '--checkpoint-every', '5')
    [first] = live_instances(aws, run_id)
    workdir = instance_folder(tmp_path, 'instance', shared_venv)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), SpotNotice)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    SpotNotice.armed.clear()
    # The notice comes once training has written its first checkpoint.
    when(lambda: list(workdir.glob('runs/*/checkpoint/history.json'))
         and (SpotNotice.armed.set() or True))
    try:
        result = run_bootstrap(user_data, workdir, KFKD_IMDS='http://127.0.0.1:%d'
                               % server.server_address[1], KFKD_POLL_SECONDS='1')
    finally:
        server.shutdown()
    log = (workdir / 'bootstrap.log').read_text()
    assert result.returncode == 0, log[-3000:]
    assert 'spot interruption notice' in log and 'token-123' in SpotNotice.seen_tokens
    prefix = 'kfkd/runs/%s/' % run_id
    manifest = json.loads(read_s3(aws, prefix + 'manifest.json'))
    assert manifest['status'] == 'interrupted' and 0 < manifest['epochs_run'] < 100000
    pointer = json.loads(read_s3(aws, prefix + 'ec2/checkpoint.json'))
    assert pointer['epoch'] == manifest['epochs_run']

    # The instance started its successor itself: same options, same deadline, restart 1.
    status = read_s3(aws, prefix + 'ec2/status.txt')
    [successor] = [i for i in live_instances(aws, run_id)
                   if i['InstanceId'] != first['InstanceId']]
    assert 'interrupted by spot' in status and successor['InstanceId'] in status
    assert '(restart 1 of 3)' in status
    attempts = json.loads(read_s3(aws, prefix + 'ec2/attempts.json'))['attempts']
    assert [a['kind'] for a in attempts] == ['launch', 'spot-relaunch']
    assert attempts[1]['instance_id'] == successor['InstanceId']
    assert attempts[1]['deadline'] == attempts[0]['deadline'] and attempts[0]['ended_at']
    assert successor['InstanceType'] == 'g4dn.xlarge'
    second = user_data_of(aws, successor['InstanceId'])
    settings = [ln for ln in user_data.read_text().splitlines() if ln.startswith('KFKD_')]
    assert [ln for ln in second.splitlines() if ln.startswith('KFKD_')] == settings
    minutes = [int(re.search(r'shutdown -h \+(\d+)', text).group(1))
               for text in (user_data.read_text(), second)]
    assert minutes[1] <= minutes[0]

    # The successor's user-data continues the run from that checkpoint (two more epochs,
    # as `ec2/launch resume --epochs` would set).
    done = manifest['epochs_run']
    second_data = tmp_path / 'successor.sh'
    second_data.write_text(second.replace('\nKFKD_EPOCHS=100000\n', '\nKFKD_EPOCHS=%d\n'
                                          % (done + 2)))
    workdir2 = instance_folder(tmp_path, 'successor', shared_venv)
    result = run_bootstrap(second_data, workdir2)
    log = (workdir2 / 'bootstrap.log').read_text()
    assert result.returncode == 0, log[-3000:]
    assert 'restored the checkpoint of epoch %d (verified)' % done in log
    manifest = json.loads(read_s3(aws, prefix + 'manifest.json'))
    assert manifest['status'] == 'completed' and manifest['epochs_run'] == done + 2
    assert read_s3(aws, prefix + 'ec2/status.txt').split(' ', 1)[1].startswith('done: ')


def test_a_final_upload_that_cannot_succeed_says_upload_failed_and_keeps_the_run(
        aws, capsys, tmp_path, shared_venv):
    needs_bootstrap_pieces()
    run_id, user_data = launch_and_get_user_data(aws, capsys, tmp_path, '1', '--', '--limit',
                                                 '64')
    workdir = instance_folder(tmp_path, 'instance', shared_venv)
    s3 = aws.client('s3')

    def remove_the_bucket():
        # Training has written its weights: the bucket goes away before the final upload.
        if not list(workdir.glob('runs/*/weights.npz')):
            return False
        for key in [c['Key'] for c in s3.list_objects_v2(Bucket=BUCKET).get('Contents', [])]:
            s3.delete_object(Bucket=BUCKET, Key=key)
        s3.delete_bucket(Bucket=BUCKET)
        return True
    remover = when(remove_the_bucket)
    result = run_bootstrap(user_data, workdir)
    remover.join(1)
    log = (workdir / 'bootstrap.log').read_text()
    assert result.returncode == 3, log[-3000:]
    status = (workdir / 'status.txt').read_text()
    assert status.split(' ', 1)[1].startswith('upload-failed: ')
    assert 'NoSuchBucket' in status and 'stays on this instance until the cost cap' in status
    assert 'done:' not in log
    run_dir = workdir / 'runs' / run_id
    assert (run_dir / 'weights.npz').is_file() and (run_dir / 'history.csv').is_file()
