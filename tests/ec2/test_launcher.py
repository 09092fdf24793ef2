"""ec2/launch (ec2/launcher.py and the modules it drives) against moto's server: what it
creates, finds and removes."""
import io
import json
import os
import subprocess
import time

import pytest

from ec2_moto import (AMI_PARAMETER, BUCKET, REGION, TRAINING_CSV, assert_nothing_created,
                      fake_aws_env, launch, live, our_groups, our_iam, our_instances, put_data,
                      run_id_of, s3_keys, start_argv, user_data_of)
from ec2 import catalog, launcher, lifecycle, plan
from ec2.aws import Api
from errors import UserError
from tests.conftest import REPO, shared_path

# ---------------------------------------------------------------- launching


def test_start_launches_a_spot_instance_with_least_privilege(aws, capsys, sent):
    put_data(aws)
    status, out, err = launch(capsys, *start_argv())
    assert status == 0, err
    run_id = run_id_of(out)
    assert run_id.startswith('net6-')
    [instance] = our_instances(aws, run_id)
    assert instance['InstanceType'] == 'g4dn.xlarge'
    # What the launcher asks of AWS (not every moto version echoes it back).
    [run_instances] = [params for op, params in sent if op == 'RunInstances']
    assert run_instances['MetadataOptions']['HttpTokens'] == 'required'
    assert instance['InstanceLifecycle'] == 'spot'
    tags = {t['Key']: t['Value'] for t in instance['Tags']}
    assert tags['kfkd:project'] == plan.PROJECT and tags['kfkd:run'] == run_id
    image = aws.client('ssm').get_parameter(Name=AMI_PARAMETER)['Parameter']['Value']
    assert instance['ImageId'] == image

    [group] = our_groups(aws)
    assert group['GroupId'] == instance['SecurityGroups'][0]['GroupId']
    assert group['IpPermissions'] == []

    user_data = user_data_of(aws, instance['InstanceId'])
    assert user_data.startswith('#!/bin/bash')
    assert len(user_data.encode('utf-8')) < 16 * 1024
    assert "KFKD_RUN_ID=%s" % run_id in user_data
    for secret in ('testing-secret-key', 'AWS_SECRET_ACCESS_KEY', 'aws_secret_access_key'):
        assert secret not in user_data

    iam = aws.client('iam')
    assert instance['IamInstanceProfile']['Arn'].endswith('/kfkd-ec2/kfkd-' + run_id)
    policy = iam.get_role_policy(RoleName='kfkd-' + run_id,
                                 PolicyName='kfkd-s3-run-access')['PolicyDocument']
    policy = json.loads(policy) if isinstance(policy, str) else policy
    writes = [s for s in policy['Statement'] if s['Action'] == 's3:PutObject']
    assert writes == [{'Sid': 'WriteOwnRun', 'Effect': 'Allow', 'Action': 's3:PutObject',
                       'Resource': 'arn:aws:s3:::%s/kfkd/runs/%s/*' % (BUCKET, run_id)}]
    reads = [s for s in policy['Statement'] if s['Action'] == 's3:GetObject'][0]['Resource']
    assert all(r.startswith('arn:aws:s3:::%s/kfkd/' % BUCKET) for r in reads)
    assert not any(s['Action'] == '*' or s.get('Resource') == '*' for s in policy['Statement'])

    keys = s3_keys(aws)
    assert 'kfkd/code/%s.tar.gz' % run_id in keys
    assert 'kfkd/runs/%s/ec2/launch.json' % run_id in keys
    assert '$0.526' in out and 'seconds per epoch: 3.01' in out


def test_on_demand_another_supported_type_and_ssh_only_when_asked(aws, capsys):
    put_data(aws)
    status, out, err = launch(capsys, *start_argv('--on-demand', '--instance-type', 'p3.2xlarge',
                                                  '--ssh-from', '203.0.113.7/32'))
    assert status == 0, err
    [instance] = our_instances(aws, run_id_of(out))
    assert instance['InstanceType'] == 'p3.2xlarge'
    assert 'InstanceLifecycle' not in instance
    [group] = our_groups(aws)
    [rule] = group['IpPermissions']
    assert (rule['FromPort'], rule['ToPort']) == (22, 22)
    assert [r['CidrIp'] for r in rule['IpRanges']] == ['203.0.113.7/32']


def test_run_experiment_options_reach_the_user_data(aws, capsys):
    status, out, err = launch(capsys, *start_argv('--data', 'synthetic', '--seed', '7', '--',
                                                  '--limit', '64', '--compare-log', "a b's.csv"))
    assert status == 0, err
    [instance] = our_instances(aws, run_id_of(out))
    user_data = user_data_of(aws, instance['InstanceId'])
    config = [ln for ln in user_data.splitlines() if ln.startswith('KFKD_ARGS=')][0]
    # The bootstrap evaluates this line: the shell must give back the same words.
    script = config + '\neval "A=($KFKD_ARGS)"; printf "%s\\n" "${A[@]}"'
    words = subprocess.run(['bash', '-c', script],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert words == ['--epochs', '3', '--seed', '7', '--limit', '64', '--compare-log', "a b's.csv"]
    assert 'KFKD_DATA_SOURCE=synthetic' in user_data


def test_dry_run_prints_calls_user_data_and_cost_and_creates_nothing(aws, capsys):
    status, out, err = launch(capsys, *start_argv('--dry-run', '--sec-per-epoch', '7.2'))
    assert status == 0, err
    for call in ('sts.get_caller_identity', 'ssm.get_parameter', 'iam.create_role',
                 'iam.put_role_policy', 'ec2.create_security_group', 'ec2.run_instances'):
        assert 'would call ' + call in out
    assert '"HttpTokens": "required"' in out
    assert '--- user-data (' in out and '#!/bin/bash' in out
    # 3 epochs x 7.2 s + 15 min setup = 0.256 h at $0.526/h
    assert 'for the run: 3 epochs + 15 min setup = 0.26 h, $0.13' in out
    assert_nothing_created(aws)


def test_dry_run_needs_no_credentials(monkeypatch, tmp_path, capsys):
    fake_aws_env(monkeypatch, tmp_path, 'http://127.0.0.1:9')
    monkeypatch.delenv('AWS_ACCESS_KEY_ID')
    monkeypatch.delenv('AWS_SECRET_ACCESS_KEY')
    status, out, err = launch(capsys, *start_argv('--dry-run'))
    assert status == 0, err
    assert 'would call ec2.run_instances' in out


# ---------------------------------------------------------------- status, fetch, cleanup

def test_status_fetch_and_cleanup_twice(aws, capsys, tmp_path):
    put_data(aws)
    status, out, err = launch(capsys, *start_argv())
    assert status == 0, err
    run_id = run_id_of(out)
    s3 = aws.client('s3')
    run_prefix = 'kfkd/runs/%s/' % run_id
    history = b'epoch,train_loss,valid_loss,train_over_valid,dur_s\n1,0.1,0.05,2.0,3.0\n'
    s3.put_object(Bucket=BUCKET, Key=run_prefix + 'history.csv', Body=history)
    s3.put_object(Bucket=BUCKET, Key=run_prefix + 'checkpoint/history.json', Body=b'{}')
    s3.put_object(Bucket=BUCKET, Key=run_prefix + 'ec2/status.txt',
                  Body=b'2026 running: training\n')

    status, out, err = launch(capsys, 'status', run_id, '--bucket', BUCKET)
    assert status == 0, err
    assert 'g4dn.xlarge running spot' in out
    assert 'bootstrap status: 2026 running: training' in out
    assert 'last epoch (epoch,train_loss,valid_loss,...): 1,0.1,0.05,2.0,3.0' in out

    dest = tmp_path / 'fetched'
    status, out, err = launch(capsys, 'fetch', run_id, '--bucket', BUCKET, '--dest', str(dest))
    assert status == 0, err
    assert (dest / 'history.csv').read_bytes() == history
    assert (dest / 'checkpoint' / 'history.json').read_bytes() == b'{}'
    assert json.loads((dest / 'ec2' / 'launch.json').read_text())['net'] == 'net6'

    status, out, err = launch(capsys, 'cleanup')
    assert status == 0, err
    assert live(our_instances(aws)) == []
    assert our_groups(aws) == [] and our_iam(aws) == ([], [])
    assert run_prefix + 'history.csv' in s3_keys(aws)   # results stay
    status, out, err = launch(capsys, 'cleanup')
    assert status == 0, err
    assert out.strip() == 'nothing to remove'


def test_terminate_removes_one_run_only(aws, capsys):
    put_data(aws)
    first = run_id_of(launch(capsys, *start_argv())[1])
    time.sleep(1.01)   # run ids have whole seconds
    second = run_id_of(launch(capsys, *start_argv('--', '--limit', '9'))[1])
    status, out, err = launch(capsys, 'terminate', first)
    assert status == 0, err
    assert live(our_instances(aws, first)) == []
    assert len(live(our_instances(aws, second))) == 1
    roles, profiles = our_iam(aws)
    assert roles == ['kfkd-' + second] and profiles == ['kfkd-' + second]
    assert [g['GroupName'] for g in our_groups(aws)] == ['kfkd-' + second]
    assert launch(capsys, 'terminate', first)[1].strip() == 'nothing to remove for run ' + first


def test_a_second_launch_with_the_same_run_id_leaves_the_first_alone(aws, capsys, monkeypatch):
    put_data(aws)
    monkeypatch.setattr(launcher, 'new_run_id', lambda net: 'net6-20260101-000000')
    assert launch(capsys, *start_argv())[0] == 0
    status, out, err = launch(capsys, *start_argv())
    assert status == 2 and 'run net6-20260101-000000 exists already' in err
    assert len(live(our_instances(aws, 'net6-20260101-000000'))) == 1
    assert our_iam(aws) == (['kfkd-net6-20260101-000000'], ['kfkd-net6-20260101-000000'])


def test_fetch_of_a_run_with_nothing_uploaded_says_so(aws, capsys, tmp_path):
    status, out, err = launch(capsys, 'fetch', 'net6-20260101-000000', '--bucket', BUCKET,
                              '--dest', str(tmp_path / 'x'))
    assert status == 2
    assert err.startswith('error: nothing under s3://%s/kfkd/runs/net6-20260101-000000/' % BUCKET)
    assert not (tmp_path / 'x').exists()


def test_resume_relaunches_the_same_run(aws, capsys):
    put_data(aws)
    run_id = run_id_of(launch(capsys, *start_argv('--', '--limit', '64'))[1])
    code_key = 'kfkd/code/%s.tar.gz' % run_id
    code = aws.client('s3').get_object(Bucket=BUCKET, Key=code_key)['Body'].read()
    status, out, err = launch(capsys, 'resume', run_id, '--bucket', BUCKET)
    assert status == 2 and 'still has a running instance' in err
    assert launch(capsys, 'terminate', run_id)[0] == 0

    status, out, err = launch(capsys, 'resume', run_id, '--bucket', BUCKET,
                              '--ami-parameter', AMI_PARAMETER)
    assert status == 0, err
    assert run_id_of(out) == run_id
    [instance] = live(our_instances(aws, run_id))
    user_data = user_data_of(aws, instance['InstanceId'])
    assert "KFKD_ARGS='--epochs 3 --limit 64'" in user_data
    assert 'KFKD_EPOCHS=3' in user_data
    # The relaunch runs the code of the first launch.
    assert aws.client('s3').get_object(Bucket=BUCKET, Key=code_key)['Body'].read() == code


# ---------------------------------------------------------------- bad input creates nothing

@pytest.mark.parametrize('argv, message', [
    (('--instance-type', 'g4dn'), "instance type 'g4dn' is not of the form FAMILY.SIZE"),
    (('--instance-type', 'G4DN.XLARGE'), 'is not of the form FAMILY.SIZE'),
    (('--instance-type', 'g2.2xlarge'), "g2.2xlarge: the study's GRID K520: the g2 types are "
                                        'retired; choose one of g4dn.xlarge'),
    (('--bucket', 'no-such-bucket-kfkd'), 'S3 bucket no-such-bucket-kfkd does not exist'),
    (('--ami-parameter', '/no/such/parameter'), 'SSM parameter /no/such/parameter does not exist'),
    (('--ssh-from', '0.0.0.0/99'), "--ssh-from '0.0.0.0/99' is not a CIDR"),
    (('--kaggle-token-parameter', '/kfkd/none'),
     'SSM parameter /kfkd/none (the Kaggle token) does not exist'),
    # The run's own options, checked by run_experiment.py's code before launch.
    (('--preprocess', 'bogus'), "run_experiment.py: argument --preprocess: invalid "
                                "choice: 'bogus'"),
    (('--', '--labels', 'everything'), 'argument --labels: invalid choice'),
    (('--', '--cv', '5', '--limit', '3'), '--cv 5 with --limit 3: every fold needs a row'),
])
def test_bad_input_gives_one_line_and_creates_nothing(aws, capsys, argv, message):
    put_data(aws)
    status, out, err = launch(capsys, *start_argv(*argv))
    assert status == 2
    assert err.startswith('error: ') and message in err and err.count('\n') == 1
    assert_nothing_created(aws)


@pytest.mark.parametrize('argv, message', [
    (('--price-per-hour', '-1'), 'argument --price-per-hour: -1: a price is a finite number'),
    (('--seed', '-1'), 'argument --seed: -1 is not a seed'),
    (('--max-hours', 'nan'), 'argument --max-hours: nan: must be a finite number above 0'),
])
def test_options_out_of_range_are_refused_by_argparse(aws, capsys, argv, message):
    put_data(aws)
    with pytest.raises(SystemExit) as refused:
        launcher.main(list(start_argv(*argv)))
    assert refused.value.code == 2 and message in capsys.readouterr().err
    assert_nothing_created(aws)


@pytest.mark.parametrize('command', ['start', 'status', 'fetch'])
def test_aws_out_of_reach_is_one_line(aws, capsys, monkeypatch, tmp_path, command):
    from botocore.exceptions import EndpointConnectionError
    put_data(aws)
    client = Api.client

    def unreachable(**kwargs):
        raise EndpointConnectionError(endpoint_url='https://ec2.mars-1.amazonaws.com/')

    def failing_client(self, service):
        made = client(self, service)
        made.meta.events.register('before-send', unreachable, unique_id='kfkd-test-offline')
        return made
    monkeypatch.setattr(Api, 'client', failing_client)
    where = ('--bucket', BUCKET, '--region', REGION)
    argv = {'start': start_argv(), 'status': ('status',) + where,
            'fetch': ('fetch', 'net6-x', '--dest', str(tmp_path / 'r')) + where}[command]
    status, out, err = launch(capsys, *argv)
    assert status == 2
    assert err == ('error: cannot reach AWS (Could not connect to the endpoint URL: '
                   '"https://ec2.mars-1.amazonaws.com/"): check the network and --region\n')


def test_missing_bucket(aws, capsys):
    argv = [a for a in start_argv() if a != BUCKET]
    argv.remove('--bucket')
    status, out, err = launch(capsys, *argv)
    assert (status, err) == (2, 'error: no S3 bucket: pass --bucket NAME (or set KFKD_BUCKET)\n')
    assert_nothing_created(aws)


def test_missing_data_in_s3(aws, capsys):
    status, out, err = launch(capsys, *start_argv())
    assert status == 2
    assert 'no training.csv or training.zip under s3://%s/kfkd/data/' % BUCKET in err
    assert_nothing_created(aws)


def test_upload_data_puts_the_kaggle_files_first(aws, capsys, tmp_path):
    (tmp_path / 'training.csv').write_bytes(TRAINING_CSV)
    (tmp_path / 'notes.txt').write_text('not data')
    status, out, err = launch(capsys, *start_argv('--upload-data', str(tmp_path)))
    assert status == 0, err
    assert s3_keys(aws, 'kfkd/data/') == ['kfkd/data/training.csv']


def test_kaggle_token_must_be_a_secure_string(aws, capsys):
    aws.client('ssm').put_parameter(Name='/kfkd/kaggle', Value='{"key": "k"}', Type='String')
    status, out, err = launch(capsys, *start_argv('--kaggle-token-parameter', '/kfkd/kaggle'))
    assert status == 2 and 'must be a SecureString' in err
    assert_nothing_created(aws)


def test_kaggle_token_stays_out_of_user_data(aws, capsys):
    token = '{"username": "someone", "key": "0123456789abcdef-kaggle-key"}'
    aws.client('ssm').put_parameter(Name='/kfkd/kaggle', Value=token, Type='SecureString')
    status, out, err = launch(capsys, *start_argv('--kaggle-token-parameter', '/kfkd/kaggle'))
    assert status == 0, err
    [instance] = our_instances(aws, run_id_of(out))
    user_data = user_data_of(aws, instance['InstanceId'])
    assert '0123456789abcdef' not in user_data
    assert "KFKD_KAGGLE_PARAMETER=/kfkd/kaggle" in user_data


def test_missing_credentials(aws, capsys, monkeypatch):
    monkeypatch.delenv('AWS_ACCESS_KEY_ID')
    monkeypatch.delenv('AWS_SECRET_ACCESS_KEY')
    put_data(aws)
    status, out, err = launch(capsys, *start_argv())
    assert status == 2
    assert err.startswith('error: no AWS credentials found')
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing')
    assert_nothing_created(aws)


def error_on(operation, code, message):
    """A botocore handler that answers ``operation`` with an AWS error."""
    from botocore.awsrequest import AWSResponse

    def handler(**kwargs):
        return (AWSResponse('http://127.0.0.1/', 400, {}, None),
                {'Error': {'Code': code, 'Message': message},
                 'ResponseMetadata': {'HTTPStatusCode': 400}})
    return 'before-call.ec2.' + operation, handler


@pytest.mark.parametrize('code, message', [
    ('VcpuLimitExceeded', 'the vCPU quota "All G and VT Spot Instance Requests" in us-east-1 '
                          'is too small for g4dn.xlarge (4 vCPUs)'),
    ('MaxSpotInstanceCountExceeded', 'is too small for g4dn.xlarge'),
    ('InsufficientInstanceCapacity', 'AWS has no spare g4dn.xlarge capacity in us-east-1 now'),
])
def test_quota_errors_explain_and_clean_up(aws, capsys, monkeypatch, code, message):
    put_data(aws)
    event, handler = error_on('RunInstances', code, 'You have requested more than allowed')
    client = Api.client

    def failing_client(self, service):
        made = client(self, service)
        if service == 'ec2':
            made.meta.events.register(event, handler, unique_id='kfkd-test-quota')
        return made
    monkeypatch.setattr(Api, 'client', failing_client)
    status, out, err = launch(capsys, *start_argv())
    assert status == 2
    assert message in err and err.count('\n') == 1
    assert_nothing_created(aws)


def test_other_aws_refusals_are_one_line(aws, capsys, monkeypatch):
    put_data(aws)
    event, handler = error_on('CreateSecurityGroup', 'UnauthorizedOperation', 'not allowed')
    client = Api.client

    def failing_client(self, service):
        made = client(self, service)
        if service == 'ec2':
            made.meta.events.register(event, handler, unique_id='kfkd-test-denied')
        return made
    monkeypatch.setattr(Api, 'client', failing_client)
    status, out, err = launch(capsys, *start_argv())
    assert status == 2
    assert err.startswith('error: AWS refused: ') and 'UnauthorizedOperation' in err
    assert_nothing_created(aws)


# ---------------------------------------------------------------- pieces without AWS

def test_cost_estimate_numbers():
    cost = plan.estimate_cost('us-east-1', 'g4dn.xlarge', True, 1000, 18.94)
    assert cost['usd_per_hour'] == 0.526
    assert cost['hours'] == pytest.approx((1000 * 18.94 + 900) / 3600.0)
    assert cost['usd'] == pytest.approx(cost['hours'] * 0.526)
    unknown = plan.estimate_cost('eu-west-1', 'g4dn.xlarge', True, 10, 1.0)
    assert unknown['usd_per_hour'] is None and unknown['usd'] is None
    given = plan.estimate_cost('eu-west-1', 'x9.huge', True, None, 1.0, price_per_hour_given=2)
    assert (given['usd_per_hour'], given['hours']) == (2.0, None)


def test_seconds_per_epoch_come_from_the_study_logs():
    # The table in the code is the mean dur_s of each of the study's logs.
    import csv
    logs = shared_path('data', 'w207_logs')
    for net, log in [('cnet_nplfxl', 'CNet_NPLFXL_master_HEAD.csv'),
                     ('net6', 'w207final_net6.csv'),
                     ('net6np', 'byron_net6NP.csv'), ('net1', 'w207final_net1.csv')]:
        with open(os.path.join(logs, log)) as f:
            durations = [float(row['dur_s']) for row in csv.DictReader(f)]
        assert catalog.K520_SEC_PER_EPOCH[net] == pytest.approx(
            sum(durations) / len(durations), abs=0.01)
    assert plan.sec_per_epoch_estimate('net6NP')[0] == 5.14
    assert plan.sec_per_epoch_estimate('convnet_stack')[0] == catalog.UNKNOWN_NET_SEC_PER_EPOCH


def test_user_data_over_16_kb_is_refused():
    with pytest.raises(UserError, match='over the 16 KB EC2 limit'):
        plan.render_user_data({'KFKD_ARGS': 'x' * 9000}, '')


def test_code_tarball_ships_the_code_and_no_venv_or_runs():
    import tarfile
    names = tarfile.open(fileobj=io.BytesIO(lifecycle.code_tarball())).getnames()
    assert 'ec2/bootstrap.sh' in names and 'ec2/install_env.sh' in names
    # the GPU environment's recipe: its pins, the build step and the patch
    assert {'requirements-gpu.txt', 'gpu/build_libgpuarray.sh',
            'gpu/libgpuarray-0.7.6.patch'} <= set(names)
    assert not any(n.split('/')[0] in ('.venv', 'runs', 'data', '.git') for n in names)


def test_launch_script_runs_the_launcher():
    result = subprocess.run([os.path.join(REPO, 'ec2', 'launch'), 'net6',
                             '--instance-type', 'bad'],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("error: instance type 'bad' is not of the form")


@pytest.mark.parametrize('module', ['catalog', 'plan', 'spec', 'preflight', 'transfer',
                                    'check_device'])
def test_docstring_examples(module):
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module('ec2.' + module),
                             optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 1 and result.failed == 0
