"""ec2/launch cluster-setup / cluster-teardown (ec2/cluster.py) on moto's server at 127.0.0.1."""
import json

import yaml

from ec2_moto import AMI_PARAMETER, BUCKET, REGION, launch, our_iam
from test_ray_cluster_yaml import _policies
from ec2 import cluster

SETUP = ('cluster-setup', '--bucket', BUCKET, '--region', REGION, '--ssh-from',
         '203.0.113.7/32', '--ami-parameter', AMI_PARAMETER)


def _groups(aws):
    found = aws.client('ec2').describe_security_groups(Filters=[
        {'Name': 'group-name', 'Values': [cluster.NODES_GROUP, cluster.SSH_GROUP]}])
    return {g['GroupName']: g for g in found['SecurityGroups']}


def test_the_policies_are_readmes_least_privilege():
    # The same documents README's hand-typed walk wrote, for its bucket.
    readme = _policies()
    for role in cluster.ROLES:
        assert cluster.role_policy(role, 'my-kfkd-bucket') == readme[role + '.json'], role
    assert readme['kfkd-ray-trust.json'] == cluster.TRUST


def test_setup_makes_the_groups_roles_and_a_ready_yaml_and_again_changes_nothing(
        aws, capsys, tmp_path):
    path = tmp_path / 'ray-cluster.yaml'
    status, out, err = launch(capsys, *SETUP, '--out', str(path))
    assert status == 0, err
    groups = _groups(aws)
    nodes, ssh = groups[cluster.NODES_GROUP], groups[cluster.SSH_GROUP]
    # Nodes: from each other only; the head's SSH: port 22 from one address only.
    [rule] = nodes['IpPermissions']
    assert rule['IpProtocol'] == '-1' and rule['IpRanges'] == []
    assert [p['GroupId'] for p in rule['UserIdGroupPairs']] == [nodes['GroupId']]
    [rule] = ssh['IpPermissions']
    assert (rule['FromPort'], rule['ToPort'], rule['IpRanges']) == (
        22, 22, [{'CidrIp': '203.0.113.7/32'}])
    iam = aws.client('iam')
    for role in cluster.ROLES:
        document = iam.get_role_policy(RoleName=role, PolicyName=role)['PolicyDocument']
        document = json.loads(document) if isinstance(document, str) else document
        assert document == cluster.role_policy(role, BUCKET)
        profile = iam.get_instance_profile(InstanceProfileName=role)['InstanceProfile']
        assert [r['RoleName'] for r in profile['Roles']] == [role]

    config = yaml.safe_load(path.read_text())
    head = config['available_node_types']['kfkd.head']['node_config']
    worker = config['available_node_types']['kfkd.gpu']['node_config']
    image = aws.client('ssm').get_parameter(Name=AMI_PARAMETER)['Parameter']['Value']
    assert config['provider']['region'] == REGION
    assert head['ImageId'] == worker['ImageId'] == image
    assert head['SecurityGroupIds'] == [nodes['GroupId'], ssh['GroupId']]
    assert worker['SecurityGroupIds'] == [nodes['GroupId']]
    assert head['IamInstanceProfile']['Arn'].endswith(':instance-profile/kfkd-ray-head')
    assert worker['IamInstanceProfile']['Arn'].endswith(':instance-profile/kfkd-ray-worker')
    assert any('s3://%s/kfkd/data/' % BUCKET in c for c in config['setup_commands'])
    assert '# EDIT' not in path.read_text()

    first = path.read_text()
    status, out, err = launch(capsys, *SETUP, '--out', str(path))
    assert status == 0, err
    assert '(kept)' in out and '(created)' not in out
    assert path.read_text() == first and len(_groups(aws)) == 2


def test_teardown_removes_everything_setup_made(aws, capsys, tmp_path):
    assert launch(capsys, *SETUP, '--out', str(tmp_path / 'c.yaml'))[0] == 0
    status, out, err = launch(capsys, 'cluster-teardown', '--region', REGION)
    assert status == 0, err
    assert _groups(aws) == {} and our_iam(aws) == ([], [])
    # Again, with nothing left: still fine.
    assert launch(capsys, 'cluster-teardown', '--region', REGION)[0] == 0


def test_dry_run_prints_the_calls_and_makes_none(capsys, sent, tmp_path):
    path = tmp_path / 'c.yaml'
    status, out, err = launch(capsys, *SETUP, '--out', str(path), '--dry-run')
    assert status == 0, err
    assert sent == []
    assert 'would call ec2.create_security_group' in out
    assert 'would call iam.put_role_policy' in out and 'would call ssm.get_parameter' in out
    assert 'would write %s' % path in out and not path.exists()


def test_setup_without_ssh_from_is_refused_before_any_call(capsys, sent):
    status, out, err = launch(capsys, 'cluster-setup', '--bucket', BUCKET, '--dry-run')
    assert status == 2 and sent == [] and '--ssh-from CIDR' in err
