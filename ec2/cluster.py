"""``ec2/launch cluster-setup`` / ``cluster-teardown``: the Ray cluster's AWS pieces, as commands.

::

    ec2/launch cluster-setup --bucket B --ssh-from CIDR [--out ray-cluster.yaml] [--dry-run]
    ec2/launch cluster-teardown [--dry-run]

:func:`setup` makes what README.md's "A GPU cluster on AWS" had users paste
as AWS CLI commands, with the same least privilege: in the default VPC the
security group ``kfkd-ray-nodes`` (traffic from its own members only) and
``kfkd-ray-head-ssh`` (SSH from one CIDR); the roles and instance profiles
``kfkd-ray-worker`` (read ``PREFIX/data/``, read and write ``PREFIX/ray/``)
and ``kfkd-ray-head`` (the same, and start, tag and stop instances, and pass
the worker's role); then writes ``ec2/ray-cluster.yaml`` with the region,
the AMI, the groups, the profiles and the bucket filled in. What exists
already is kept (running it again changes nothing). :func:`teardown` removes
them all. Every call goes through :class:`ec2.aws.Api` (or ``DryRun``).
"""
import ipaddress
import json

from ec2 import aws, plan
from errors import UserError
from paths import REPO

__all__ = ['NODES_GROUP', 'SSH_GROUP', 'ROLES', 'TRUST', 'role_policy', 'setup', 'teardown',
           'ready_yaml', 'TEMPLATE']

NODES_GROUP = 'kfkd-ray-nodes'
SSH_GROUP = 'kfkd-ray-head-ssh'
WORKER, HEAD = 'kfkd-ray-worker', 'kfkd-ray-head'
ROLES = (WORKER, HEAD)
TEMPLATE = REPO + '/ec2/ray-cluster.yaml'

TRUST = {'Version': '2012-10-17', 'Statement': [{
    'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'},
    'Action': 'sts:AssumeRole'}]}

#: What the head does for Ray's autoscaler: start, tag, stop and describe the workers.
HEAD_EC2_ACTIONS = [
    'ec2:RunInstances', 'ec2:TerminateInstances', 'ec2:StartInstances', 'ec2:StopInstances',
    'ec2:CreateTags', 'ec2:DeleteTags', 'ec2:DescribeInstances', 'ec2:DescribeInstanceTypes',
    'ec2:DescribeImages', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups',
    'ec2:DescribeKeyPairs', 'ec2:DescribeInstanceStatus']


def role_policy(role, bucket, prefix=plan.DEFAULT_PREFIX):
    """role_policy(role, bucket, prefix='kfkd') -> the inline policy of a cluster role

    >>> policy = role_policy('kfkd-ray-worker', 'b')
    >>> policy['Statement'][1]
    {'Effect': 'Allow', 'Action': ['s3:PutObject'], 'Resource': ['arn:aws:s3:::b/kfkd/ray/*']}
    >>> len(role_policy('kfkd-ray-head', 'b')['Statement'])
    5
    """
    data, rows = '%s/data/' % prefix, '%s/ray/' % prefix
    statements = [
        {'Effect': 'Allow', 'Action': 's3:GetObject',
         'Resource': ['arn:aws:s3:::%s/%s*' % (bucket, data),
                      'arn:aws:s3:::%s/%s*' % (bucket, rows)]},
        {'Effect': 'Allow', 'Action': ['s3:PutObject'],
         'Resource': ['arn:aws:s3:::%s/%s*' % (bucket, rows)]},
        {'Effect': 'Allow', 'Action': 's3:ListBucket', 'Resource': 'arn:aws:s3:::%s' % bucket,
         'Condition': {'StringLike': {'s3:prefix': [data + '*', rows + '*']}}}]
    if role == HEAD:
        statements += [
            {'Effect': 'Allow', 'Action': HEAD_EC2_ACTIONS, 'Resource': '*'},
            {'Effect': 'Allow', 'Action': ['iam:PassRole', 'iam:GetInstanceProfile'],
             'Resource': ['arn:aws:iam::*:role/%s' % WORKER,
                          'arn:aws:iam::*:instance-profile/%s' % WORKER]}]
    return {'Version': '2012-10-17', 'Statement': statements}


def _say(out, text):
    out.write(text + '\n')


def _group(api, vpc, name, description, out):
    """The id of the security group ``name`` in ``vpc``: found, else created."""
    found = api.call('ec2', 'describe_security_groups', Filters=[
        {'Name': 'vpc-id', 'Values': [vpc]}, {'Name': 'group-name', 'Values': [name]}])
    groups = found.get('SecurityGroups', [])
    if groups:
        _say(out, 'security group %s: %s (kept)' % (name, groups[0]['GroupId']))
        return groups[0]['GroupId'], False
    group = api.call('ec2', 'create_security_group', VpcId=vpc, GroupName=name,
                     Description=description)['GroupId']
    _say(out, 'security group %s: %s (created)' % (name, group))
    return group, True


def _profile(api, role, policy, out):
    """The instance profile's ARN for ``role``: role, policy and profile found or created."""
    try:
        api.call('iam', 'create_role', RoleName=role,
                 AssumeRolePolicyDocument=json.dumps(TRUST))
    except Exception as exc:
        if aws.error_code(exc) != 'EntityAlreadyExists':
            raise
    # The policy is written every time: the bucket may be another one now.
    api.call('iam', 'put_role_policy', RoleName=role, PolicyName=role,
             PolicyDocument=json.dumps(policy))
    try:
        profile = api.call('iam', 'create_instance_profile', InstanceProfileName=role)
    except Exception as exc:
        if aws.error_code(exc) != 'EntityAlreadyExists':
            raise
        profile = api.call('iam', 'get_instance_profile', InstanceProfileName=role)
    if not any(r.get('RoleName') == role for r in profile['InstanceProfile'].get('Roles', [])):
        api.call('iam', 'add_role_to_instance_profile', InstanceProfileName=role, RoleName=role)
    arn = profile['InstanceProfile']['Arn']
    _say(out, 'role and instance profile %s: %s' % (role, arn))
    return arn


def ready_yaml(template, region, ami, nodes, ssh, head_arn, worker_arn, bucket,
               prefix=plan.DEFAULT_PREFIX):
    """ready_yaml(template, region, ami, nodes, ssh, head_arn, worker_arn, bucket, prefix)

    The text of ``ec2/ray-cluster.yaml`` with its EDIT values filled in
    (its comments kept). Raises ValueError when one placeholder is missing.
    """
    text = template
    for old, new in (('region: us-east-1 ', 'region: %s ' % region),
                     ('ami-0123456789abcdef0', ami),
                     ('[sg-0aaaaaaaaaaaaaaaa, sg-0bbbbbbbbbbbbbbbb]', '[%s, %s]' % (nodes, ssh)),
                     ('[sg-0aaaaaaaaaaaaaaaa]', '[%s]' % nodes),
                     ('arn:aws:iam::123456789012:instance-profile/kfkd-ray-head', head_arn),
                     ('arn:aws:iam::123456789012:instance-profile/kfkd-ray-worker', worker_arn),
                     ('s3://my-kfkd-bucket/kfkd/data/', 's3://%s/%s/data/' % (bucket, prefix))):
        if old not in text:
            raise ValueError('ec2/ray-cluster.yaml has no %r to fill in' % old)
        text = text.replace(old, new)
    return text.replace('# EDIT', '# set by ec2/launch cluster-setup')


def setup(api, bucket, ssh_from, out, path, prefix=plan.DEFAULT_PREFIX,
          ami_parameter=plan.DEFAULT_AMI_PARAMETER):
    """setup(api, bucket, ssh_from, out, path, prefix='kfkd', ami_parameter=...) -> path

    Make (or find) the cluster's groups, roles and profiles and write the
    ready yaml to ``path`` (not on a dry run, which prints the calls).
    """
    if not ssh_from:
        raise UserError('cluster-setup needs --ssh-from CIDR (your address, e.g. '
                        '203.0.113.7/32): the head accepts SSH from there only')
    try:
        ipaddress.ip_network(ssh_from)
    except ValueError:
        raise UserError('--ssh-from %r is not a CIDR such as 203.0.113.7/32' % ssh_from)
    vpcs = api.call('ec2', 'describe_vpcs',
                    Filters=[{'Name': 'isDefault', 'Values': ['true']}]).get('Vpcs', [])
    if not vpcs:
        raise UserError('region %s has no default VPC' % api.region)
    vpc = vpcs[0]['VpcId']
    nodes, created = _group(api, vpc, NODES_GROUP, 'kfkd Ray nodes: from each other only', out)
    if created:
        api.call('ec2', 'authorize_security_group_ingress', GroupId=nodes, IpPermissions=[
            {'IpProtocol': '-1', 'UserIdGroupPairs': [{'GroupId': nodes}]}])
    ssh, created = _group(api, vpc, SSH_GROUP, 'kfkd Ray head: SSH from one address', out)
    if created:
        api.call('ec2', 'authorize_security_group_ingress', GroupId=ssh, IpPermissions=[
            {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22,
             'IpRanges': [{'CidrIp': ssh_from}]}])
    arns = {role: _profile(api, role, role_policy(role, bucket, prefix), out) for role in ROLES}
    ami = api.call('ssm', 'get_parameter', Name=ami_parameter)['Parameter']['Value']
    with open(TEMPLATE) as f:
        text = ready_yaml(f.read(), api.region, ami, nodes, ssh, arns[HEAD], arns[WORKER],
                          bucket, prefix)
    if getattr(api, 'dry_run', False):
        _say(out, 'would write %s (ec2/ray-cluster.yaml filled in)' % path)
        return path
    with open(path, 'w') as f:
        f.write(text)
    _say(out, 'wrote %s: start the cluster with .venv/bin/ray up %s' % (path, path))
    return path


def teardown(api, out):
    """teardown(api, out): remove the cluster's profiles, roles and groups (absent ones: fine)"""
    def quiet(service, operation, **params):
        try:
            return api.call(service, operation, **params)
        except Exception as exc:
            if aws.error_code(exc) not in ('NoSuchEntity', 'InvalidGroup.NotFound'):
                raise
            return {}
    for role in ROLES:
        quiet('iam', 'remove_role_from_instance_profile', InstanceProfileName=role,
              RoleName=role)
        quiet('iam', 'delete_instance_profile', InstanceProfileName=role)
        quiet('iam', 'delete_role_policy', RoleName=role, PolicyName=role)
        quiet('iam', 'delete_role', RoleName=role)
        _say(out, 'removed role and instance profile %s' % role)
    found = api.call('ec2', 'describe_security_groups', Filters=[
        {'Name': 'group-name', 'Values': [SSH_GROUP, NODES_GROUP]}]).get('SecurityGroups', [])
    # The SSH group first: the nodes' group is referenced by its own rule only.
    for group in sorted(found, key=lambda g: g['GroupName'] != SSH_GROUP):
        quiet('ec2', 'delete_security_group', GroupId=group['GroupId'])
        _say(out, 'removed security group %s (%s)' % (group['GroupName'], group['GroupId']))
