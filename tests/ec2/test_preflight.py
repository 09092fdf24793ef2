"""ec2/preflight.py: a launch that cannot work is refused before anything is created."""
import pytest

from ec2_moto import BUCKET, assert_nothing_created, launch, put_data, start_argv
from ec2 import catalog, preflight
from errors import UserError


@pytest.mark.parametrize('instance_type, why', [
    ('p2.xlarge', 'an NVIDIA K80 (compute capability 3.7)'),
    ('g3.4xlarge', 'an NVIDIA M60 (compute capability 5.2)'),
    ('p4d.24xlarge', 'the p4d family has 8 NVIDIA A100 (compute capability 8.0) and no '
                     'single-GPU size'),
    ('p5.48xlarge', 'the p5 family has 8 NVIDIA H100'),
])
def test_old_and_multi_gpu_types_are_refused_before_any_call(
        aws, capsys, sent, instance_type, why):
    put_data(aws)
    del sent[:]
    status, out, err = launch(capsys, *start_argv('--instance-type', instance_type))
    assert status == 2 and sent == []
    assert err.startswith('error: %s: %s' % (instance_type, why)), err
    assert 'choose one of g4dn.xlarge, g4dn.2xlarge, g4dn.4xlarge (NVIDIA T4, 7.5), ' \
           'p3.2xlarge (NVIDIA V100, 7.0), g5.xlarge' in err and err.count('\n') == 1
    assert_nothing_created(aws)


def test_a_dry_run_refuses_them_too(capsys):
    status, out, err = launch(capsys, 'net6', '--bucket', BUCKET, '--dry-run',
                              '--instance-type', 'p3.8xlarge')
    assert status == 2 and out == '' and 'g4dn.xlarge' in err


@pytest.mark.parametrize('instance_type', ['g5.xlarge', 'g6.xlarge'])
def test_a_dry_run_on_todays_gpus_installs_the_pip_environment(capsys, instance_type):
    status, out, err = launch(capsys, 'net6', '--bucket', BUCKET, '--dry-run',
                              '--instance-type', instance_type)
    assert status == 0, err
    assert '"InstanceType": "%s"' % instance_type in out
    assert 'bash "$SRC/ec2/install_env.sh"' in out        # the user-data's environment step
    assert 'conda' not in out.lower() and 'miniforge' not in out.lower()


def test_cudnn_is_refused_before_any_call(capsys, sent):
    status, out, err = launch(capsys, *start_argv('--cudnn'))
    assert status == 2 and sent == [] and 'no CUDA 12 build' in err


@pytest.mark.parametrize('instance_type', ['g5.xlarge', 'g6.xlarge', 'g6e.xlarge'])
def test_todays_single_gpu_types_are_supported(instance_type):
    preflight.check_instance_type(instance_type)
    known = catalog.INSTANCE_TYPES[instance_type]
    assert (8, 0) <= known.compute_capability <= catalog.MAX_COMPUTE_CAPABILITY


@pytest.mark.parametrize('instance_type, message', [
    ('c5.xlarge', 'c5.xlarge is not a GPU type this project supports'),
    ('g5g.xlarge', 'g5g.xlarge: an arm64 (Graviton) type'),
    ('g4dn', "instance type 'g4dn' is not of the form FAMILY.SIZE"),
])
def test_other_unusable_types(instance_type, message):
    with pytest.raises(UserError, match=message.replace('(', r'\(').replace(')', r'\)')):
        preflight.check_instance_type(instance_type)


def test_every_supported_type_can_be_targeted():
    for name, known in catalog.INSTANCE_TYPES.items():
        preflight.check_instance_type(name)
        assert (catalog.MIN_COMPUTE_CAPABILITY <= known.compute_capability
                <= catalog.MAX_COMPUTE_CAPABILITY)
        assert known.price_read and known.usd_per_hour > 0


@pytest.mark.parametrize('argv, message', [
    (('--max-hours', '0.1'), '--max-hours 0.1 leaves no time to train after the 15 min setup'),
    (('--max-restarts', '-1'), 'argument --max-restarts: -1: must be 0 or more'),
    (('--', '--epochs', '9'), 'give --epochs before --'),
    (('--epochs', '0'), 'argument --epochs: 0: must be at least 1'),
])
def test_bad_caps_are_refused_before_any_call(capsys, sent, argv, message):
    status, out, err = launch(capsys, *start_argv(*argv))
    assert status == 2 and message in err and sent == []
