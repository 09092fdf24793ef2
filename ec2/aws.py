"""Every AWS call of ec2/ goes through one :class:`Api` (or :class:`DryRun`, which only prints it).

So ``--dry-run`` shows exactly the calls a real launch makes, and the tests
point the one client factory at moto's server (``AWS_ENDPOINT_URL``, boto3's
own setting). The S3 helpers below are shared by the launcher and by the
instance (:mod:`ec2.transfer`); none of them imports Theano.
"""
import hashlib
import json
import sys
import time

from errors import UserError
from run_folder import atomic_open

__all__ = ['Api', 'DryRun', 'error_code', 'is_client_error', 'ignore_missing',
           'NOT_FOUND_CODES', 'list_keys', 'read_bytes', 'read_json', 'exists',
           'put_bytes', 'put_json', 'put_file', 'head', 'get_file', 'file_sha256']

NOT_FOUND_CODES = ('NoSuchEntity', 'InvalidGroup.NotFound', 'InvalidInstanceID.NotFound',
                   'NoSuchKey', '404', 'NotFound')


class Api(object):
    """Api(region, sleep=time.sleep)

    Makes AWS calls with boto3 and turns the errors a user can cause into
    :class:`UserError`.
    """
    dry_run = False

    def __init__(self, region, sleep=time.sleep):
        import boto3   # optional: only ec2/ needs it
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
        return _dry_answer(operation, params)


def _dry_answer(operation, params):
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
                         % (params.get('Path', '/'), params['RoleName'])}}
    if operation == 'create_instance_profile':
        return {'InstanceProfile': {
            'Arn': 'arn:aws:iam::<account>:instance-profile%s%s'
                   % (params.get('Path', '/'), params['InstanceProfileName'])}}
    if operation == 'run_instances':
        return {'Instances': [{'InstanceId': '<instance-id>'}]}
    return {}


def error_code(exc):
    """error_code(exc) -> the AWS error code of a botocore ClientError ('' otherwise)"""
    response = getattr(exc, 'response', None) or {}
    return str(response.get('Error', {}).get('Code', ''))


def is_client_error(exc):
    """is_client_error(exc) -> whether AWS answered with an error (not a local failure)"""
    from botocore.exceptions import ClientError
    return isinstance(exc, ClientError)


def ignore_missing(api, service, operation, **params):
    """Make a call (a delete, a read); a resource that is already gone is no error (None)."""
    try:
        return api.call(service, operation, **params)
    except Exception as exc:
        if is_client_error(exc) and error_code(exc) in NOT_FOUND_CODES:
            return None
        raise


# ---------------------------------------------------------------- S3

def list_keys(api, bucket, prefix):
    """list_keys(api, bucket, prefix) -> [(key, size)] of every object under ``prefix``"""
    keys, token = [], {}
    while True:
        answer = api.call('s3', 'list_objects_v2', Bucket=bucket, Prefix=prefix, **token)
        keys.extend((c['Key'], c.get('Size', 0)) for c in answer.get('Contents', []))
        if not answer.get('IsTruncated'):
            return keys
        token = {'ContinuationToken': answer['NextContinuationToken']}


def read_bytes(api, bucket, key, start=None):
    """read_bytes(api, bucket, key, start=None) -> the object's bytes (from ``start``), or None"""
    params = {} if not start else {'Range': 'bytes=%d-' % start}
    try:
        return api.call('s3', 'get_object', Bucket=bucket, Key=key, **params)['Body'].read()
    except Exception as exc:
        if is_client_error(exc) and error_code(exc) in NOT_FOUND_CODES:
            return None
        if is_client_error(exc) and error_code(exc) == 'InvalidRange':
            return b''   # nothing past ``start`` yet
        raise


def read_json(api, bucket, key):
    """read_json(api, bucket, key) -> the object as JSON, or None when it does not exist"""
    body = read_bytes(api, bucket, key)
    if body is None:
        return None
    try:
        return json.loads(body.decode('utf-8'))
    except ValueError as exc:
        raise UserError('s3://%s/%s is not readable JSON (%s)' % (bucket, key, exc))


def exists(api, bucket, key):
    """exists(api, bucket, key) -> whether the object is there (False in a dry run)"""
    if api.dry_run:
        return False
    return head(api, bucket, key) is not None


def put_bytes(api, bucket, key, body):
    api.call('s3', 'put_object', Bucket=bucket, Key=key, Body=body)


def put_json(api, bucket, key, obj):
    put_bytes(api, bucket, key, (json.dumps(obj, indent=1, sort_keys=True) + '\n').encode())


def file_sha256(path):
    """file_sha256(path) -> hex SHA-256 of a file, read in 1 MB pieces"""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for piece in iter(lambda: f.read(1 << 20), b''):
            digest.update(piece)
    return digest.hexdigest()


def put_file(api, bucket, key, path, sha256):
    """put_file(api, bucket, key, path, sha256)

    One PUT of the file (no multipart: S3 then checks the whole body against
    the SHA-256 the SDK sends, and refuses a corrupted one), with the hex
    digest kept as the object's metadata ``sha256`` for :func:`head`.
    """
    with open(path, 'rb') as f:
        api.call('s3', 'put_object', Bucket=bucket, Key=key, Body=f,
                 ChecksumAlgorithm='SHA256', Metadata={'sha256': sha256})


def head(api, bucket, key):
    """head(api, bucket, key) -> dict(size, sha256) of the object, or None when absent"""
    try:
        answer = api.call('s3', 'head_object', Bucket=bucket, Key=key)
    except Exception as exc:
        if is_client_error(exc) and error_code(exc) in NOT_FOUND_CODES:
            return None
        raise
    return {'size': int(answer.get('ContentLength', -1)),
            'sha256': answer.get('Metadata', {}).get('sha256')}


def get_file(api, bucket, key, path):
    """get_file(api, bucket, key, path): download an object to ``path`` (beside it, renamed)"""
    answer = api.call('s3', 'get_object', Bucket=bucket, Key=key)
    with atomic_open(path, 'wb') as f:
        for piece in iter(lambda: answer['Body'].read(1 << 20), b''):
            f.write(piece)
