"""ec2/transfer.py against moto's S3: checkpoints as archive + pointer, retries, verification."""
import io
import json

import pytest

from ec2_moto import BUCKET, REGION
from ec2 import aws as s3, instance, plan, transfer
from ec2.aws import Api

LAYOUT = plan.s3_layout(BUCKET, 'kfkd', 'net1-20260101-000000')


def write_checkpoint(run_dir, epoch, extra=b''):
    """A run folder as training.checkpoint leaves it: checkpoint/ with history and weights."""
    folder = run_dir / 'checkpoint'
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{'epoch': e, 'train_loss': 1.0 / e, 'valid_loss': 2.0 / e, 'dur': 0.5}
            for e in range(1, epoch + 1)]
    (folder / 'history.json').write_text(json.dumps({'epoch': epoch, 'history': rows}))
    (folder / 'weights.npz').write_bytes(b'weights of epoch %d' % epoch + extra)
    (run_dir / 'manifest.json').write_text(json.dumps({'net': 'net1', 'status': 'running'}))


class Flaky(object):
    """An Api whose calls of one operation fail ``failures`` times, then go through."""

    def __init__(self, api, operation, failures, error=None):
        self.api, self.operation, self.failures = api, operation, failures
        self.error = error or (lambda: OSError('connection reset by peer'))
        self.region, self.dry_run, self.calls = api.region, False, []

    def call(self, service, operation, **params):
        self.calls.append((operation, params.get('Key')))
        if operation == self.operation and self.failures > 0:
            self.failures -= 1
            raise self.error()
        return self.api.call(service, operation, **params)


class KilledAfter(Flaky):
    """An Api that dies (as a SIGKILL would end the process) right after one PUT of ``key``."""

    def __init__(self, api, key):
        Flaky.__init__(self, api, None, 0)
        self.key = key

    def call(self, service, operation, **params):
        answer = self.api.call(service, operation, **params)
        if operation == 'put_object' and params.get('Key') == self.key:
            raise KeyboardInterrupt('killed')
        return answer


@pytest.fixture
def api(aws):
    return Api(REGION)


def read(aws, key):
    return aws.client('s3').get_object(Bucket=BUCKET, Key=key)['Body'].read()


def test_an_upload_that_fails_twice_then_succeeds(aws, api, tmp_path):
    write_checkpoint(tmp_path, 3)
    flaky, slept, log = Flaky(api, 'put_object', 2), [], io.StringIO()
    pointer = transfer.upload_checkpoint(flaky, LAYOUT, BUCKET, str(tmp_path), epochs_total=10,
                                         delays=(1, 2, 4), sleep=slept.append, log=log)
    assert slept == [1, 2]
    assert 'failed (attempt 2 of 4): OSError: connection reset by peer' in log.getvalue()
    assert pointer['epoch'] == 3 and pointer['epochs_total'] == 10
    assert json.loads(read(aws, LAYOUT['pointer'])) == pointer
    held = s3.head(api, BUCKET, LAYOUT['archives']['a'])
    assert held == {'size': pointer['current']['size'], 'sha256': pointer['current']['sha256']}
    # The pointer is written after the archive, never before.
    keys = [key for op, key in flaky.calls if op == 'put_object']
    assert keys[-1] == LAYOUT['pointer'] and keys.count(LAYOUT['pointer']) == 1


def test_an_upload_that_keeps_failing_names_the_reason(api, tmp_path):
    write_checkpoint(tmp_path, 1)
    with pytest.raises(transfer.TransferError, match='failed 3 times; last: OSError: conn'):
        transfer.upload_checkpoint(Flaky(api, 'put_object', 99), LAYOUT, BUCKET, str(tmp_path),
                                   delays=(0, 0), sleep=lambda s: None, log=io.StringIO())


def test_a_kill_mid_upload_leaves_the_previous_checkpoint_resumable(aws, api, tmp_path):
    run_dir = tmp_path / 'run'
    quiet = dict(delays=(0,), sleep=lambda s: None, log=io.StringIO())
    for epoch in (1, 2):
        write_checkpoint(run_dir, epoch)
        transfer.upload_checkpoint(api, LAYOUT, BUCKET, str(run_dir), **quiet)
    # Epoch 3 goes to slot a (epoch 1's); the process dies once that archive is up.
    write_checkpoint(run_dir, 3)
    with pytest.raises(KeyboardInterrupt):
        transfer.upload_checkpoint(KilledAfter(api, LAYOUT['archives']['a']), LAYOUT, BUCKET,
                                   str(run_dir), **quiet)
    pointer = json.loads(read(aws, LAYOUT['pointer']))
    assert (pointer['epoch'], pointer['current']['slot']) == (2, 'b')
    # Half an archive where a non-atomic store might leave one: the pointer does not name it.
    aws.client('s3').put_object(Bucket=BUCKET, Key=LAYOUT['archives']['a'], Body=b'half a tar')
    fresh = tmp_path / 'relaunched'
    assert transfer.restore_checkpoint(api, LAYOUT, BUCKET, str(fresh), **quiet) == 2
    assert json.loads((fresh / 'checkpoint' / 'history.json').read_text())['epoch'] == 2
    assert (fresh / 'checkpoint' / 'weights.npz').read_bytes() == b'weights of epoch 2'
    assert json.loads((fresh / 'manifest.json').read_text())['net'] == 'net1'


def test_restore_verifies_the_archive_and_falls_back_to_the_previous_one(aws, api, tmp_path):
    run_dir = tmp_path / 'run'
    log = io.StringIO()
    quiet = dict(delays=(0,), sleep=lambda s: None, log=log)
    for epoch in (4, 5):
        write_checkpoint(run_dir, epoch)
        transfer.upload_checkpoint(api, LAYOUT, BUCKET, str(run_dir), **quiet)
    aws.client('s3').put_object(Bucket=BUCKET, Key=LAYOUT['archives']['b'], Body=b'bit rot')
    assert transfer.restore_checkpoint(api, LAYOUT, BUCKET, str(tmp_path / 'x'), **quiet) == 4
    assert 'checkpoint-b.tar is 7 bytes' in log.getvalue()
    aws.client('s3').put_object(Bucket=BUCKET, Key=LAYOUT['archives']['a'], Body=b'bit rot')
    with pytest.raises(transfer.TransferError, match='no usable checkpoint'):
        transfer.restore_checkpoint(api, LAYOUT, BUCKET, str(tmp_path / 'y'), **quiet)


def test_nothing_uploaded_is_a_fresh_run(api, tmp_path):
    assert transfer.restore_checkpoint(api, LAYOUT, BUCKET, str(tmp_path / 'r')) is None
    assert not (tmp_path / 'r').exists()
    out = io.StringIO()
    argv = ['restore', '--bucket', BUCKET, '--run-id', 'net1-20260101-000000', '--region',
            REGION, '--run-dir', str(tmp_path / 'r')]
    assert instance.main(argv, api=api, out=out) == instance.NOTHING
    assert out.getvalue() == 'no uploaded checkpoint: a fresh run\n'


def test_the_final_upload_verifies_every_file_and_writes_upload_json_last(aws, api, tmp_path):
    run_dir = tmp_path / 'run'
    write_checkpoint(run_dir, 2)
    (run_dir / 'history.csv').write_text('epoch,train_loss\n1,0.5\n2,0.25\n')
    (run_dir / 'pictures').mkdir()
    (run_dir / 'pictures' / 'a.png').write_bytes(b'png')
    (run_dir / 'metrics.json.tmp-123').write_text('half written')
    flaky = Flaky(api, 'head_object', 1)   # the first check fails: that file goes up again
    record = transfer.upload_run(flaky, LAYOUT, BUCKET, str(run_dir), delays=(0,),
                                 sleep=lambda s: None, log=io.StringIO())
    assert sorted(record['files']) == ['history.csv', 'manifest.json', 'pictures/a.png']
    assert record['checkpoint']['epoch'] == 2
    assert read(aws, LAYOUT['run'] + 'pictures/a.png') == b'png'
    assert json.loads(read(aws, LAYOUT['upload'])) == record
    puts = [key for op, key in flaky.calls if op == 'put_object']
    assert puts[-1] == LAYOUT['upload']
    assert puts.count(LAYOUT['archives']['a']) == 2   # put again after the failed check


def test_the_final_upload_command_fails_with_one_line(api, tmp_path, capsys):
    argv = ['final', '--bucket', BUCKET, '--run-id', 'r1', '--region', REGION,
            '--run-dir', str(tmp_path / 'missing')]
    assert instance.main(argv, api=api) == 2
    assert capsys.readouterr().err == 'error: %s does not exist: nothing to upload\n' % (
        tmp_path / 'missing')
