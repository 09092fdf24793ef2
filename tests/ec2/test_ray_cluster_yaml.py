"""ec2/ray-cluster.yaml: valid for Ray's own `ray up` checks, least open, least privileged,
and built from the same environment definition as a single-run instance."""
import copy
import json
import os
import re

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLUSTER_YAML = os.path.join(REPO, 'ec2', 'ray-cluster.yaml')


def _read(*parts):
    with open(os.path.join(REPO, *parts)) as f:
        return f.read()


@pytest.fixture(scope='module')
def config():
    with open(CLUSTER_YAML) as f:
        return yaml.safe_load(f)


def test_ray_accepts_it_as_ray_up_does(config):
    from ray.autoscaler._private.util import prepare_config, validate_config
    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    assert prepared['provider']['type'] == 'aws'
    assert prepared['available_node_types']['kfkd.gpu']['max_workers'] == config['max_workers']


def test_ray_rejects_a_broken_copy(config):
    from ray.autoscaler._private.util import prepare_config, validate_config
    broken = copy.deepcopy(config)
    broken['available_node_types']['kfkd.gpu']['min_workers'] = 'none'
    with pytest.raises(Exception):
        validate_config(prepare_config(broken))


def test_cpu_head_on_demand_and_gpu_spot_workers(config):
    types = config['available_node_types']
    head, gpu = types[config['head_node_type']], types['kfkd.gpu']
    assert head['resources'] == {'CPU': 0}
    assert 'InstanceMarketOptions' not in head['node_config']
    assert not head['node_config']['InstanceType'].startswith(('g', 'p'))
    assert gpu['node_config']['InstanceType'].startswith('g4dn.')
    assert gpu['node_config']['InstanceMarketOptions'] == {'MarketType': 'spot'}
    assert gpu['min_workers'] == 0 and gpu['max_workers'] >= 1
    assert config['provider']['cache_stopped_nodes'] is False


def test_imdsv2_required_everywhere(config):
    for name, node_type in config['available_node_types'].items():
        options = node_type['node_config']['MetadataOptions']
        assert options['HttpTokens'] == 'required', name
        assert options['HttpPutResponseHopLimit'] == 1, name


def test_only_the_head_takes_ssh_and_ray_makes_no_group_or_role(config):
    # With SecurityGroupIds and IamInstanceProfile on every node type, `ray up` creates
    # neither its own group (SSH from 0.0.0.0/0 on every node) nor its own role
    # (ray-autoscaler-v1: EC2 and S3 full access).
    types = config['available_node_types']
    head = types[config['head_node_type']]['node_config']
    for name, node_type in types.items():
        assert node_type['node_config']['SecurityGroupIds'], name
        assert node_type['node_config']['IamInstanceProfile']['Arn'], name
    workers = types['kfkd.gpu']['node_config']
    assert set(workers['SecurityGroupIds']) < set(head['SecurityGroupIds'])
    assert workers['IamInstanceProfile'] != head['IamInstanceProfile']
    assert 'security_group' not in config['provider']


def _readme_section():
    text = _read('README.md')
    section = re.search(r'^## Many machines\n(.*?)(?=^## |\Z)', text, re.M | re.S)
    assert section, 'README.md has no "## Many machines" section'
    return section.group(1)


def _policies():
    """The IAM policy documents of README's walk, by the file name they are written to."""
    found = {}
    for name, body in re.findall(r"cat > (\S+\.json) <<'EOF'\n(.*?)\n\s*EOF", _readme_section(),
                                 re.S):
        found[name] = json.loads(body)
    return found


def test_readme_policies_keep_s3_to_the_data_and_rows_prefixes(config):
    policies = _policies()
    assert {'kfkd-ray-worker.json', 'kfkd-ray-head.json'} <= set(policies)
    bucket = 'arn:aws:s3:::my-kfkd-bucket'
    for name, policy in policies.items():
        for statement in policy['Statement']:
            actions = statement['Action'] if isinstance(statement['Action'], list) \
                else [statement['Action']]
            if not any(a.startswith('s3:') for a in actions):
                continue
            resources = statement['Resource'] if isinstance(statement['Resource'], list) \
                else [statement['Resource']]
            assert '*' not in actions and 's3:*' not in actions, name
            for resource in resources:
                assert resource == bucket or resource in (
                    bucket + '/kfkd/data/*', bucket + '/kfkd/ray/*'), (name, resource)
            if 's3:PutObject' in actions:
                assert resources == [bucket + '/kfkd/ray/*'], name
    head_actions = {a for s in policies['kfkd-ray-head.json']['Statement']
                    for a in ([s['Action']] if isinstance(s['Action'], str) else s['Action'])}
    assert {'ec2:RunInstances', 'ec2:TerminateInstances', 'iam:PassRole'} <= head_actions
    # the data the nodes sync is the data prefix the policies let them read
    assert any('s3://my-kfkd-bucket/kfkd/data/' in c for c in config['setup_commands'])


def test_every_node_installs_the_single_run_environment(config):
    # One definition of the environment: ec2/install_env.sh (a venv with requirements.txt and
    # requirements-gpu.txt, then gpu/build_libgpuarray.sh), for ec2/bootstrap.sh and every node.
    installs = [c for c in config['setup_commands'] if 'ec2/install_env.sh' in c]
    assert installs == ['bash ~/kfkd/ec2/install_env.sh ~/kfkd-env']
    assert not config['head_setup_commands'] and not config['worker_setup_commands']
    for command in config['head_start_ray_commands'] + config['worker_start_ray_commands']:
        assert command.startswith('source ~/kfkd-env/kfkd-env.sh && '), command
    assert config['file_mounts'] == {'~/kfkd': '.'}


def test_bootstrap_uses_the_same_environment_script():
    if not os.path.isfile(os.path.join(REPO, 'ec2', 'install_env.sh')):
        pytest.skip('ec2/install_env.sh (the one environment script, called by '
                    'ec2/bootstrap.sh) is not on this branch yet')
    install = _read('ec2', 'install_env.sh')
    assert 'requirements.txt' in install and 'requirements-gpu.txt' in install
    assert 'gpu/build_libgpuarray.sh' in install
    assert 'install_env.sh' in _read('ec2', 'bootstrap.sh')


def test_the_gpu_environment_carries_the_pinned_ray_and_no_conda():
    # The nodes' Ray is requirements.txt's, the driver's; no conda anywhere.
    install = _read('ec2', 'install_env.sh')
    assert 'pip install -q -r "$REQUIREMENTS" -r "$GPU_REQUIREMENTS"' in install
    pinned = re.search(r'^ray==(\S+)$', _read('requirements.txt'), re.M).group(1)
    assert pinned == '2.10.0'
    for text in (install, _read('ec2', 'ray-cluster.yaml'), _read('ec2', 'bootstrap.sh')):
        assert 'conda' not in text.lower() and 'miniforge' not in text.lower()
    import ray
    assert ray.__version__ == pinned
