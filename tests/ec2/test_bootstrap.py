"""ec2/bootstrap.sh for real, minus the GPU: ``--cpu`` on this machine, S3 on moto.

The user-data the launcher rendered for a moto instance runs here: it reads
the code and data from S3, installs requirements.txt with pip, checks Theano's
device, trains net1 for one epoch, uploads the run folder; the launcher then
fetches it back.
"""
import base64
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading

import pytest

from ec2_moto import AMI_PARAMETER, BUCKET, REGION
from ec2 import launcher
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def needs_bootstrap_pieces():
    if not os.path.isfile(os.path.join(REPO, 'run_experiment.py')):
        pytest.skip('run_experiment.py is not there yet (being written by the nets/training work)')
    if not os.path.isfile(os.path.join(REPO, 'requirements.txt')):
        pytest.skip('requirements.txt is not there yet')
    if shutil.which('aws') is None:
        pytest.skip('needs the AWS CLI on PATH (the Deep Learning AMI has it)')


@pytest.fixture(scope='module')
def shared_venv(tmp_path_factory):
    """A venv that sees this interpreter's packages, so pip installs only what differs.

    The bootstrap reuses the venv it finds in its work folder (as after a
    reboot); the tests share this one so pip downloads the differences once.
    """
    folder = tmp_path_factory.mktemp('bootstrap') / 'venv'
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
    os.symlink(str(venv), str(folder / 'venv'))
    return folder


def launch_and_get_user_data(aws, capsys, tmp_path, *argv):
    from data_prep.synthetic import write_kaggle_csv
    write_kaggle_csv(str(tmp_path / 'training.csv'), 120, seed=3)
    status = launcher.main(['net1', '--epochs', '1', '--bucket', BUCKET, '--region', REGION,
                            '--ami-parameter', AMI_PARAMETER,
                            '--upload-data', str(tmp_path)] + list(argv))
    out = capsys.readouterr().out
    assert status == 0, out
    run_id = [l for l in out.splitlines() if l.startswith('launched run ')][0].split()[2].rstrip(':')
    ec2 = aws.client('ec2')
    [reservation] = ec2.describe_instances(Filters=[
        {'Name': 'tag:kfkd:run', 'Values': [run_id]}])['Reservations']
    instance_id = reservation['Instances'][0]['InstanceId']
    value = ec2.describe_instance_attribute(InstanceId=instance_id,
                                            Attribute='userData')['UserData']['Value']
    user_data = tmp_path / 'user-data.sh'
    user_data.write_bytes(base64.b64decode(value))
    return run_id, user_data


def run_bootstrap(user_data, workdir, timeout=900, theano_flags='', **env):
    """Run the user-data with ``--cpu``; on a time-out, end it and all it started."""
    # The project's compile cache: a fresh one would compile for minutes.
    flags = 'base_compiledir=%s%s' % (os.path.join(REPO, '.theano'), theano_flags)
    environment = dict(os.environ, KFKD_BASE_PYTHON=sys.executable, KFKD_THEANO_FLAGS=flags,
                       **env)
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


def test_bootstrap_trains_uploads_and_the_launcher_fetches(aws, capsys, tmp_path, shared_venv):
    needs_bootstrap_pieces()
    run_id, user_data = launch_and_get_user_data(aws, capsys, tmp_path, '--', '--limit', '64')
    workdir = instance_folder(tmp_path, 'instance', shared_venv)
    result = run_bootstrap(user_data, workdir)
    log = (workdir / 'bootstrap.log').read_text()
    assert result.returncode == 0, log[-3000:]
    assert 'device check passed: device=cpu' in log
    prefix = 'kfkd/runs/%s/' % run_id
    assert read_s3(aws, prefix + 'ec2/status.txt').split(' ', 1)[1].startswith('done: ')
    assert 'training finished' in read_s3(aws, prefix + 'ec2/bootstrap.log')

    dest = tmp_path / 'fetched'
    assert launcher.main(['fetch', run_id, '--bucket', BUCKET, '--dest', str(dest)]) == 0
    manifest = json.loads((dest / 'manifest.json').read_text())
    assert manifest['net'] == 'net1' and manifest['status'] == 'completed'
    history = (dest / 'history.csv').read_text().strip().splitlines()
    assert history[0].startswith('epoch,train_loss,valid_loss') and len(history) == 2
    assert (dest / 'weights.npz').stat().st_size > 0
    assert (dest / 'checkpoint' / 'history.json').is_file()
    # A relaunch of the same run finds that checkpoint and resumes from it.
    # (as `ec2/launch resume RUN --epochs 2` renders it)
    workdir2 = instance_folder(tmp_path, 'instance2', shared_venv)
    user_data.write_text(user_data.read_text().replace('\nKFKD_EPOCHS=1\n', '\nKFKD_EPOCHS=2\n'))
    result = run_bootstrap(user_data, workdir2)
    log = (workdir2 / 'bootstrap.log').read_text()
    assert result.returncode == 0, log[-3000:]
    assert 'found an uploaded checkpoint: resuming from it' in log
    history = read_s3(aws, prefix + 'history.csv').strip().splitlines()
    assert len(history) == 3


def test_bootstrap_stops_with_a_clear_message_when_the_device_is_wrong(aws, capsys, tmp_path, shared_venv):
    needs_bootstrap_pieces()
    run_id, user_data = launch_and_get_user_data(aws, capsys, tmp_path)
    workdir = instance_folder(tmp_path, 'instance', shared_venv)
    # device=cuda on a machine without one: Theano cannot use it, the check must say so.
    result = run_bootstrap(user_data, workdir, theano_flags=',device=cuda')
    assert result.returncode != 0
    log = (workdir / 'bootstrap.log').read_text()
    assert 'ERROR: Theano does not compute on the cpu device' in log
    assert 'run_experiment.py' not in log.split('ERROR:')[1]
    status = read_s3(aws, 'kfkd/runs/%s/ec2/status.txt' % run_id)
    assert "failed at step 'device check'" in status


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


def test_spot_notice_checkpoints_and_uploads_at_once(aws, capsys, tmp_path, shared_venv):
    needs_bootstrap_pieces()
    run_id, user_data = launch_and_get_user_data(
        aws, capsys, tmp_path, '--', '--limit', '64', '--epochs', '100000',
        '--checkpoint-every', '5')
    workdir = instance_folder(tmp_path, 'instance', shared_venv)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), SpotNotice)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    SpotNotice.armed.clear()

    def arm_when_training():
        # Arm the notice once training has written its first checkpoint.
        for _ in range(1200):
            if list(workdir.glob('runs/*/checkpoint/history.json')):
                SpotNotice.armed.set()
                return
            threading.Event().wait(0.5)
    threading.Thread(target=arm_when_training, daemon=True).start()
    try:
        result = run_bootstrap(user_data, workdir, timeout=400, KFKD_IMDS='http://127.0.0.1:%d'
                               % server.server_address[1], KFKD_POLL_SECONDS='1')
    finally:
        server.shutdown()
    log = (workdir / 'bootstrap.log').read_text()
    assert result.returncode == 0, log[-3000:]
    assert 'spot interruption notice' in log
    assert 'token-123' in SpotNotice.seen_tokens
    prefix = 'kfkd/runs/%s/' % run_id
    assert 'interrupted by spot' in read_s3(aws, prefix + 'ec2/status.txt')
    manifest = json.loads(read_s3(aws, prefix + 'manifest.json'))
    assert manifest['status'] == 'interrupted'
    assert 0 < manifest['epochs_run'] < 100000
    assert json.loads(read_s3(aws, prefix + 'checkpoint/history.json'))['epoch'] == \
        manifest['epochs_run']
