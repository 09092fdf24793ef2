"""Put a training run on an EC2 GPU instance and bring its run folder back.

The command line is ``ec2/launch`` (see ``ec2/README.md``)::

    ec2/launch NET [--epochs N] [--bucket B] [--dry-run] [-- RUN_EXPERIMENT_OPTIONS]
    ec2/launch status [RUN] | fetch RUN | terminate RUN | cleanup | resume RUN

Every AWS call goes through one :class:`Api` (or :class:`DryRun`, which only
prints it), so ``--dry-run`` shows exactly the calls a real launch makes.
Everything the launcher creates carries the tags ``kfkd:project`` and
``kfkd:run`` (IAM objects also live under the path ``/kfkd-ec2/``), so
``terminate`` and ``cleanup`` find them from any machine; the only state is
in AWS and in ``s3://BUCKET/PREFIX/runs/RUN/ec2/launch.json``.
"""
import argparse
import datetime
import io
import ipaddress
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import time

from errors import UserError

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BOOTSTRAP = os.path.join(HERE, 'bootstrap.sh')

PROJECT = 'w207-facial-keypoints'
TAG_PROJECT = 'kfkd:project'
TAG_RUN = 'kfkd:run'
IAM_PATH = '/kfkd-ec2/'
NAME_PREFIX = 'kfkd-'

DEFAULT_INSTANCE_TYPE = 'g4dn.xlarge'
DEFAULT_PREFIX = 'kfkd'
# Named as the DLAMI guide says: the AMI's name without "Deep", "Learning", "AMI".
DEFAULT_AMI_PARAMETER = ('/aws/service/deeplearning/ami/x86_64/'
                         'base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id')
USER_DATA_LIMIT = 16 * 1024
CONFIG_MARKER = '# @CONFIG@'

# Snapshot of the public on-demand Linux prices (USD per hour), us-east-1,
# as listed on 2025-06-01. Spot with no maximum price never charges more than
# these; it is usually 30-70 % less. Override with --price-per-hour.
PRICE_SNAPSHOT_DATE = '2025-06-01'
ON_DEMAND_USD_PER_HOUR = {
    ('us-east-1', 'g4dn.xlarge'): 0.526,
    ('us-east-1', 'g4dn.2xlarge'): 0.752,
    ('us-east-1', 'g4dn.4xlarge'): 1.204,
    ('us-east-1', 'g5.xlarge'): 1.006,
    ('us-east-1', 'g5.2xlarge'): 1.212,
    ('us-east-1', 'g6.xlarge'): 0.8048,
    ('us-east-1', 'p3.2xlarge'): 3.06,
}

# Mean seconds per epoch in the study's own logs (../shared/data/w207_logs),
# measured on a GRID K520 without cuDNN in 2016. A T4 has not been measured:
# these are estimates, overridable with --sec-per-epoch.
K520_SEC_PER_EPOCH = {
    'cnet_nplfxl': 18.94, 'net6nplfxl': 18.92, 'net6x': 18.92,
    'net6rpxl': 14.32, 'net6nplf': 8.50, 'net6np': 5.14, 'net6rp': 2.96,
    'net6lp': 2.44, 'net6': 3.01, 'net5': 2.94, 'net4': 2.94, 'net3': 2.94,
    'net2': 2.94, 'net1': 0.07,
}
UNKNOWN_NET_SEC_PER_EPOCH = 18.94   # the slowest net of the study: an upper bound
SETUP_MINUTES = 15.0   # boot, Miniforge, conda environment, Theano compile cache

INSTANCE_TYPE_FORMAT = re.compile(r'^[a-z][a-z0-9-]*\.[a-z0-9-]+$')
NET_NAME_FORMAT = re.compile(r'^[A-Za-z][A-Za-z0-9_]{0,31}$')
BUCKET_FORMAT = re.compile(r'^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$')
LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down']
NOT_FOUND_CODES = ('NoSuchEntity', 'InvalidGroup.NotFound',
                   'InvalidInstanceID.NotFound', 'NoSuchKey', '404')


# ---------------------------------------------------------------- AWS calls

class Api(object):
    """Api(region, sleep=time.sleep)

    Makes AWS calls with boto3 and turns the errors a user can cause into
    :class:`UserError`. ``AWS_ENDPOINT_URL`` (boto3's own setting) points every
    client at another endpoint, such as moto's server in the tests.
    """
    dry_run = False

    def __init__(self, region, sleep=time.sleep):
        import boto3
        self.region = region
        self.sleep = sleep
        self._session = boto3.session.Session(region_name=region)
        self._clients = {}

    def client(self, service):
        if service not in self._clients:
            self._clients[service] = self._session.client(service)
        return self._clients[service]

    def call(self, service, operation, **params):
        from botocore.exceptions import (NoCredentialsError, NoRegionError,
                                         PartialCredentialsError)
        try:
            return getattr(self.client(service), operation)(**params)
        except (NoCredentialsError, PartialCredentialsError):
            raise UserError('no AWS credentials found: run `aws configure` '
                            '(or set AWS_PROFILE / AWS_ACCESS_KEY_ID and '
                            'AWS_SECRET_ACCESS_KEY)')
        except NoRegionError:
            raise UserError('no AWS region: pass --region')


class DryRun(object):
    """DryRun(region, out=None)

    Stands in for :class:`Api`: prints each call and answers with
    placeholders, so a dry run walks the same code path as a real launch.
    """
    dry_run = True

    def __init__(self, region, out=None):
        self.region = region
        self.out = out or sys.stdout
        self.sleep = lambda seconds: None

    def call(self, service, operation, **params):
        shown = dict(params)
        for key in ('UserData', 'Body'):
            if key in shown:
                shown[key] = '<%d bytes>' % len(shown[key])
        self.out.write('would call %s.%s %s\n' % (
            service, operation, json.dumps(shown, sort_keys=True, default=str)))
        return _dry_answer(service, operation, params)


def _dry_answer(service, operation, params):
    """The placeholder answer a dry run gives in place of AWS."""
    if operation == 'get_caller_identity':
        return {'Account': '<account>'}
    if operation == 'get_parameter':
        return {'Parameter': {'Value': '<ami from %s>' % params['Name'],
                              'Type': 'SecureString'}}
    if operation == 'describe_instance_types':
        return {'InstanceTypes': [{'VCpuInfo': {'DefaultVCpus': '<vcpus>'}}]}
    if operation == 'describe_vpcs':
        return {'Vpcs': [{'VpcId': '<default-vpc>'}]}
    if operation == 'describe_subnets':
        return {'Subnets': [{'VpcId': '<vpc of subnet>'}]}
    if operation == 'list_objects_v2':
        return {'KeyCount': 1, 'Contents': [{'Key': params['Prefix'] + 'training.csv'}]}
    if operation == 'create_security_group':
        return {'GroupId': '<security-group-id>'}
    if operation == 'create_role':
        return {'Role': {'Arn': 'arn:aws:iam::<account>:role%s%s'
                         % (IAM_PATH, params['RoleName'])}}
    if operation == 'create_instance_profile':
        return {'InstanceProfile': {
            'Arn': 'arn:aws:iam::<account>:instance-profile%s%s'
                   % (IAM_PATH, params['InstanceProfileName'])}}
    if operation == 'run_instances':
        return {'Instances': [{'InstanceId': '<instance-id>'}]}
    return {}


def _error_code(exc):
    response = getattr(exc, 'response', None) or {}
    return str(response.get('Error', {}).get('Code', ''))


def _is_client_error(exc):
    from botocore.exceptions import ClientError
    return isinstance(exc, ClientError)


def _ignore_missing(api, service, operation, **params):
    """Make a delete call; a resource that is already gone is no error."""
    try:
        return api.call(service, operation, **params)
    except Exception as exc:
        if _is_client_error(exc) and _error_code(exc) in NOT_FOUND_CODES:
            return None
        raise


# ---------------------------------------------------------------- names, S3 layout

def run_names(run_id):
    """run_names(run_id) -> dict

    The names of what a run creates: one security group, role and instance
    profile per run, all called ``kfkd-<run_id>``.

    >>> run_names('net6-20250101-120000')['role']
    'kfkd-net6-20250101-120000'
    """
    name = NAME_PREFIX + run_id
    return {'security_group': name, 'role': name, 'instance_profile': name,
            'policy': 'kfkd-s3-run-access'}


def s3_layout(bucket, prefix, run_id):
    """s3_layout(bucket, prefix, run_id) -> dict of keys

    >>> s3_layout('b', 'kfkd', 'net6-1')['run']
    'kfkd/runs/net6-1/'
    """
    base = prefix.strip('/') + '/' if prefix.strip('/') else ''
    return {'data': base + 'data/', 'run': base + 'runs/%s/' % run_id,
            'code': base + 'code/%s.tar.gz' % run_id,
            'launch': base + 'runs/%s/ec2/launch.json' % run_id}


def tags_for(run_id):
    return [{'Key': TAG_PROJECT, 'Value': PROJECT}, {'Key': TAG_RUN, 'Value': run_id},
            {'Key': 'Name', 'Value': NAME_PREFIX + run_id}]


def new_run_id(net, now=None):
    """new_run_id(net, now=None) -> '<net>-<YYYYmmdd-HHMMSS>' (UTC), as run folders are named.

    >>> new_run_id('net6', datetime.datetime(2025, 1, 2, 3, 4, 5))
    'net6-20250102-030405'
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return '%s-%s' % (net, now.strftime('%Y%m%d-%H%M%S'))


def role_policy(bucket, layout, partition='aws', kaggle_parameter_arn=None):
    """role_policy(bucket, layout, ...) -> IAM policy document (dict)

    Least privilege for the instance: read the data prefix, its own code
    tarball and its own run prefix (to resume); write only its own run prefix.
    """
    arn = 'arn:%s:s3:::%s/' % (partition, bucket)
    statements = [
        {'Sid': 'ReadDataCodeAndOwnRun', 'Effect': 'Allow', 'Action': 's3:GetObject',
         'Resource': [arn + layout['data'] + '*', arn + layout['code'],
                      arn + layout['run'] + '*']},
        {'Sid': 'WriteOwnRun', 'Effect': 'Allow', 'Action': 's3:PutObject',
         'Resource': arn + layout['run'] + '*'},
        {'Sid': 'ListDataAndOwnRun', 'Effect': 'Allow', 'Action': 's3:ListBucket',
         'Resource': 'arn:%s:s3:::%s' % (partition, bucket),
         'Condition': {'StringLike': {'s3:prefix': [
             layout['data'], layout['data'] + '*', layout['run'], layout['run'] + '*']}}},
    ]
    if kaggle_parameter_arn:
        statements.append({'Sid': 'ReadKaggleToken', 'Effect': 'Allow',
                           'Action': 'ssm:GetParameter', 'Resource': kaggle_parameter_arn})
    return {'Version': '2012-10-17', 'Statement': statements}


EC2_TRUST_POLICY = {'Version': '2012-10-17', 'Statement': [{
    'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'},
    'Action': 'sts:AssumeRole'}]}


# ---------------------------------------------------------------- cost

def sec_per_epoch_estimate(net):
    """sec_per_epoch_estimate(net) -> (seconds, where the figure comes from)

    The study's GRID K520 figure for the net, or for the longest known name
    it starts with, or the slowest net's figure when nothing matches.

    >>> sec_per_epoch_estimate('net6rhl')
    (3.01, 'GRID K520 log of net6 (2016)')
    """
    name = net.lower()
    for known in sorted(K520_SEC_PER_EPOCH, key=len, reverse=True):
        if name.startswith(known):
            return K520_SEC_PER_EPOCH[known], 'GRID K520 log of %s (2016)' % known
    return UNKNOWN_NET_SEC_PER_EPOCH, 'no log of %s: slowest net of the study' % net


def estimate_cost(region, instance_type, spot, epochs, sec_per_epoch,
                  price_per_hour=None, setup_minutes=SETUP_MINUTES):
    """estimate_cost(...) -> dict(usd_per_hour, hours, usd, price_source)

    ``usd_per_hour`` is None when the type is not in the price snapshot and
    no ``price_per_hour`` is given; ``hours`` is None without ``epochs``.

    >>> c = estimate_cost('us-east-1', 'g4dn.xlarge', False, 1000, 3.6)
    >>> round(c['hours'], 2), round(c['usd'], 3)
    (1.25, 0.657)
    """
    if price_per_hour is not None:
        usd_per_hour, source = float(price_per_hour), 'given with --price-per-hour'
    else:
        usd_per_hour = ON_DEMAND_USD_PER_HOUR.get((region, instance_type))
        source = ('on-demand price snapshot of %s%s' % (
            PRICE_SNAPSHOT_DATE, '; spot is at most this' if spot else '')
            if usd_per_hour is not None else
            'not in the price snapshot: pass --price-per-hour')
    hours = None if epochs is None else (epochs * sec_per_epoch + setup_minutes * 60) / 3600.0
    usd = None if hours is None or usd_per_hour is None else hours * usd_per_hour
    return {'usd_per_hour': usd_per_hour, 'hours': hours, 'usd': usd,
            'price_source': source}


def format_cost(cost, sec_per_epoch, sec_source, epochs):
    lines = ['cost estimate (an estimate, not a quote):']
    if cost['usd_per_hour'] is None:
        lines.append('  per hour: unknown (%s)' % cost['price_source'])
    else:
        lines.append('  per hour: $%.3f (%s)' % (cost['usd_per_hour'], cost['price_source']))
    lines.append('  seconds per epoch: %.2f (%s)' % (sec_per_epoch, sec_source))
    if epochs is None:
        lines.append('  for the run: unknown (pass --epochs)')
    else:
        lines.append('  for the run: %d epochs + %.0f min setup = %.2f h%s' % (
            epochs, SETUP_MINUTES, cost['hours'],
            '' if cost['usd'] is None else ', $%.2f' % cost['usd']))
    return '\n'.join(lines)


# ---------------------------------------------------------------- user-data and code

def render_user_data(config, bootstrap_path=BOOTSTRAP):
    """render_user_data(config) -> str

    ``ec2/bootstrap.sh`` with the run's settings written in at its
    ``# @CONFIG@`` line. ``config`` maps ``KFKD_*`` names to strings; values
    are shell-quoted. No secret belongs here (user-data is readable by anyone
    who can describe the instance); the Kaggle token stays in SSM.
    """
    with open(bootstrap_path) as f:
        script = f.read()
    if CONFIG_MARKER not in script:
        raise RuntimeError('%s lacks the %s line' % (bootstrap_path, CONFIG_MARKER))
    lines = ['%s=%s' % (key, shlex.quote(str(value))) for key, value in sorted(config.items())]
    user_data = script.replace(CONFIG_MARKER, '\n'.join(lines), 1)
    size = len(user_data.encode('utf-8'))
    if size > USER_DATA_LIMIT:
        raise UserError('user-data is %d bytes, over the 16 KB EC2 limit: '
                        'shorten the run_experiment options' % size)
    return user_data


EXCLUDED_DIRS = {'.git', '.venv', 'runs', 'data', 'results', '.cache', '__pycache__',
                 '.theano', '.pytest_cache', 'node_modules'}


def code_files(root=REPO):
    """code_files(root) -> sorted relative paths to ship to the instance

    Git's view where there is one (tracked and untracked files, less the
    ignored ones), else every file outside the run, data and cache folders.
    """
    try:
        out = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=root,
                             capture_output=True, text=True, check=True).stdout
        paths = [p for p in out.splitlines() if os.path.isfile(os.path.join(root, p))]
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


# ---------------------------------------------------------------- checks before creating anything

def check_instance_type_format(instance_type):
    if not INSTANCE_TYPE_FORMAT.match(instance_type or ''):
        raise UserError('instance type %r is not of the form FAMILY.SIZE '
                        '(for example g4dn.xlarge)' % instance_type)


def check_bucket(bucket):
    if not bucket:
        raise UserError('no S3 bucket: pass --bucket NAME (or set KFKD_BUCKET)')
    if not BUCKET_FORMAT.match(bucket):
        raise UserError('%r is not a valid S3 bucket name' % bucket)


def check_account(api):
    return api.call('sts', 'get_caller_identity')['Account']


def check_instance_type_exists(api, instance_type):
    try:
        answer = api.call('ec2', 'describe_instance_types', InstanceTypes=[instance_type])
    except Exception as exc:
        if _is_client_error(exc) and 'InvalidInstanceType' in _error_code(exc):
            hint = (' (the study\'s g2 types are retired; try g4dn.xlarge)'
                    if instance_type.startswith('g2.') else '')
            raise UserError('instance type %s does not exist in %s%s'
                            % (instance_type, api.region, hint))
        raise
    types = answer.get('InstanceTypes') or [{}]
    return types[0].get('VCpuInfo', {}).get('DefaultVCpus')


def check_bucket_reachable(api, bucket):
    try:
        api.call('s3', 'head_bucket', Bucket=bucket)
    except Exception as exc:
        if not _is_client_error(exc):
            raise
        code = _error_code(exc)
        if code in ('404', 'NoSuchBucket', 'NotFound'):
            raise UserError('S3 bucket %s does not exist: create it with '
                            '`aws s3 mb s3://%s --region %s`' % (bucket, bucket, api.region))
        if code in ('403', 'AccessDenied', 'Forbidden'):
            raise UserError('S3 bucket %s is not yours or your credentials may not use it'
                            % bucket)
        raise


def find_ami(api, parameter):
    try:
        return api.call('ssm', 'get_parameter', Name=parameter)['Parameter']['Value']
    except Exception as exc:
        if _is_client_error(exc) and _error_code(exc) == 'ParameterNotFound':
            raise UserError('SSM parameter %s does not exist in %s: no AMI to launch '
                            '(check --ami-parameter)' % (parameter, api.region))
        raise


def check_kaggle_parameter(api, name):
    try:
        parameter = api.call('ssm', 'get_parameter', Name=name, WithDecryption=False)
    except Exception as exc:
        if _is_client_error(exc) and _error_code(exc) == 'ParameterNotFound':
            raise UserError('SSM parameter %s (the Kaggle token) does not exist in %s'
                            % (name, api.region))
        raise
    if parameter['Parameter'].get('Type') != 'SecureString':
        raise UserError('SSM parameter %s must be a SecureString (it holds the Kaggle token)'
                        % name)


def find_vpc(api, subnet_id):
    if subnet_id:
        subnets = api.call('ec2', 'describe_subnets', SubnetIds=[subnet_id])['Subnets']
        return subnets[0]['VpcId']
    vpcs = api.call('ec2', 'describe_vpcs',
                    Filters=[{'Name': 'isDefault', 'Values': ['true']}])['Vpcs']
    if not vpcs:
        raise UserError('region %s has no default VPC: pass --subnet-id' % api.region)
    return vpcs[0]['VpcId']


DATA_FILES = ('training.csv', 'training.zip', 'test.csv', 'test.zip',
              'IdLookupTable.csv', 'SampleSubmission.csv')


def upload_data(api, bucket, layout, folder):
    """Upload the Kaggle files found in ``folder`` to the data prefix."""
    present = [n for n in DATA_FILES if os.path.isfile(os.path.join(folder, n))]
    if not any(n.startswith('training.') for n in present):
        raise UserError('%s has no training.csv or training.zip to upload' % folder)
    for name in present:
        with open(os.path.join(folder, name), 'rb') as f:
            api.call('s3', 'put_object', Bucket=bucket, Key=layout['data'] + name,
                     Body=f.read())
    return present


def check_data(api, bucket, layout):
    answer = api.call('s3', 'list_objects_v2', Bucket=bucket, Prefix=layout['data'])
    names = [c['Key'][len(layout['data']):] for c in answer.get('Contents', [])]
    if not any(n in ('training.csv', 'training.zip') for n in names):
        raise UserError('no training.csv or training.zip under s3://%s/%s: pass '
                        '--upload-data DIR, --kaggle-token-parameter NAME or --data synthetic'
                        % (bucket, layout['data']))


QUOTA_CODES = ('VcpuLimitExceeded', 'MaxSpotInstanceCountExceeded', 'InstanceLimitExceeded')


def explain_launch_error(exc, instance_type, region, spot, vcpus):
    """A one-line UserError for the errors RunInstances gives a user, else None."""
    code = _error_code(exc)
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


# ---------------------------------------------------------------- start

def start(api, options, out=None):
    """start(api, options, out) -> run id

    Checks everything it can before creating anything, then creates the
    run's code tarball, role, instance profile, security group and instance.
    If a step fails, what was created so far is removed again.
    """
    out = out or sys.stdout
    check_instance_type_format(options.instance_type)
    check_bucket(options.bucket)
    if not NET_NAME_FORMAT.match(options.net):
        raise UserError('net name %r is not a name (letters, digits, _)' % options.net)
    if options.ssh_from:
        try:
            ipaddress.ip_network(options.ssh_from)
        except ValueError:
            raise UserError('--ssh-from %r is not a CIDR such as 203.0.113.7/32'
                            % options.ssh_from)
    run_id = options.run_id or new_run_id(options.net)
    if len(NAME_PREFIX + run_id) > 64:
        raise UserError('run id %s is too long for an IAM role name' % run_id)
    layout = s3_layout(options.bucket, options.prefix, run_id)
    spot = not options.on_demand

    sec, sec_source = ((options.sec_per_epoch, 'given with --sec-per-epoch')
                       if options.sec_per_epoch else sec_per_epoch_estimate(options.net))
    cost = estimate_cost(api.region, options.instance_type, spot, options.epochs, sec,
                         options.price_per_hour)

    account = check_account(api)
    vcpus = check_instance_type_exists(api, options.instance_type)
    check_bucket_reachable(api, options.bucket)
    ami = find_ami(api, options.ami_parameter)
    vpc_id = find_vpc(api, options.subnet_id)
    kaggle_arn = None
    if options.data == 'synthetic':
        source = 'synthetic'
    elif options.kaggle_token_parameter:
        source = 'kaggle'
        check_kaggle_parameter(api, options.kaggle_token_parameter)
        kaggle_arn = 'arn:aws:ssm:%s:%s:parameter/%s' % (
            api.region, account, options.kaggle_token_parameter.lstrip('/'))
    else:
        source = 's3'
        if options.upload_data:
            upload_data(api, options.bucket, layout, options.upload_data)
        check_data(api, options.bucket, layout)

    run_args = []
    if options.resume:   # the options of the first attempt, as launch.json kept them
        run_args = list(options.run_args)
    elif options.epochs is not None:
        run_args += ['--epochs', str(options.epochs)]
    if not options.resume:
        if options.preprocess:
            run_args += ['--preprocess', options.preprocess]
        if options.seed is not None:
            run_args += ['--seed', str(options.seed)]
        run_args += options.run_args
    config = {
        'KFKD_RUN_ID': run_id, 'KFKD_NET': options.net, 'KFKD_REGION': api.region,
        'KFKD_ARGS': ' '.join(shlex.quote(a) for a in run_args),
        'KFKD_S3_RUN': 's3://%s/%s' % (options.bucket, layout['run'].rstrip('/')),
        'KFKD_S3_CODE': 's3://%s/%s' % (options.bucket, layout['code']),
        'KFKD_S3_DATA': 's3://%s/%s' % (options.bucket, layout['data'].rstrip('/')),
        'KFKD_DATA_SOURCE': source,
        'KFKD_KAGGLE_PARAMETER': options.kaggle_token_parameter or '',
        'KFKD_SHUTDOWN': '1' if options.shutdown else '0',
        'KFKD_EPOCHS': '' if options.epochs is None else str(options.epochs),
    }
    user_data = render_user_data(config)
    names = run_names(run_id)
    tags = tags_for(run_id)

    if api.dry_run:
        out.write('--- user-data (%d bytes) ---\n%s--- end of user-data ---\n'
                  % (len(user_data.encode('utf-8')), user_data))
    if not options.resume and _s3_exists(api, options.bucket, layout['launch']):
        raise UserError('run %s exists already (launched within the same second?): '
                        'launch again' % run_id)
    created = []
    try:
        if not options.resume or not _s3_exists(api, options.bucket, layout['code']):
            api.call('s3', 'put_object', Bucket=options.bucket, Key=layout['code'],
                     Body=code_tarball())
            created.append(('s3', layout['code']))
        if not options.resume:
            launch = {'net': options.net, 'run_id': run_id, 'run_args': run_args,
                      'instance_type': options.instance_type, 'spot': spot,
                      'region': api.region, 'bucket': options.bucket,
                      'prefix': options.prefix, 'data_source': source,
                      'kaggle_token_parameter': options.kaggle_token_parameter,
                      'epochs': options.epochs, 'ami_parameter': options.ami_parameter}
            api.call('s3', 'put_object', Bucket=options.bucket, Key=layout['launch'],
                     Body=json.dumps(launch, indent=1).encode('utf-8'))
            created.append(('s3', layout['launch']))
        created.append(('run', run_id))
        api.call('iam', 'create_role', RoleName=names['role'], Path=IAM_PATH,
                 AssumeRolePolicyDocument=json.dumps(EC2_TRUST_POLICY),
                 Description='kfkd run %s: read its data, write its results' % run_id,
                 Tags=tags)
        api.call('iam', 'put_role_policy', RoleName=names['role'],
                 PolicyName=names['policy'],
                 PolicyDocument=json.dumps(role_policy(options.bucket, layout,
                                                       kaggle_parameter_arn=kaggle_arn)))
        profile = api.call('iam', 'create_instance_profile', Path=IAM_PATH,
                           InstanceProfileName=names['instance_profile'], Tags=tags)
        api.call('iam', 'add_role_to_instance_profile', RoleName=names['role'],
                 InstanceProfileName=names['instance_profile'])
        group_id = api.call('ec2', 'create_security_group', GroupName=names['security_group'],
                            Description='kfkd run %s: no inbound traffic' % run_id,
                            VpcId=vpc_id, TagSpecifications=[
                                {'ResourceType': 'security-group', 'Tags': tags}])['GroupId']
        if options.ssh_from:
            api.call('ec2', 'authorize_security_group_ingress', GroupId=group_id,
                     IpPermissions=[{'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22,
                                     'IpRanges': [{'CidrIp': options.ssh_from,
                                                   'Description': 'ssh (--ssh-from)'}]}])
        params = dict(
            ImageId=ami, InstanceType=options.instance_type, MinCount=1, MaxCount=1,
            UserData=user_data, SecurityGroupIds=[group_id],
            IamInstanceProfile={'Arn': profile['InstanceProfile']['Arn']},
            MetadataOptions={'HttpTokens': 'required', 'HttpEndpoint': 'enabled',
                             'HttpPutResponseHopLimit': 1},
            InstanceInitiatedShutdownBehavior='terminate',
            TagSpecifications=[{'ResourceType': 'instance', 'Tags': tags},
                               {'ResourceType': 'volume', 'Tags': tags}])
        if spot:
            params['InstanceMarketOptions'] = {'MarketType': 'spot', 'SpotOptions': {
                'SpotInstanceType': 'one-time', 'InstanceInterruptionBehavior': 'terminate'}}
            params['TagSpecifications'].append(
                {'ResourceType': 'spot-instances-request', 'Tags': tags})
        if options.subnet_id:
            params['SubnetId'] = options.subnet_id
        if options.key_name:
            params['KeyName'] = options.key_name
        instance_id = _run_instance(api, params, options, spot, vcpus)
    except BaseException:
        _roll_back(api, options.bucket, created)
        raise

    out.write('%s run %s: instance %s (%s, %s) in %s\n' % (
        'planned' if api.dry_run else 'launched', run_id, instance_id,
        options.instance_type, 'spot' if spot else 'on-demand', api.region))
    out.write(format_cost(cost, sec, sec_source, options.epochs) + '\n')
    out.write('results: s3://%s/%s\nnext: ec2/launch status %s; ec2/launch fetch %s; '
              'ec2/launch terminate %s\n' % (options.bucket, layout['run'], run_id,
                                             run_id, run_id))
    return run_id


def _run_instance(api, params, options, spot, vcpus, attempts=12):
    """RunInstances, waiting out the seconds a new instance profile takes to be usable."""
    for attempt in range(attempts):
        try:
            return api.call('ec2', 'run_instances', **params)['Instances'][0]['InstanceId']
        except Exception as exc:
            if not _is_client_error(exc):
                raise
            explained = explain_launch_error(exc, options.instance_type, api.region,
                                             spot, vcpus)
            if explained:
                raise explained
            profile_not_ready = (_error_code(exc) == 'InvalidParameterValue'
                                 and 'iamInstanceProfile' in str(exc))
            if not profile_not_ready or attempt == attempts - 1:
                raise
            api.sleep(5)


def _roll_back(api, bucket, created):
    for kind, what in reversed(created):
        try:
            if kind == 's3':
                api.call('s3', 'delete_object', Bucket=bucket, Key=what)
            else:
                terminate(api, what, out=io.StringIO())
        except Exception as exc:   # the original error matters more
            sys.stderr.write('warning: could not roll back %s %s: %s\n' % (kind, what, exc))


def _s3_exists(api, bucket, key):
    if api.dry_run:
        return False
    try:
        api.call('s3', 'head_object', Bucket=bucket, Key=key)
        return True
    except Exception as exc:
        if _is_client_error(exc) and _error_code(exc) in NOT_FOUND_CODES + ('NotFound',):
            return False
        raise


# ---------------------------------------------------------------- finding, terminating, cleaning up

def _tag_filters(run_id=None):
    filters = [{'Name': 'tag:' + TAG_PROJECT, 'Values': [PROJECT]}]
    if run_id:
        filters.append({'Name': 'tag:' + TAG_RUN, 'Values': [run_id]})
    return filters


def find_instances(api, run_id=None, states=None):
    """find_instances(api, run_id=None, states=None) -> list of instance dicts"""
    filters = _tag_filters(run_id)
    if states:
        filters.append({'Name': 'instance-state-name', 'Values': states})
    found = []
    token = {}
    while True:
        answer = api.call('ec2', 'describe_instances', Filters=filters, **token)
        for reservation in answer.get('Reservations', []):
            found.extend(reservation.get('Instances', []))
        if not answer.get('NextToken'):
            return found
        token = {'NextToken': answer['NextToken']}


def _tag(resource, key):
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
        answer = api.call('iam', operation, PathPrefix=IAM_PATH, **marker)
        for item in answer.get(field, []):
            name = item[name_field]
            if name.startswith(NAME_PREFIX) and (run_id is None
                                                 or name == NAME_PREFIX + run_id):
                names.append(name)
        if not answer.get('IsTruncated'):
            return names
        marker = {'Marker': answer['Marker']}


def terminate(api, run_id, out=None, wait_seconds=900):
    """terminate(api, run_id=None) -> number of resources removed

    Terminates the run's instance (every run's when ``run_id`` is None) and
    deletes its security group, instance profile and role. Results in S3 stay.
    Running it again finds nothing and removes nothing.
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
        answer = _ignore_missing(api, 'iam', 'get_instance_profile',
                                 InstanceProfileName=profile)
        for role in (answer or {}).get('InstanceProfile', {}).get('Roles', []):
            _ignore_missing(api, 'iam', 'remove_role_from_instance_profile',
                            InstanceProfileName=profile, RoleName=role['RoleName'])
        _ignore_missing(api, 'iam', 'delete_instance_profile', InstanceProfileName=profile)
        out.write('deleted instance profile %s\n' % profile)
        removed += 1
    for role in _our_iam(api, 'role', run_id):
        answer = _ignore_missing(api, 'iam', 'list_role_policies', RoleName=role) or {}
        for policy in answer.get('PolicyNames', []):
            _ignore_missing(api, 'iam', 'delete_role_policy', RoleName=role,
                            PolicyName=policy)
        _ignore_missing(api, 'iam', 'delete_role', RoleName=role)
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
            return _ignore_missing(api, 'ec2', 'delete_security_group', GroupId=group_id)
        except Exception as exc:
            if not (_is_client_error(exc) and _error_code(exc) == 'DependencyViolation'
                    and waited < wait_seconds):
                raise
        api.sleep(poll)
        waited += poll


# ---------------------------------------------------------------- status and fetch

def _list_keys(api, bucket, prefix):
    keys, token = [], {}
    while True:
        answer = api.call('s3', 'list_objects_v2', Bucket=bucket, Prefix=prefix, **token)
        keys.extend((c['Key'], c.get('Size', 0)) for c in answer.get('Contents', []))
        if not answer.get('IsTruncated'):
            return keys
        token = {'ContinuationToken': answer['NextContinuationToken']}


def _read_text(api, bucket, key):
    try:
        return api.call('s3', 'get_object', Bucket=bucket, Key=key)['Body'].read().decode(
            'utf-8', 'replace')
    except Exception as exc:
        if _is_client_error(exc) and _error_code(exc) in NOT_FOUND_CODES:
            return None
        raise


def status(api, run_id, bucket, prefix, out=None):
    """status(api, run_id, bucket, prefix, out) -> dict

    The run's instances (or every run's, without ``run_id``) and, with a
    bucket, what the run has uploaded: its bootstrap status and last epoch.
    """
    out = out or sys.stdout
    instances = find_instances(api, run_id)
    now = datetime.datetime.now(datetime.timezone.utc)
    for i in instances:
        launched = i.get('LaunchTime')
        hours = ((now - launched).total_seconds() / 3600.0
                 if isinstance(launched, datetime.datetime) else None)
        out.write('%s %s %s %s %s%s\n' % (
            _tag(i, TAG_RUN), i['InstanceId'], i['InstanceType'], i['State']['Name'],
            i.get('InstanceLifecycle', 'on-demand'),
            '' if hours is None else ' up %.2f h' % hours))
    if not instances:
        out.write('no instance%s\n' % (' for run %s' % run_id if run_id else ''))
    report = {'instances': instances}
    if run_id and bucket:
        layout = s3_layout(bucket, prefix, run_id)
        state = _read_text(api, bucket, layout['run'] + 'ec2/status.txt')
        history = _read_text(api, bucket, layout['run'] + 'history.csv')
        last = history.strip().splitlines()[-1] if history and history.strip() else None
        out.write('bootstrap status: %s\n' % (state.strip() if state else
                                              'nothing uploaded yet'))
        if last and not last.startswith('epoch'):
            out.write('last epoch (epoch,train_loss,valid_loss,...): %s\n' % last)
        out.write('bootstrap log: s3://%s/%sec2/bootstrap.log\n' % (bucket, layout['run']))
        report.update(bootstrap_status=state and state.strip(), last_epoch=last)
    return report


def fetch(api, run_id, bucket, prefix, dest=None, out=None):
    """fetch(api, run_id, bucket, prefix, dest=None) -> local folder

    Downloads ``s3://bucket/prefix/runs/RUN/`` to ``dest`` (default
    ``runs/RUN``). Each file is written beside its place, then renamed.
    """
    out = out or sys.stdout
    check_bucket(bucket)
    layout = s3_layout(bucket, prefix, run_id)
    keys = _list_keys(api, bucket, layout['run'])
    if not keys:
        raise UserError('nothing under s3://%s/%s yet: see `ec2/launch status %s`'
                        % (bucket, layout['run'], run_id))
    dest = dest or os.path.join('runs', run_id)
    for key, _size in keys:
        relative = key[len(layout['run']):]
        if not relative or relative.endswith('/'):
            continue
        target = os.path.join(dest, *relative.split('/'))
        if not os.path.abspath(target).startswith(os.path.abspath(dest) + os.sep):
            continue   # a key with '..' in it would land outside dest
        os.makedirs(os.path.dirname(target), exist_ok=True)
        body = api.call('s3', 'get_object', Bucket=bucket, Key=key)['Body'].read()
        with open(target + '.part', 'wb') as f:
            f.write(body)
        os.replace(target + '.part', target)
    out.write('fetched %d files to %s\n' % (len(keys), dest))
    return dest


def load_launch(api, run_id, bucket, prefix):
    """The options a run was launched with (``runs/RUN/ec2/launch.json``)."""
    text = _read_text(api, bucket, s3_layout(bucket, prefix, run_id)['launch'])
    if text is None:
        raise UserError('run %s was not launched with this bucket/prefix '
                        '(no s3://%s/%s)' % (run_id, bucket,
                                              s3_layout(bucket, prefix, run_id)['launch']))
    return json.loads(text)


# ---------------------------------------------------------------- command line

COMMANDS = ('start', 'status', 'fetch', 'terminate', 'cleanup', 'resume')


def build_parser():
    parser = argparse.ArgumentParser(
        prog='ec2/launch', description='Train a net on an EC2 GPU instance; results via S3.')
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--region', default=(os.environ.get('AWS_REGION')
                                             or os.environ.get('AWS_DEFAULT_REGION')
                                             or 'us-east-1'))
    common.add_argument('--bucket', default=os.environ.get('KFKD_BUCKET'),
                        help='S3 bucket for data and results (default $KFKD_BUCKET)')
    common.add_argument('--prefix', default=os.environ.get('KFKD_PREFIX', DEFAULT_PREFIX),
                        help='key prefix in the bucket (default %(default)s)')
    common.add_argument('--dry-run', action='store_true',
                        help='print every AWS call instead of making it')
    commands = parser.add_subparsers(dest='command')

    launch = argparse.ArgumentParser(add_help=False)
    launch.add_argument('--instance-type', default=DEFAULT_INSTANCE_TYPE)
    launch.add_argument('--on-demand', action='store_true',
                        help='on-demand instead of spot (spot has no maximum price)')
    launch.add_argument('--ami-parameter', default=DEFAULT_AMI_PARAMETER,
                        help='SSM parameter holding the AMI id (default: %(default)s)')
    launch.add_argument('--ssh-from', metavar='CIDR',
                        help='allow SSH from this CIDR (default: no inbound rule)')
    launch.add_argument('--key-name', help='EC2 key pair for SSH')
    launch.add_argument('--subnet-id', help='subnet (default: the default VPC)')
    launch.add_argument('--no-shutdown', dest='shutdown', action='store_false',
                        help='keep the instance up when the run ends')
    launch.add_argument('--price-per-hour', type=float,
                        help='USD per hour for the estimate')
    launch.add_argument('--sec-per-epoch', type=float,
                        help='seconds per epoch for the estimate')

    start_cmd = commands.add_parser('start', parents=[common, launch],
                                    help='launch a run (the default command)')
    start_cmd.add_argument('net')
    start_cmd.add_argument('--epochs', type=int)
    start_cmd.add_argument('--preprocess')
    start_cmd.add_argument('--seed', type=int)
    start_cmd.add_argument('--data', choices=['s3', 'synthetic'], default='s3',
                           help='s3: Kaggle files under PREFIX/data/ (default)')
    start_cmd.add_argument('--upload-data', metavar='DIR',
                           help='first upload the Kaggle files in DIR to PREFIX/data/')
    start_cmd.add_argument('--kaggle-token-parameter', metavar='NAME',
                           help='SSM SecureString holding kaggle.json: download from Kaggle')

    resume_cmd = commands.add_parser('resume', parents=[common, launch],
                                     help='relaunch a run; it resumes from its last checkpoint')
    resume_cmd.add_argument('run')
    resume_cmd.add_argument('--epochs', type=int,
                            help='raise the total number of epochs of the run')
    for name, text in (('status', 'instances and progress'),
                       ('fetch', 'download the run folder'),
                       ('terminate', "remove the run's instance and resources")):
        sub = commands.add_parser(name, parents=[common], help=text)
        sub.add_argument('run', nargs='?' if name == 'status' else None)
        if name == 'fetch':
            sub.add_argument('--dest', help='local folder (default runs/RUN)')
    commands.add_parser('cleanup', parents=[common],
                        help='remove every resource of every run (results in S3 stay)')
    return parser


def parse_args(argv):
    """parse_args(argv) -> options; ``start`` is implied, and what follows ``--``
    goes to run_experiment.py as it is."""
    argv = list(argv)
    run_args = []
    if '--' in argv:
        run_args = argv[argv.index('--') + 1:]
        argv = argv[:argv.index('--')]
    if argv and argv[0] not in COMMANDS and argv[0] not in ('-h', '--help'):
        argv.insert(0, 'start')
    options = build_parser().parse_args(argv)
    if options.command is None:
        build_parser().error('name a net to launch, or a command: ' + ', '.join(COMMANDS))
    if run_args and options.command != 'start':
        build_parser().error('options after -- go with a new run only')
    options.run_args = run_args
    return options


def make_api(options):
    return DryRun(options.region) if options.dry_run else Api(options.region)


def run_command(options, out=None):
    out = out or sys.stdout
    api = make_api(options)
    if options.command == 'start':
        options.run_id, options.resume = None, False
        return start(api, options, out)
    if options.command == 'resume':
        check_bucket(options.bucket)
        if find_instances(api, options.run, ['pending', 'running']):
            raise UserError('run %s still has a running instance: see '
                            '`ec2/launch status %s`' % (options.run, options.run))
        launch = load_launch(api, options.run, options.bucket, options.prefix)
        terminate(api, options.run, out=out)   # leftovers of the interrupted attempt
        options.net, options.run_id, options.resume = launch['net'], options.run, True
        options.epochs = options.epochs or launch.get('epochs')
        options.preprocess, options.seed = None, None
        options.run_args = launch['run_args']
        options.data = 'synthetic' if launch['data_source'] == 'synthetic' else 's3'
        options.kaggle_token_parameter = launch.get('kaggle_token_parameter')
        options.upload_data = None
        return start(api, options, out)
    if options.command == 'status':
        return status(api, options.run, options.bucket, options.prefix, out)
    if options.command == 'fetch':
        return fetch(api, options.run, options.bucket, options.prefix, options.dest, out)
    if options.command == 'terminate':
        return terminate(api, options.run, out)
    if options.command == 'cleanup':
        return terminate(api, None, out)
    raise AssertionError(options.command)


def main(argv=None):
    options = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run_command(options)
    except UserError as exc:
        sys.stderr.write('error: %s\n' % exc)
        return 2
    except Exception as exc:
        if not _is_client_error(exc):
            raise
        # Permissions and limits of the user's account: theirs to fix, no bug here.
        sys.stderr.write('error: AWS refused: %s\n' % exc)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
