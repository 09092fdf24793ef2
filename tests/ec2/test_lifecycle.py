"""ec2/lifecycle.py on moto: relaunch after a spot notice, resume with the run's own options,
cleanup of a role with a managed policy attached."""
import datetime
import io
import json
import re

from ec2_moto import (AMI_PARAMETER, BUCKET, REGION, launch, live, our_iam, our_instances,
                      put_data, run_id_of, start_argv, user_data_of)
from ec2 import instance, plan
from ec2.aws import Api


def settings(user_data, but=('KFKD_DEADLINE',)):
    return [ln for ln in user_data.splitlines()
            if ln.startswith('KFKD_') and ln.split('=')[0] not in but]


def minutes(user_data):
    return int(re.search(r'shutdown -h \+(\d+) ', user_data).group(1))


def attempts_of(aws, run_id):
    body = aws.client('s3').get_object(Bucket=BUCKET, Key='kfkd/runs/%s/ec2/attempts.json'
                                       % run_id)['Body'].read()
    return json.loads(body)['attempts']


def relaunch(run_id):
    out = io.StringIO()
    status = instance.main(['relaunch', '--bucket', BUCKET, '--run-id', run_id, '--region',
                            REGION, '--reason', 'spot interruption (test)'],
                           api=Api(REGION), out=out)
    return status, out.getvalue()


def role_statements(aws, run_id):
    policy = aws.client('iam').get_role_policy(RoleName='kfkd-' + run_id,
                                               PolicyName='kfkd-s3-run-access')['PolicyDocument']
    policy = json.loads(policy) if isinstance(policy, str) else policy
    return {s['Sid']: s for s in policy['Statement']}


def test_an_interrupted_spot_instance_starts_its_successor_up_to_max_restarts(aws, capsys):
    put_data(aws)
    status, out, err = launch(capsys, *start_argv('--max-restarts', '1', '--', '--limit', '64'))
    assert status == 0, err
    run_id = run_id_of(out)
    [first] = our_instances(aws, run_id)
    # What the instance may do to relaunch itself: RunInstances of its own run and type only.
    rights = role_statements(aws, run_id)
    assert rights['RelaunchOwnRunInstance']['Condition']['StringEquals'] == {
        'aws:RequestTag/kfkd:run': run_id, 'ec2:InstanceType': 'g4dn.xlarge'}
    assert rights['PassOnlyOwnRole']['Resource'].endswith(':role/kfkd-ec2/kfkd-' + run_id)

    status, text = relaunch(run_id)
    assert status == 0, text
    [second] = [i for i in live(our_instances(aws, run_id))
                if i['InstanceId'] != first['InstanceId']]
    assert text == 'relaunched run %s as %s (restart 1 of 1)\n' % (run_id, second['InstanceId'])
    assert second['InstanceLifecycle'] == 'spot' and second['InstanceType'] == 'g4dn.xlarge'
    assert second['ImageId'] == first['ImageId']
    assert second['SecurityGroups'] == first['SecurityGroups']
    assert second['IamInstanceProfile']['Arn'] == first['IamInstanceProfile']['Arn']
    one, two = (user_data_of(aws, i['InstanceId']) for i in (first, second))
    assert settings(two, but=()) == settings(one, but=()) and minutes(two) <= minutes(one)
    attempts = attempts_of(aws, run_id)
    assert [a['kind'] for a in attempts] == ['launch', 'spot-relaunch']
    assert attempts[0]['end'] == 'spot interruption (test)' and attempts[0]['ended_at']
    assert attempts[1]['deadline'] == attempts[0]['deadline']

    status, text = relaunch(run_id)
    assert status == instance.NOTHING
    assert text.startswith('no relaunch: --max-restarts 1 reached: continue with '
                           '`ec2/launch resume %s`' % run_id)
    assert len(our_instances(aws, run_id)) == 2


def test_no_relaunch_when_the_cost_cap_leaves_no_time(aws, capsys):
    put_data(aws)
    status, out, err = launch(capsys, *start_argv())
    run_id = run_id_of(out)
    attempts = attempts_of(aws, run_id)
    attempts[-1]['deadline'] = plan.iso(plan.utc() + datetime.timedelta(minutes=10))
    aws.client('s3').put_object(Bucket=BUCKET, Key='kfkd/runs/%s/ec2/attempts.json' % run_id,
                                Body=json.dumps({'attempts': attempts}).encode())
    status, text = relaunch(run_id)
    assert status == instance.NOTHING and 'the cost cap leaves 9 min' in text
    assert len(our_instances(aws, run_id)) == 1


def test_resume_keeps_every_option_of_the_launch(aws, capsys, sent):
    put_data(aws)
    ec2 = aws.client('ec2')
    ec2.create_key_pair(KeyName='kfkd-test-key')
    subnet = ec2.describe_subnets()['Subnets'][0]['SubnetId']
    status, out, err = launch(capsys, *start_argv(
        '--on-demand', '--instance-type', 'p3.2xlarge', '--subnet-id', subnet,
        '--key-name', 'kfkd-test-key', '--ssh-from', '203.0.113.7/32', '--max-hours', '3',
        '--max-restarts', '1', '--no-shutdown', '--seed', '7', '--',
        '--limit', '64'))
    assert status == 0, err
    run_id = run_id_of(out)
    assert 'RelaunchOwnRunInstance' not in role_statements(aws, run_id)   # on demand
    [first] = our_instances(aws, run_id)
    first_data = user_data_of(aws, first['InstanceId'])
    assert 'KFKD_CUDNN=0' in first_data and 'KFKD_SHUTDOWN=0' in first_data
    assert launch(capsys, 'terminate', run_id)[0] == 0

    del sent[:]
    # Only the bucket: the region, type, market, AMI, subnet, key, SSH, cap all from launch.json.
    status, out, err = launch(capsys, 'resume', run_id, '--bucket', BUCKET)
    assert status == 0, err
    [params] = [p for op, p in sent if op == 'RunInstances']
    assert params['InstanceType'] == 'p3.2xlarge' and 'InstanceMarketOptions' not in params
    assert (params['SubnetId'], params['KeyName']) == (subnet, 'kfkd-test-key')
    assert [p['Name'] for op, p in sent if op == 'GetParameter'] == [AMI_PARAMETER]
    [ingress] = [p for op, p in sent if op == 'AuthorizeSecurityGroupIngress']
    assert ingress['IpPermissions'][0]['IpRanges'][0]['CidrIp'] == '203.0.113.7/32'
    [again] = live(our_instances(aws, run_id))
    second_data = user_data_of(aws, again['InstanceId'])
    assert settings(second_data) == settings(first_data)
    assert abs(minutes(second_data) - 180) <= 1
    attempts = attempts_of(aws, run_id)
    assert [a['kind'] for a in attempts] == ['launch', 'resume']
    assert '--max-hours 3' in out

    # An option given again changes that option only.
    assert launch(capsys, 'terminate', run_id)[0] == 0
    del sent[:]
    status, out, err = launch(capsys, 'resume', run_id, '--bucket', BUCKET, '--spot',
                              '--instance-type', 'g4dn.xlarge', '--epochs', '5')
    assert status == 0, err
    [params] = [p for op, p in sent if op == 'RunInstances']
    assert params['InstanceType'] == 'g4dn.xlarge'
    assert params['InstanceMarketOptions']['MarketType'] == 'spot'
    assert (params['SubnetId'], params['KeyName']) == (subnet, 'kfkd-test-key')
    [third] = live(our_instances(aws, run_id))
    third_data = user_data_of(aws, third['InstanceId'])
    assert 'KFKD_EPOCHS=5' in third_data and 'KFKD_CUDNN=0' in third_data
    saved = json.loads(aws.client('s3').get_object(
        Bucket=BUCKET, Key='kfkd/runs/%s/ec2/launch.json' % run_id)['Body'].read())
    assert (saved['instance_type'], saved['spot'], saved['epochs']) == ('g4dn.xlarge', True, 5)
    assert saved['seed'] == 7 and saved['run_args'] == ['--limit', '64']


def test_cleanup_detaches_a_managed_policy_before_deleting_the_role(aws, capsys):
    put_data(aws)
    run_id = run_id_of(launch(capsys, *start_argv())[1])
    iam = aws.client('iam')
    arn = iam.create_policy(PolicyName='kfkd-test-ssm', PolicyDocument=json.dumps({
        'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 'ssm:*',
                                                'Resource': '*'}]}))['Policy']['Arn']
    iam.attach_role_policy(RoleName='kfkd-' + run_id, PolicyArn=arn)   # as the README says
    status, out, err = launch(capsys, 'cleanup')
    assert status == 0, err
    assert 'detached kfkd-test-ssm from role kfkd-%s' % run_id in out
    assert our_iam(aws) == ([], [])
    assert live(our_instances(aws)) == []
    assert iam.get_policy(PolicyArn=arn)['Policy']['AttachmentCount'] == 0
