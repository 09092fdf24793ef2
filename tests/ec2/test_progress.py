"""ec2/progress.py on moto: status while a run trains, its log, fetching it."""
import datetime
import io
import json

from ec2_moto import BUCKET, REGION, launch, put_data, run_id_of, start_argv
from ec2 import plan, progress, transfer
from ec2.aws import Api


def put(aws, key, body):
    aws.client('s3').put_object(Bucket=BUCKET, Key=key, Body=body)


def test_status_during_training_shows_epoch_losses_eta_restarts_and_cost(aws, capsys, tmp_path):
    put_data(aws)
    status, out, err = launch(capsys, *start_argv('--epochs', '10', '--max-hours', '4'))
    assert status == 0, err
    run_id = run_id_of(out)
    layout = plan.s3_layout(BUCKET, 'kfkd', run_id)
    # What the instance uploads while it trains: a checkpoint of epoch 4 (60 s an epoch).
    run_dir = tmp_path / 'run'
    (run_dir / 'checkpoint').mkdir(parents=True)
    rows = [{'epoch': e, 'train_loss': 0.01 / e, 'valid_loss': 0.02 / e, 'dur': 60.0}
            for e in range(1, 5)]
    (run_dir / 'checkpoint' / 'history.json').write_text(json.dumps({'epoch': 4,
                                                                     'history': rows}))
    transfer.upload_checkpoint(Api(REGION), layout, BUCKET, str(run_dir), epochs_total=10)
    put(aws, layout['status'], b'2026-01-01T12:00:00Z running: training\n')
    put(aws, layout['device'], json.dumps({'net': 'net6', 'device': 'cuda0',
                                           'gpu': {'name': 'Tesla T4'}, 's_per_batch': 0.02,
                                           'predicted_s_per_epoch': 0.4,
                                           'predicted_hours': 0.36}).encode())

    status, out, err = launch(capsys, 'status', run_id, '--bucket', BUCKET)
    assert status == 0, err
    assert 'g4dn.xlarge running spot' in out
    assert 'bootstrap status: 2026-01-01T12:00:00Z running: training' in out
    assert ('progress: epoch 4 of 10; train loss 0.00250, valid loss 0.00500; 60.00 s/epoch; '
            'ETA 0.10 h; checkpoint uploaded ') in out
    assert 'self-test: net6 on Tesla T4, 0.0200 s/batch, predicted 0.40 s/epoch and 0.36 h' in out
    assert 'restarts: 0 of 3 (automatic, after spot interruptions); 1 attempt\n' in out
    assert 'cost cap: powers off by ' in out

    # Two hours later, after one automatic relaunch: the cost counts both instances.
    attempts = json.loads(aws.client('s3').get_object(
        Bucket=BUCKET, Key=layout['attempts'])['Body'].read())['attempts']
    launched = plan.parse_utc(attempts[0]['launched_at'])
    attempts[0]['ended_at'] = plan.iso(launched + datetime.timedelta(hours=1))
    attempts.append(dict(attempts[0], kind='spot-relaunch', ended_at=None,
                         launched_at=plan.iso(launched + datetime.timedelta(hours=1.5))))
    put(aws, layout['attempts'], json.dumps({'attempts': attempts}).encode())
    out = io.StringIO()
    report = progress.status(Api(REGION), run_id, BUCKET, 'kfkd', out,
                             now=launched + datetime.timedelta(hours=2))
    text = out.getvalue()
    assert 'restarts: 1 of 3 (automatic, after spot interruptions); 2 attempts' in text
    assert 'cost so far: 1.50 instance-hours, at most $0.79 (on-demand price' in text
    assert 'cost cap: powers off by %s (2.00 h left)' % attempts[0]['deadline'] in text
    assert (report['restarts'], report['hours']) == (1, 1.5)
    assert report['progress']['epoch'] == 4


def test_status_says_when_a_run_was_lost(aws, capsys):
    put_data(aws)
    run_id = run_id_of(launch(capsys, *start_argv())[1])
    put(aws, 'kfkd/runs/%s/ec2/status.txt' % run_id, b'2026-01-01T12:00:00Z running: training\n')
    assert launch(capsys, 'terminate', run_id)[0] == 0
    status, out, err = launch(capsys, 'status', run_id, '--bucket', BUCKET)
    assert 'the run was lost mid-way; `ec2/launch resume %s` continues' % run_id in out


def test_logs_and_logs_follow(aws, capsys):
    layout = plan.s3_layout(BUCKET, 'kfkd', 'net6-1')
    status, out, err = launch(capsys, 'logs', 'net6-1', '--bucket', BUCKET)
    assert status == 2 and err.startswith('error: no log of run net6-1 yet')
    put(aws, layout['log'], b'line 1\n')
    put(aws, layout['status'], b'2026-01-01T12:00:00Z running: training\n')
    assert launch(capsys, 'logs', 'net6-1', '--bucket', BUCKET)[1] == 'line 1\n'

    looks = []

    def sleep(seconds):
        looks.append(seconds)
        if len(looks) == 1:    # the instance uploads its grown log
            put(aws, layout['log'], b'line 1\nline 2\n')
        elif len(looks) == 2:
            put(aws, layout['status'], b'2026-01-01T13:00:00Z done: run folder in s3://x\n')
    out = io.StringIO()
    shown = progress.logs(Api(REGION), 'net6-1', BUCKET, 'kfkd', follow=True, out=out,
                          interval=7, sleep=sleep)
    assert out.getvalue() == ('line 1\nline 2\n--- status: 2026-01-01T13:00:00Z done: run '
                              'folder in s3://x\n')
    assert shown == 14 and looks == [7, 7]
