"""The life of a run's instances: launch, relaunch after a spot interruption, terminate, clean up.

One attempt is one instance. :func:`launch` makes the first (or, for a
manual ``resume``, a fresh one with new resources); :func:`relaunch` is what
an interrupted spot instance calls on its 2-minute notice to start its
successor with the same specification, the same resources and the run's
same deadline, up to ``--max-restarts``; :func:`terminate` removes what a
run created. Each attempt is recorded in ``runs/RUN/ec2/attempts.json``
(instance, kind, launch time, deadline), which ``status`` reads for the
restarts and the cost so far.
"""
import datetime
import io
import json
import os
import subprocess
import sys
import tarfile

from ec2 import aws, catalog, plan, preflight
from ec2.spec import LaunchSpec
from errors import UserError
from paths import REPO

__all__ = ['launch', 'relaunch', 'terminate', 'find_instances', 'load_spec', 'load_attempts',
           'code_files', 'code_tarball', 'LIVE_STATES', 'RelaunchRefused']

LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down']
QUOTA_CODES = ('VcpuLimitExceeded', 'MaxSpotInstanceCountExceeded', 'InstanceLimitExceeded')
EXCLUDED_DIRS = {'.git', '.venv', 'runs', 'data', 'results', '.cache', '__pycache__',
                 '.theano', '.pytest_cache', 'node_modules'}


class RelaunchRefused(UserError):
    """RelaunchRefused(message): an interrupted run that may not start another instance."""


# ---------------------------------------------------------------- launching

def launch(api, spec, out=None, data_folder=None, kind='launch', now=None):
    """launch(api, spec, out=None, data_folder=None, kind='launch', now=None) -> instance id

    Checks everything it can (:mod:`ec2.preflight`) before creating
    anything, then creates the run's code tarball (a ``resume`` keeps the
    first one), ``launch.json``, security group, role, instance profile and
    instance, and records the attempt. If a step fails, what was created so
    far is removed again. ``kind`` is ``'launch'`` or ``'resume'``.
    """
    out = out or sys.stdout
    now = plan.utc(now)
    preflight.check_spec(spec)
    checks = preflight.check_aws(api, spec, data_folder)
    deadline = now + datetime.timedelta(hours=spec.max_hours)
    user_data = plan.render_user_data(plan.user_data_config(spec, deadline),
                                      plan.power_off_block(plan.minutes_left(deadline, now),
                                                           deadline))
    if api.dry_run:
        out.write('--- user-data (%d bytes) ---\n%s--- end of user-data ---\n'
                  % (len(user_data.encode('utf-8')), user_data))
    if kind == 'launch' and aws.exists(api, spec.bucket, spec.layout['launch']):
        raise UserError('run %s exists already (launched within the same second?): '
                        'launch again' % spec.run_id)
    created = []
    try:
        _put_code_and_spec(api, spec, kind, created)
        created.append(('run', spec.run_id))
        resources = _create_resources(api, spec, checks)
        instance_id = run_instance(api, plan.run_instances_params(
            spec, user_data=user_data, **resources), spec, checks['vcpus'])
        if not api.dry_run:
            _record_attempt(api, spec, kind, instance_id, now, deadline, resources)
    except BaseException:
        _roll_back(api, spec.bucket, created)
        raise
    out.write(_summary(api, spec, instance_id, deadline))
    return instance_id


def _put_code_and_spec(api, spec, kind, created):
    layout = spec.layout
    if kind == 'launch' or not aws.exists(api, spec.bucket, layout['code']):
        aws.put_bytes(api, spec.bucket, layout['code'], code_tarball())
        created.append(('s3', layout['code']))
    if kind == 'launch':
        aws.put_json(api, spec.bucket, layout['launch'], spec.to_json())
        created.append(('s3', layout['launch']))


def _create_resources(api, spec, checks):
    """The run's security group, role (with its policy) and instance profile."""
    names, tags = spec.names, plan.tags_for(spec.run_id)
    group_id = api.call('ec2', 'create_security_group', GroupName=names['security_group'],
                        Description='kfkd run %s: no inbound traffic' % spec.run_id,
                        VpcId=checks['vpc_id'], TagSpecifications=[
                            {'ResourceType': 'security-group', 'Tags': tags}])['GroupId']
    if spec.ssh_from:
        api.call('ec2', 'authorize_security_group_ingress', GroupId=group_id,
                 IpPermissions=[{'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22,
                                 'IpRanges': [{'CidrIp': spec.ssh_from,
                                               'Description': 'ssh (--ssh-from)'}]}])
    role_arn = api.call('iam', 'create_role', RoleName=names['role'], Path=plan.IAM_PATH,
                        AssumeRolePolicyDocument=json.dumps(plan.EC2_TRUST_POLICY),
                        Description='kfkd run %s: read its data, write its results'
                                    % spec.run_id, Tags=tags)['Role']['Arn']
    relaunch_rights = None
    if spec.spot and spec.max_restarts > 0:
        relaunch_rights = {'region': api.region, 'account': checks['account'],
                           'role_arn': role_arn, 'security_group_id': group_id,
                           'instance_type': spec.instance_type}
    api.call('iam', 'put_role_policy', RoleName=names['role'], PolicyName=names['policy'],
             PolicyDocument=json.dumps(plan.role_policy(
                 spec.bucket, spec.layout, kaggle_parameter_arn=checks['kaggle_arn'],
                 relaunch=relaunch_rights)))
    profile_arn = api.call('iam', 'create_instance_profile', Path=plan.IAM_PATH,
                           InstanceProfileName=names['instance_profile'],
                           Tags=tags)['InstanceProfile']['Arn']
    api.call('iam', 'add_role_to_instance_profile', RoleName=names['role'],
             InstanceProfileName=names['instance_profile'])
    return {'image_id': checks['image_id'], 'security_group_id': group_id,
            'instance_profile_arn': profile_arn}


def _record_attempt(api, spec, kind, instance_id, now, deadline, resources):
    attempts = [] if kind == 'launch' else load_attempts(api, spec)
    if attempts and not attempts[-1].get('ended_at'):
        attempts[-1]['ended_at'] = plan.iso(now)
    attempts.append(_attempt(spec, kind, instance_id, now, deadline, resources))
    aws.put_json(api, spec.bucket, spec.layout['attempts'], {'attempts': attempts})
    if kind == 'resume':   # the options this attempt runs with
        aws.put_json(api, spec.bucket, spec.layout['launch'], spec.to_json())


def _summary(api, spec, instance_id, deadline):
    """What a launch prints: the instance, the estimate, the cost cap, what to do next."""
    sec, sec_source = spec.seconds_per_epoch
    cost = plan.estimate_cost(api.region, spec.instance_type, spec.spot, spec.epochs, sec,
                              spec.price_per_hour)
    default = spec.max_hours == plan.default_max_hours(spec.epochs, sec)
    lines = ['%s run %s: instance %s (%s, %s) in %s' % (
        'planned' if api.dry_run else 'launched', spec.run_id, instance_id,
        spec.instance_type, 'spot' if spec.spot else 'on-demand', api.region),
        plan.format_cost(cost, sec, sec_source, spec.epochs),
        plan.format_cap(spec.max_hours, deadline, spec.usd_per_hour, default)]
    if spec.spot:
        lines.append('spot interruptions: the run relaunches itself from its last checkpoint, '
                     'up to %d times (--max-restarts)' % spec.max_restarts)
    run = spec.run_id
    lines.append('results: s3://%s/%s\nnext: ec2/launch status %s; ec2/launch logs %s '
                 '--follow; ec2/launch fetch %s; ec2/launch terminate %s'
                 % (spec.bucket, spec.layout['run'], run, run, run, run))
    return '\n'.join(lines) + '\n'


def _attempt(spec, kind, instance_id, now, deadline, resources):
    return dict(resources, kind=kind, instance_id=instance_id,
                instance_type=spec.instance_type, spot=spec.spot,
                launched_at=plan.iso(now), deadline=plan.iso(deadline))


def run_instance(api, params, spec, vcpus, attempts=12):
    """RunInstances, waiting out the seconds a new instance profile takes to be usable."""
    for attempt in range(attempts):
        try:
            return api.call('ec2', 'run_instances', **params)['Instances'][0]['InstanceId']
        except Exception as exc:
            if not aws.is_client_error(exc):
                raise
            explained = explain_launch_error(exc, spec.instance_type, api.region,
                                             spec.spot, vcpus)
            if explained:
                raise explained
            profile_not_ready = (aws.error_code(exc) == 'InvalidParameterValue'
                                 and 'iamInstanceProfile' in str(exc))
            if not profile_not_ready or attempt == attempts - 1:
                raise
            api.sleep(5)


def explain_launch_error(exc, instance_type, region, spot, vcpus):
    """A one-line UserError for the errors RunInstances gives a user, else None."""
    code = aws.error_code(exc)
    if code in QUOTA_CODES:
        quota = ('All G and VT Spot Instance Requests' if spot
                 else 'Running On-Demand G and VT instances')
        return UserError('%s: the vCPU quota "%s" in %s is too small for %s (%s vCPUs); '
                         'ask for more in the Service Quotas console, then launch again'
                         % (code, quota, region, instance_type, vcpus))
    if code == 'InsufficientInstanceCapacity':
        return UserError('AWS has no spare %s capacity in %s now: try later, another '
                         'region, or --on-demand' % (instance_type, region))
    if code in ('SpotMaxPriceTooLow', 'Unsupported', 'InvalidParameterCombination'):
        return UserError('%s cannot be launched this way in %s: %s'
                         % (instance_type, region, exc))
    return None


def _roll_back(api, bucket, created):
    for kind, what in reversed(created):
        try:
            if kind == 's3':
                api.call('s3', 'delete_object', Bucket=bucket, Key=what)
            else:
                terminate(api, what, out=io.StringIO())
        except Exception as exc:   # the original error matters more
            sys.stderr.write('warning: could not roll back %s %s: %s\n' % (kind, what, exc))


def load_spec(api, bucket, prefix, run_id):
    """load_spec(api, bucket, prefix, run_id) -> the run's :class:`LaunchSpec`"""
    layout = plan.s3_layout(bucket, prefix, run_id)
    saved = aws.read_json(api, bucket, layout['launch'])
    if saved is None:
        raise UserError('run %s was not launched with this bucket/prefix (no s3://%s/%s)'
                        % (run_id, bucket, layout['launch']))
    return LaunchSpec.from_json(saved)


def load_attempts(api, spec):
    """load_attempts(api, spec) -> the run's attempts, oldest first ([] before the first)"""
    saved = aws.read_json(api, spec.bucket, spec.layout['attempts']) or {}
    return list(saved.get('attempts', []))


# ---------------------------------------------------------------- relaunching itself

def relaunch(api, spec, reason, now=None, out=None, capacity_waits=(20, 40)):
    """relaunch(api, spec, reason, now=None, out=None) -> the new instance id

    What an interrupted spot instance runs on its 2-minute notice: start the
    next attempt of the run with the same specification and resources as
    the last one (whose code tarball and checkpoint it resumes from), the
    same deadline, and one restart more. Raises :class:`RelaunchRefused`
    past ``--max-restarts`` or when the cost cap leaves no time to train.
    """
    out = out or sys.stdout
    now = plan.utc(now)
    attempts = load_attempts(api, spec)
    if not attempts:
        raise RelaunchRefused('run %s has no recorded attempt to continue' % spec.run_id)
    last = attempts[-1]
    restarts = plan.restarts_since_manual(attempts)
    if restarts >= spec.max_restarts:
        raise RelaunchRefused('--max-restarts %d reached: continue with `ec2/launch resume %s`'
                              % (spec.max_restarts, spec.run_id))
    deadline = plan.parse_utc(last['deadline'])
    minutes = plan.minutes_left(deadline, now)
    if minutes < catalog.SETUP_MINUTES + 5:
        raise RelaunchRefused('the cost cap leaves %d min, too few to set up and train: '
                              'continue with `ec2/launch resume %s --max-hours H`'
                              % (minutes, spec.run_id))
    resources = {k: last[k] for k in ('image_id', 'security_group_id', 'instance_profile_arn')}
    user_data = plan.render_user_data(plan.user_data_config(spec, deadline),
                                      plan.power_off_block(minutes, deadline))
    params = plan.run_instances_params(spec, user_data=user_data, **resources)
    waits = list(capacity_waits)
    while True:
        try:
            instance_id = run_instance(api, params, spec,
                                       catalog.INSTANCE_TYPES[spec.instance_type].vcpus)
            break
        except UserError as exc:
            if 'no spare' not in str(exc) or not waits:
                raise RelaunchRefused('relaunch failed: %s' % exc)
            api.sleep(waits.pop(0))
    last['ended_at'] = plan.iso(now)
    last['end'] = reason
    attempts.append(_attempt(spec, 'spot-relaunch', instance_id, now, deadline, resources))
    aws.put_json(api, spec.bucket, spec.layout['attempts'], {'attempts': attempts})
    out.write('relaunched run %s as %s (restart %d of %d)\n'
              % (spec.run_id, instance_id, restarts + 1, spec.max_restarts))
    return instance_id


# ---------------------------------------------------------------- finding, terminating

def _tag_filters(run_id=None):
    filters = [{'Name': 'tag:' + plan.TAG_PROJECT, 'Values': [plan.PROJECT]}]
    if run_id:
        filters.append({'Name': 'tag:' + plan.TAG_RUN, 'Values': [run_id]})
    return filters


def find_instances(api, run_id=None, states=None):
    """find_instances(api, run_id=None, states=None) -> list of instance dicts"""
    filters = _tag_filters(run_id)
    if states:
        filters.append({'Name': 'instance-state-name', 'Values': states})
    found, token = [], {}
    while True:
        answer = api.call('ec2', 'describe_instances', Filters=filters, **token)
        for reservation in answer.get('Reservations', []):
            found.extend(reservation.get('Instances', []))
        if not answer.get('NextToken'):
            return found
        token = {'NextToken': answer['NextToken']}


def tag_of(resource, key):
    for tag in resource.get('Tags', []):
        if tag['Key'] == key:
            return tag['Value']
    return None


def _our_iam(api, kind, run_id):
    """Names of our roles or instance profiles (kind 'role'/'profile') of one run or all."""
    operation, field, name_field = (('list_roles', 'Roles', 'RoleName') if kind == 'role' else
                                    ('list_instance_profiles', 'InstanceProfiles',
                                     'InstanceProfileName'))
    names, marker = [], {}
    while True:
        answer = api.call('iam', operation, PathPrefix=plan.IAM_PATH, **marker)
        for item in answer.get(field, []):
            name = item[name_field]
            if name.startswith(plan.NAME_PREFIX) and (run_id is None
                                                      or name == plan.NAME_PREFIX + run_id):
                names.append(name)
        if not answer.get('IsTruncated'):
            return names
        marker = {'Marker': answer['Marker']}


def terminate(api, run_id, out=None, wait_seconds=900):
    """terminate(api, run_id=None) -> number of resources removed

    Terminates the run's instance (every run's when ``run_id`` is None) and
    deletes its security group, instance profile and role (inline policies
    deleted, managed policies such as AmazonSSMManagedInstanceCore detached
    first). Results in S3 stay. Running it again removes nothing.
    """
    out = out or sys.stdout
    removed = 0
    live = [i['InstanceId'] for i in find_instances(api, run_id, LIVE_STATES)]
    if live:
        api.call('ec2', 'terminate_instances', InstanceIds=live)
        out.write('terminating %s\n' % ' '.join(live))
        removed += len(live)
        _wait_terminated(api, live, wait_seconds)
    groups = api.call('ec2', 'describe_security_groups',
                      Filters=_tag_filters(run_id)).get('SecurityGroups', [])
    for group in groups:
        _delete_security_group(api, group['GroupId'], wait_seconds)
        out.write('deleted security group %s (%s)\n' % (group['GroupId'], group['GroupName']))
        removed += 1
    for profile in _our_iam(api, 'profile', run_id):
        answer = aws.ignore_missing(api, 'iam', 'get_instance_profile',
                                    InstanceProfileName=profile)
        for role in (answer or {}).get('InstanceProfile', {}).get('Roles', []):
            aws.ignore_missing(api, 'iam', 'remove_role_from_instance_profile',
                               InstanceProfileName=profile, RoleName=role['RoleName'])
        aws.ignore_missing(api, 'iam', 'delete_instance_profile', InstanceProfileName=profile)
        out.write('deleted instance profile %s\n' % profile)
        removed += 1
    for role in _our_iam(api, 'role', run_id):
        answer = aws.ignore_missing(api, 'iam', 'list_role_policies', RoleName=role) or {}
        for policy in answer.get('PolicyNames', []):
            aws.ignore_missing(api, 'iam', 'delete_role_policy', RoleName=role,
                               PolicyName=policy)
        answer = aws.ignore_missing(api, 'iam', 'list_attached_role_policies',
                                    RoleName=role) or {}
        for policy in answer.get('AttachedPolicies', []):
            aws.ignore_missing(api, 'iam', 'detach_role_policy', RoleName=role,
                               PolicyArn=policy['PolicyArn'])
            out.write('detached %s from role %s\n' % (policy['PolicyName'], role))
        aws.ignore_missing(api, 'iam', 'delete_role', RoleName=role)
        out.write('deleted role %s\n' % role)
        removed += 1
    if not removed:
        out.write('nothing to remove%s\n' % (' for run %s' % run_id if run_id else ''))
    return removed


def _wait_terminated(api, instance_ids, wait_seconds, poll=10):
    waited = 0
    while True:
        answer = api.call('ec2', 'describe_instances', InstanceIds=instance_ids)
        states = [i['State']['Name'] for r in answer.get('Reservations', [])
                  for i in r.get('Instances', [])]
        if all(s == 'terminated' for s in states) or api.dry_run:
            return
        if waited >= wait_seconds:
            raise UserError('instances %s still not terminated after %d s: run the '
                            'command again later' % (' '.join(instance_ids), waited))
        api.sleep(poll)
        waited += poll


def _delete_security_group(api, group_id, wait_seconds, poll=10):
    # A group stays "in use" for a while after its instance has terminated.
    waited = 0
    while True:
        try:
            return aws.ignore_missing(api, 'ec2', 'delete_security_group', GroupId=group_id)
        except Exception as exc:
            if not (aws.is_client_error(exc) and aws.error_code(exc) == 'DependencyViolation'
                    and waited < wait_seconds):
                raise
        api.sleep(poll)
        waited += poll


# ---------------------------------------------------------------- the code it ships

def code_files(root=REPO):
    """code_files(root) -> sorted relative paths to ship to the instance

    Git's view where there is one (tracked and untracked files, less the
    ignored ones), else every file outside the run, data and cache folders.
    """
    try:
        listed = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=root,
                                capture_output=True, text=True, check=True).stdout
        paths = [p for p in listed.splitlines() if os.path.isfile(os.path.join(root, p))]
    except (OSError, subprocess.CalledProcessError):
        paths = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_DIRS)
            for name in files:
                if not name.endswith('.pyc'):
                    paths.append(os.path.relpath(os.path.join(folder, name), root))
    return sorted(p for p in paths if p.split('/')[0] not in EXCLUDED_DIRS)


def code_tarball(root=REPO):
    """code_tarball(root) -> bytes of a .tar.gz of :func:`code_files`"""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w:gz') as tar:
        for path in code_files(root):
            tar.add(os.path.join(root, path), arcname=path)
    return buffer.getvalue()
