"""Pre-flight checks: everything that can be known wrong before the launcher creates anything.

:func:`check_spec` looks only at the specification (no AWS call: a refused
instance type is refused before any request); :func:`check_aws` then asks
AWS what it can without changing anything (account, type offered, bucket,
AMI, VPC, the Kaggle token's parameter, the data).

>>> check_instance_type('p2.xlarge')
Traceback (most recent call last):
...
errors.UserError: p2.xlarge: an NVIDIA K80 (compute capability 3.7): CUDA 12 compiles for ...
"""
import ipaddress
import os
import re

from ec2 import aws, catalog, plan
from errors import UserError

__all__ = ['check_spec', 'check_instance_type', 'supported_types', 'check_bucket_name',
           'check_aws', 'upload_data', 'DATA_FILES']

INSTANCE_TYPE_FORMAT = re.compile(r'^[a-z][a-z0-9-]*\.[a-z0-9-]+$')
BUCKET_FORMAT = re.compile(r'^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$')
DATA_FILES = ('training.csv', 'training.zip', 'test.csv', 'test.zip',
              'IdLookupTable.csv', 'SampleSubmission.csv')


def supported_types():
    """supported_types() -> the supported instance types, with their GPUs, as one phrase

    >>> supported_types()  # doctest: +ELLIPSIS
    'g4dn.xlarge, g4dn.2xlarge, g4dn.4xlarge (NVIDIA T4, 7.5), p3.2xlarge (NVIDIA V100, 7.0), ...'
    """
    groups = []
    for name, known in catalog.INSTANCE_TYPES.items():
        label = '%s, %d.%d' % ((known.gpu,) + known.compute_capability)
        if groups and groups[-1][1] == label:
            groups[-1][0].append(name)
        else:
            groups.append(([name], label))
    return ', '.join('%s (%s)' % (', '.join(names), label) for names, label in groups)


def check_instance_type(instance_type):
    """check_instance_type(instance_type)

    Refuse a type that is not in :data:`ec2.catalog.INSTANCE_TYPES`: several
    GPUs, a GPU older than compute capability 7.0 or not NVIDIA's, or a type
    this project does not know; the message names the types that work.
    """
    if not INSTANCE_TYPE_FORMAT.match(instance_type or ''):
        raise UserError('instance type %r is not of the form FAMILY.SIZE '
                        '(for example g4dn.xlarge)' % instance_type)
    if instance_type in catalog.INSTANCE_TYPES:
        return
    family = instance_type.split('.')[0]
    works = 'choose one of %s' % supported_types()
    if family in catalog.OTHER_FAMILIES:
        raise UserError('%s: the %s family has %s; a run trains on one GPU: %s'
                        % (instance_type, family, catalog.OTHER_FAMILIES[family], works))
    if family in catalog.RETIRED_FAMILIES:
        raise UserError('%s: %s; %s' % (instance_type, catalog.RETIRED_FAMILIES[family], works))
    raise UserError('%s is not a GPU type this project supports (one NVIDIA GPU of compute '
                    'capability %d.%d to %d.%d, which CUDA %s compiles for): %s'
                    % ((instance_type,) + catalog.MIN_COMPUTE_CAPABILITY
                       + catalog.MAX_COMPUTE_CAPABILITY + (catalog.CUDA_VERSION, works)))


def check_bucket_name(bucket):
    if not bucket:
        raise UserError('no S3 bucket: pass --bucket NAME (or set KFKD_BUCKET)')
    if not BUCKET_FORMAT.match(bucket):
        raise UserError('%r is not a valid S3 bucket name' % bucket)


def check_spec(spec):
    """check_spec(spec)

    Every check that needs no AWS call; raises :class:`UserError`.
    """
    check_instance_type(spec.instance_type)
    check_bucket_name(spec.bucket)
    if spec.cudnn:
        # ec2/install_env.sh would refuse it on the instance, after the boot was paid for.
        raise UserError('--cudnn: Theano 1.0.5 uses cuDNN 7 at most, which has no CUDA 12 '
                        "build; the GPU environment runs Theano's own convolutions, as the "
                        'study did (leave --cudnn out)')
    if spec.ssh_from:
        try:
            ipaddress.ip_network(spec.ssh_from)
        except ValueError:
            raise UserError('--ssh-from %r is not a CIDR such as 203.0.113.7/32'
                            % spec.ssh_from)
    if len(plan.NAME_PREFIX + spec.run_id) > 64:
        raise UserError('run id %s is too long for an IAM role name' % spec.run_id)
    if spec.epochs < 1:
        raise UserError('--epochs must be at least 1, not %d' % spec.epochs)
    if not spec.max_hours > 0:
        raise UserError('--max-hours must be above 0, not %g' % spec.max_hours)
    if spec.max_restarts < 0:
        raise UserError('--max-restarts must be 0 or more, not %d' % spec.max_restarts)
    estimate = plan.run_hours(spec.epochs, spec.seconds_per_epoch[0])
    if spec.max_hours * 60 < catalog.SETUP_MINUTES + 5:
        raise UserError('--max-hours %g leaves no time to train after the %.0f min setup '
                        '(the estimate is %.2f h)'
                        % (spec.max_hours, catalog.SETUP_MINUTES, estimate))


# ---------------------------------------------------------------- asking AWS

def check_aws(api, spec, data_folder=None):
    """check_aws(api, spec, data_folder=None) -> dict(account, vcpus, image_id, vpc_id, kaggle_arn)

    What AWS says about the launch, changing nothing (except uploading the
    Kaggle files of ``data_folder`` when given, as ``--upload-data`` asks).
    """
    account = api.call('sts', 'get_caller_identity')['Account']
    vcpus = check_instance_type_offered(api, spec.instance_type)
    check_bucket_reachable(api, spec.bucket)
    image_id = find_ami(api, spec.ami_parameter)
    vpc_id = find_vpc(api, spec.subnet_id)
    kaggle_arn = None
    if spec.data_source == 'kaggle':
        check_kaggle_parameter(api, spec.kaggle_token_parameter)
        kaggle_arn = 'arn:aws:ssm:%s:%s:parameter/%s' % (
            api.region, account, spec.kaggle_token_parameter.lstrip('/'))
    elif spec.data_source == 's3':
        if data_folder:
            upload_data(api, spec.bucket, spec.layout, data_folder)
        check_data(api, spec.bucket, spec.layout)
    return {'account': account, 'vcpus': vcpus, 'image_id': image_id, 'vpc_id': vpc_id,
            'kaggle_arn': kaggle_arn}


def check_instance_type_offered(api, instance_type):
    """The type's vCPUs; refuses a type the region does not offer."""
    try:
        answer = api.call('ec2', 'describe_instance_types', InstanceTypes=[instance_type])
    except Exception as exc:
        if aws.is_client_error(exc) and 'InvalidInstanceType' in aws.error_code(exc):
            raise UserError('instance type %s is not offered in %s: try another --region, or '
                            'one of %s' % (instance_type, api.region, supported_types()))
        raise
    types = answer.get('InstanceTypes') or [{}]
    return types[0].get('VCpuInfo', {}).get('DefaultVCpus')


def check_bucket_reachable(api, bucket):
    try:
        api.call('s3', 'head_bucket', Bucket=bucket)
    except Exception as exc:
        if not aws.is_client_error(exc):
            raise
        code = aws.error_code(exc)
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
        if aws.is_client_error(exc) and aws.error_code(exc) == 'ParameterNotFound':
            raise UserError('SSM parameter %s does not exist in %s: no AMI to launch '
                            '(check --ami-parameter)' % (parameter, api.region))
        raise


def check_kaggle_parameter(api, name):
    try:
        parameter = api.call('ssm', 'get_parameter', Name=name, WithDecryption=False)
    except Exception as exc:
        if aws.is_client_error(exc) and aws.error_code(exc) == 'ParameterNotFound':
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


def upload_data(api, bucket, layout, folder):
    """Upload the Kaggle files found in ``folder`` to the data prefix."""
    present = [n for n in DATA_FILES if os.path.isfile(os.path.join(folder, n))]
    if not any(n.startswith('training.') for n in present):
        raise UserError('%s has no training.csv or training.zip to upload' % folder)
    for name in present:
        with open(os.path.join(folder, name), 'rb') as f:
            aws.put_bytes(api, bucket, layout['data'] + name, f.read())
    return present


def check_data(api, bucket, layout):
    answer = api.call('s3', 'list_objects_v2', Bucket=bucket, Prefix=layout['data'])
    names = [c['Key'][len(layout['data']):] for c in answer.get('Contents', [])]
    if not any(n in ('training.csv', 'training.zip') for n in names):
        raise UserError('no training.csv or training.zip under s3://%s/%s: pass '
                        '--upload-data DIR, --kaggle-token-parameter NAME or --data synthetic'
                        % (bucket, layout['data']))
