"""A moto server on 127.0.0.1 standing in for AWS, and an environment that
points boto3 and the AWS CLI at it with fake credentials (never a real account,
never the instance metadata address)."""
import logging
import urllib.request

import pytest

from ec2_moto import AMI_PARAMETER, BUCKET, REGION, fake_aws_env

_IMAGE = []


@pytest.fixture(scope='module')
def moto_endpoint():
    from moto.server import ThreadedMotoServer
    logging.getLogger('werkzeug').setLevel(logging.ERROR)   # one line per request otherwise
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield 'http://%s:%d' % (host, port)
    server.stop()


@pytest.fixture
def aws(moto_endpoint, monkeypatch, tmp_path):
    """A fresh moto account with a bucket and an AMI parameter; returns a boto3 session."""
    import boto3
    request = urllib.request.Request(moto_endpoint + '/moto-api/reset', method='POST')
    urllib.request.urlopen(request).read()
    fake_aws_env(monkeypatch, tmp_path, moto_endpoint)
    session = boto3.session.Session(region_name=REGION)
    session.client('s3').create_bucket(Bucket=BUCKET)
    if not _IMAGE:   # moto's built-in AMIs are the same after every reset; listing them is slow
        _IMAGE.append(session.client('ec2').describe_images(
            Owners=['amazon'])['Images'][0]['ImageId'])
    image = _IMAGE[0]
    session.client('ssm').put_parameter(Name=AMI_PARAMETER, Value=image, Type='String')
    session.endpoint = moto_endpoint
    return session


@pytest.fixture
def sent(monkeypatch):
    """Every AWS call the launcher makes in this test, as (operation, params)."""
    import botocore.client
    calls = []
    original = botocore.client.BaseClient._make_api_call

    def record(self, operation, params):
        calls.append((operation, params))
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, '_make_api_call', record)
    return calls
