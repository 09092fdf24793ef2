"""compat.device: what a run computes with, and one clear error when a GPU was asked for in vain.

No GPU here: a CUDA device is asked for in subprocesses, where Theano logs an
error and computes on the CPU, exactly what a GPU instance without pygpu or a
driver would do.
"""
import json
import os
import subprocess
import sys

import pytest

import compat  # noqa: F401  (before theano)
import errors
from paths import REPO

INFO_AND_CHECK = '''
import json, compat
info = compat.runtime_info()
try:
    compat.check_requested_device()
    info['check'] = None
except compat.DeviceUnavailableError as exc:
    info['check'] = str(exc)
print(json.dumps(info))
'''

# Stands for a pygpu that is not installed (./setup.sh --gpu installs a real one).
NO_PYGPU = '''
raise ModuleNotFoundError("No module named 'pygpu'", name='pygpu')
'''

FAKE_PYGPU = '''
__version__ = '0.7.6'
from . import gpuarray
def init(dev, **kwargs):
    raise RuntimeError('cuInit failed: no CUDA-capable device is detected')
'''


def run_info(env_update=None, pythonpath=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ('THEANO_FLAGS', 'KFKD_CUDNN', 'KFKD_FASTOPS', 'PYTHONPATH')}
    env.update(env_update or {})
    if pythonpath:
        env['PYTHONPATH'] = pythonpath
    out = subprocess.run([sys.executable, '-c', INFO_AND_CHECK], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def test_the_cpu_run_uses_fastops_and_passes_the_check():
    info = compat.runtime_info()
    assert info['requested_device'] == 'cpu' and info['device'] == 'cpu'
    assert (info['pooling'], info['dropout_rng'], info['cudnn']) == ('fastops', 'fastops', False)
    assert info['convolution'] == 'fastops'
    assert info['floatX'] == 'float32' and info['gpu_error'] is None
    import theano
    assert info['blas_ldflags'] == theano.config.blas.ldflags
    assert compat.check_requested_device() is None


def test_kfkd_fastops_0_is_recorded_as_theanos_ops():
    info, _ = run_info({'KFKD_FASTOPS': '0'})
    assert (info['pooling'], info['dropout_rng']) == ('theano', 'theano')
    assert (info['convolution'], info['convolution_choices']) == ('theano', {})
    assert info['check'] is None


def test_cuda_without_pygpu_computes_on_the_cpu_with_theanos_ops_and_the_check_says_so(
        tmp_path):
    (tmp_path / 'pygpu').mkdir()
    (tmp_path / 'pygpu' / '__init__.py').write_text(NO_PYGPU)
    info, stderr = run_info({'THEANO_FLAGS': 'device=cuda'}, pythonpath=str(tmp_path))
    # Theano's own error is kept for the check's one line, not printed.
    assert 'pygpu was configured but could not be imported' not in stderr
    assert info['requested_device'] == 'cuda' and info['device'] == 'cpu'
    assert (info['pooling'], info['dropout_rng']) == ('theano', 'theano')
    assert info['convolution'] == 'theano'
    assert info['dnn_enabled'] == 'False' and info['cudnn'] is False
    assert info['check'] == (
        "a GPU was asked for (device=cuda) but Theano could not initialise it: pygpu "
        "(Theano's GPU back end) does not import (ModuleNotFoundError: No module named "
        "'pygpu'); it would compute on the CPU (install the NVIDIA driver, then run "
        "./setup.sh --gpu for pygpu and libgpuarray; or run with THEANO_FLAGS=device=cpu)")
    assert info['gpu_error'] in info['check']


def test_a_gpu_that_fails_to_initialise_is_named_with_theanos_reason(tmp_path):
    # A pygpu that imports but finds no device, as on a machine without a driver.
    (tmp_path / 'pygpu').mkdir()
    (tmp_path / 'pygpu' / '__init__.py').write_text(FAKE_PYGPU)
    (tmp_path / 'pygpu' / 'gpuarray.py').write_text('def api_version():\n    return (2, 0)\n')
    info, stderr = run_info({'THEANO_FLAGS': 'device=cuda0', 'KFKD_CUDNN': '1'},
                            pythonpath=str(tmp_path))
    assert 'Could not initialize pygpu' not in stderr and 'Traceback' not in stderr
    assert info['device'] == 'cpu' and info['dnn_enabled'] == 'True'
    assert info['check'].startswith(
        'a GPU was asked for (device=cuda0) but Theano could not initialise it: RuntimeError: '
        'cuInit failed: no CUDA-capable device is detected; it would compute on the CPU')
    assert '\n' not in info['check']


def test_the_error_is_a_user_error_of_one_line():
    assert issubclass(compat.DeviceUnavailableError, errors.UserError)


def test_runtime_info_is_json_for_the_manifest():
    info = compat.runtime_info()
    assert json.loads(json.dumps(info)) == info
    assert {'requested_device', 'device', 'pooling', 'dropout_rng', 'cudnn', 'floatX',
            'blas_ldflags'} <= set(info)


@pytest.mark.parametrize('device', ['cuda', 'cuda1', 'opencl0:0', 'gpu'])
def test_every_gpu_name_counts_as_a_gpu(device):
    from compat.flags import is_gpu_device
    assert is_gpu_device(device)
