"""What the ec2 tests share: the moto account's names, a fake AWS environment, and ways to
launch in-process and look at what a launch created.

(A module of its own, not conftest.py, so that tests can import it by a name
no other test folder uses.)
"""
import base64
import os

from ec2 import launcher, plan

BUCKET = 'kfkd-test-bucket'
AMI_PARAMETER = '/kfkd-test/ami-id'
REGION = 'us-east-1'


def fake_aws_env(monkeypatch, tmp_path, endpoint):
    """Point every AWS client at ``endpoint`` with fake credentials."""
    for key in list(os.environ):
        if key.startswith('AWS_') or key.startswith('KFKD_'):
            monkeypatch.delenv(key)
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing-secret-key-never-in-user-data')
    monkeypatch.setenv('AWS_DEFAULT_REGION', REGION)
    monkeypatch.setenv('AWS_ENDPOINT_URL', endpoint)
    monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', str(tmp_path / 'no-credentials'))
    monkeypatch.setenv('AWS_CONFIG_FILE', str(tmp_path / 'no-config'))


TRAINING_CSV = b'left_eye_center_x,Image\n66.0,1 2 3\n'


def launch(capsys, *argv):
    """Run ``ec2/launch argv`` in-process; returns (exit status, stdout, stderr).

    An option argparse refuses (out of range) exits through SystemExit, as
    the command line does; its code is the status.
    """
    try:
        status = launcher.main(list(argv))
    except SystemExit as refused:
        status = refused.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def start_argv(*extra):
    return ('net6', '--epochs', '3', '--bucket', BUCKET, '--ami-parameter', AMI_PARAMETER,
            '--region', REGION) + extra


def put_data(aws):
    aws.client('s3').put_object(Bucket=BUCKET, Key='kfkd/data/training.csv', Body=TRAINING_CSV)


def run_id_of(out):
    line = [ln for ln in out.splitlines() if ln.startswith('launched run ')][0]
    return line.split()[2].rstrip(':')


def our_instances(aws, run_id=None):
    filters = [{'Name': 'tag:kfkd:project', 'Values': [plan.PROJECT]}]
    if run_id:
        filters.append({'Name': 'tag:kfkd:run', 'Values': [run_id]})
    answer = aws.client('ec2').describe_instances(Filters=filters)
    return [i for r in answer['Reservations'] for i in r['Instances']]


def live(instances):
    return [i for i in instances if i['State']['Name'] not in ('terminated', 'shutting-down')]


def our_groups(aws):
    return aws.client('ec2').describe_security_groups(
        Filters=[{'Name': 'tag:kfkd:project', 'Values': [plan.PROJECT]}])['SecurityGroups']


def our_iam(aws):
    iam = aws.client('iam')
    roles = [r['RoleName'] for r in iam.list_roles()['Roles'] if r['RoleName'].startswith('kfkd-')]
    profiles = [p['InstanceProfileName'] for p in iam.list_instance_profiles()['InstanceProfiles']
                if p['InstanceProfileName'].startswith('kfkd-')]
    return roles, profiles


def s3_keys(aws, prefix='kfkd/'):
    answer = aws.client('s3').list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(c['Key'] for c in answer.get('Contents', []))


def assert_nothing_created(aws):
    assert our_instances(aws) == []
    assert our_groups(aws) == []
    assert our_iam(aws) == ([], [])
    assert [k for k in s3_keys(aws) if not k.startswith('kfkd/data/')] == []


def user_data_of(aws, instance_id):
    answer = aws.client('ec2').describe_instance_attribute(InstanceId=instance_id,
                                                           Attribute='userData')
    return base64.b64decode(answer['UserData']['Value']).decode('utf-8')
