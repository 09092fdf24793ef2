"""What the ec2 tests share: the moto account's names and a fake AWS environment.

(A module of its own, not conftest.py, so that tests can import it by a name
no other test folder uses.)
"""
import os

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
