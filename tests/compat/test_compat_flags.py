"""compat.flags: the project's Theano flags under the user's own, for the CPU and for a GPU."""
import os
import subprocess
import sys

import numpy as np
import pytest

import compat  # noqa: F401  (before theano)
from compat import flags

import theano
import theano.tensor as T
from paths import REPO

NO_RC = {'THEANORC': '/nonexistent'}


def run_python(code, env_update=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ('THEANO_FLAGS', 'KFKD_CUDNN', 'KFKD_FASTOPS', 'CONDA_PREFIX', 'CUDA_HOME')}
    env.update(env_update or {})
    return subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_flag_defaults_are_used_without_user_flags():
    env = dict(NO_RC)
    result = flags.configure_theano_flags(env, openblas=True)
    assert result.split(',') == [
        'floatX=float32', 'base_compiledir=%s' % flags.THEANO_CACHE,
        'blas.ldflags=-lopenblas', 'openmp=True', 'allow_gc=False']
    assert env['OMP_NUM_THREADS'] == str(os.cpu_count())


def test_the_compile_cache_is_in_the_repository():
    assert flags.THEANO_CACHE == os.path.join(REPO, '.theano')


def test_allow_gc_false_is_the_default_and_the_user_can_turn_it_back_on():
    env = dict(NO_RC)
    assert 'allow_gc=False' in flags.configure_theano_flags(env, openblas=False)
    env = dict(NO_RC, THEANO_FLAGS='allow_gc=True')
    result = flags.configure_theano_flags(env, openblas=True)
    assert 'allow_gc=False' not in result and result.endswith('allow_gc=True')
    assert theano.config.allow_gc is False


def test_keeping_buffers_between_calls_trains_to_the_same_losses():
    # allow_gc=False is Theano's 'cvm_nogc' linker; 'cvm' frees buffers.
    import lasagne
    from lasagne import layers

    def losses(linker):
        lasagne.random.set_rng(np.random.RandomState(3))
        x, y = T.tensor4('x'), T.matrix('y')
        net = layers.InputLayer((None, 1, 12, 12), x)
        net = layers.Conv2DLayer(net, 4, (3, 3))
        net = layers.MaxPool2DLayer(net, (2, 2))
        net = layers.DropoutLayer(net, 0.2)
        net = layers.DenseLayer(net, 5, nonlinearity=None)
        loss = T.mean((layers.get_output(net) - y) ** 2)
        params = layers.get_all_params(net, trainable=True)
        step = theano.function(
            [x, y], loss, mode=theano.compile.Mode(linker=linker),
            updates=lasagne.updates.nesterov_momentum(loss, params, 0.05, 0.9))
        rng = np.random.RandomState(0)
        X = rng.rand(24, 1, 12, 12).astype('float32')
        Y = (rng.rand(24, 5) - 0.5).astype('float32')
        return [float(np.mean([step(X[i:i + 8], Y[i:i + 8])
                               for i in range(0, 24, 8)])) for _ in range(3)]

    kept, freed = losses('cvm_nogc'), losses('cvm')
    assert kept[-1] < kept[0]
    np.testing.assert_allclose(kept, freed, rtol=1e-6)


def test_user_theano_flags_win():
    env = dict(NO_RC, THEANO_FLAGS='floatX=float64,openmp=False', OMP_NUM_THREADS='1')
    result = flags.configure_theano_flags(env, openblas=True)
    names = [item.split('=')[0] for item in result.split(',')]
    assert names.count('floatX') == 1 and names.count('openmp') == 1
    assert result.endswith('floatX=float64,openmp=False')
    assert env['OMP_NUM_THREADS'] == '1'


def test_user_theanorc_wins(tmp_path):
    rc = tmp_path / 'theanorc'
    rc.write_text('[global]\nfloatX = float64\n[blas]\nldflags = -lmkl_rt\n')
    result = flags.configure_theano_flags({'THEANORC': str(rc)}, openblas=True)
    assert 'floatX' not in result and 'blas.ldflags' not in result
    assert 'openmp=True' in result


def test_numpy_fallback_warns_once_and_disables_openmp():
    env = dict(NO_RC)
    with pytest.warns(RuntimeWarning, match='falls back to NumPy') as caught:
        result = flags.configure_theano_flags(env, openblas=False)
    assert len(caught) == 1
    assert 'blas.ldflags=,' in result and 'openmp=False' in result
    assert 'OMP_NUM_THREADS' not in env


def test_flags_reach_theano_in_this_process():
    assert theano.config.floatX == 'float32'
    assert theano.config.base_compiledir == flags.THEANO_CACHE
    if flags.openblas_linkable():
        assert theano.config.blas.ldflags == '-lopenblas'


def test_configure_is_a_no_op_once_theano_is_imported():
    assert flags.configure_theano_flags() is None


def test_theano_compiles_and_runs_with_the_flags():
    x = T.matrix('x')
    f = theano.function([x], T.dot(x, x.T))
    a = np.arange(6, dtype='float32').reshape(2, 3)
    np.testing.assert_allclose(f(a), a.dot(a.T))


# --- the device and cuDNN ---------------------------------------------------------

def test_the_cpu_defaults_have_no_dnn_flags_even_with_kfkd_cudnn():
    for env in (dict(NO_RC), dict(NO_RC, KFKD_CUDNN='1', CONDA_PREFIX='/env')):
        result = flags.configure_theano_flags(env, openblas=True)
        assert 'dnn.' not in result and 'cuda.' not in result


@pytest.mark.parametrize('gpu_flags', ['device=cuda', 'device=cuda0', 'device=opencl0:0',
                                       'device=cpu,init_gpu_device=cuda1'])
def test_a_gpu_run_gets_theanos_own_convolutions_by_default(gpu_flags):
    env = dict(NO_RC, THEANO_FLAGS=gpu_flags, CONDA_PREFIX='/env')
    result = flags.configure_theano_flags(env, openblas=True)
    assert 'dnn.enabled=False' in result.split(',')
    assert 'dnn.include_path' not in result and 'cuda.root' not in result
    assert result.endswith(gpu_flags)


def test_a_gpu_device_in_the_theanorc_counts_too(tmp_path):
    rc = tmp_path / 'theanorc'
    rc.write_text('[global]\ndevice = cuda\n')
    result = flags.configure_theano_flags({'THEANORC': str(rc)}, openblas=True)
    assert 'dnn.enabled=False' in result.split(',')


def test_kfkd_cudnn_enables_cudnn_with_every_path_from_the_conda_env(tmp_path):
    prefix = tmp_path / 'env'
    (prefix / 'bin').mkdir(parents=True)
    (prefix / 'bin' / 'nvcc').write_text('#!/bin/sh\n')
    env = dict(NO_RC, THEANO_FLAGS='device=cuda', KFKD_CUDNN='1', CONDA_PREFIX=str(prefix),
               PATH='/usr/bin')
    result = flags.configure_theano_flags(env, openblas=True).split(',')
    assert 'dnn.enabled=True' in result
    for pair in ('dnn.include_path=%s/include', 'dnn.library_path=%s/lib',
                 'dnn.bin_path=%s/lib', 'cuda.root=%s', 'cuda.include_path=%s/include'):
        assert pair % prefix in result
    assert env['PATH'] == '%s/bin%s/usr/bin' % (prefix, os.pathsep)


def test_cuda_home_gives_the_cuda_headers_and_the_conda_env_gives_cudnn(tmp_path):
    cuda = tmp_path / 'cuda'
    (cuda / 'lib64').mkdir(parents=True)
    both = dict(flags.cudnn_flags({'CONDA_PREFIX': '/env', 'CUDA_HOME': str(cuda)}))
    assert both['dnn.include_path'] == '/env/include'
    assert both['cuda.include_path'] == '%s/include' % cuda
    alone = dict(flags.cudnn_flags({'CUDA_HOME': str(cuda)}))
    assert alone['dnn.library_path'] == '%s/lib64' % cuda  # a toolkit's own layout


def test_the_users_dnn_flags_win_over_kfkd_cudnn():
    env = dict(NO_RC, THEANO_FLAGS='device=cuda,dnn.enabled=False,dnn.include_path=/mine',
               KFKD_CUDNN='1', CONDA_PREFIX='/env')
    result = flags.configure_theano_flags(env, openblas=True).split(',')
    assert 'dnn.enabled=True' not in result and 'dnn.include_path=/env/include' not in result
    assert 'dnn.library_path=/env/lib' in result
    assert result[-2:] == ['dnn.enabled=False', 'dnn.include_path=/mine']


@pytest.mark.parametrize('cudnn, enabled', [('0', 'False'), ('1', 'True')])
def test_theano_reads_the_dnn_default_of_a_cuda_run(cudnn, enabled):
    out = run_python('import compat, theano; print(theano.config.dnn.enabled, '
                     'theano.config.dnn.include_path)',
                     {'THEANO_FLAGS': 'device=cuda', 'KFKD_CUDNN': cudnn,
                      'CONDA_PREFIX': '/opt/env'})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == enabled
    assert (out.stdout.split()[1:] == ['/opt/env/include']) == (cudnn == '1')
