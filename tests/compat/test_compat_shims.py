"""compat.shims: each shim does its job, and nothing where the real thing exists."""
import collections
import collections.abc
import os
import subprocess
import sys

import numpy as np
import pytest

import compat  # noqa: F401  (before theano, lasagne, nolearn)
from compat import shims

import theano
import theano.tensor as T
from paths import REPO
from sklearn.base import clone


def run_python(code, env_update=None):
    env = {k: v for k, v in os.environ.items() if k not in ('THEANO_FLAGS', 'KFKD_FASTOPS')}
    env.update(env_update or {})
    return subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


# --- collections, pkg_resources -----------------------------------------------

def test_collections_abc_names_restored():
    assert collections.Iterable is collections.abc.Iterable
    assert collections.Mapping is collections.abc.Mapping


def test_shims_leave_real_modules_alone(monkeypatch):
    sentinel = object()
    monkeypatch.setattr(collections, 'Iterable', sentinel, raising=False)
    shims.patch_collections_abc()
    assert collections.Iterable is sentinel


def test_missing_pkg_resources_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pkg_resources', None)
    with pytest.raises(ImportError, match='setuptools >= 82'):
        shims.patch_pkg_resources_check()


# --- downsample ---------------------------------------------------------------

def test_downsample_max_pool_2d_matches_pool_2d():
    from theano.tensor.signal import downsample, pool
    x = T.tensor4('x')
    ours = theano.function([x], downsample.max_pool_2d(
        x, ds=(2, 2), st=(2, 2), ignore_border=True, padding=(0, 0)))
    theirs = theano.function([x], pool.pool_2d(
        x, ws=(2, 2), stride=(2, 2), ignore_border=True))
    a = np.random.RandomState(0).rand(2, 3, 5, 5).astype('float32')
    np.testing.assert_array_equal(ours(a), theirs(a))
    assert ours(a).shape == (2, 3, 2, 2)


def test_lasagne_pool_layer_runs():
    import lasagne
    l_in = lasagne.layers.InputLayer((None, 1, 4, 4))
    l_pool = lasagne.layers.MaxPool2DLayer(l_in, pool_size=(2, 2))
    f = theano.function([l_in.input_var], lasagne.layers.get_output(l_pool))
    a = np.arange(16, dtype='float32').reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(f(a)[0, 0], [[5, 7], [13, 15]])


# --- cross_validation -----------------------------------------------------------

def test_sklearn_cross_validation_holds_the_old_folds():
    import sklearn.cross_validation
    from compat.folds import KFold, StratifiedKFold
    assert sklearn.cross_validation.KFold is KFold
    assert sklearn.cross_validation.StratifiedKFold is StratifiedKFold


def test_trainsplit_validates_on_exactly_the_first_20_percent():
    from nolearn.lasagne import TrainSplit
    X = np.arange(2140 * 2, dtype='float32').reshape(2140, 2)
    y = X[:, :1].copy()

    class Regressor(object):
        regression = True

    X_train, X_valid, y_train, y_valid = TrainSplit(eval_size=0.2)(X, y, Regressor())
    np.testing.assert_array_equal(X_valid, X[:428])
    np.testing.assert_array_equal(X_train, X[428:])
    np.testing.assert_array_equal(y_valid, y[:428])


# --- nolearn NeuralNet and scikit-learn -----------------------------------------

def tiny_net(**kwargs):
    from lasagne import layers
    from nolearn.lasagne import NeuralNet
    return NeuralNet(
        layers=[('input', layers.InputLayer), ('hidden', layers.DenseLayer),
                ('output', layers.DenseLayer)],
        input_shape=(None, 4), hidden_num_units=3,
        output_num_units=2, output_nonlinearity=None,
        update_learning_rate=0.01, update_momentum=0.9,
        regression=True, max_epochs=2, **kwargs)


def test_neuralnet_get_params_and_repr():
    net = tiny_net()
    params = net.get_params()
    assert params['hidden_num_units'] == 3
    assert params['loss'] is None and params['X_tensor_type'] is None
    assert 'hidden_num_units=3' in repr(net)


@pytest.mark.parametrize('verbose', [0, 1])
def test_neuralnet_clone_is_unfitted_copy(verbose):
    from nolearn.lasagne import PrintLog
    net = tiny_net(verbose=verbose)
    X = np.random.RandomState(0).rand(20, 4).astype('float32')
    net.fit(X, X[:, :2])
    copy = clone(net)
    assert copy is not net and copy.hidden_num_units == 3
    assert not hasattr(copy, 'layers_') and copy.train_history_ == []
    n_printlogs = sum(isinstance(h, PrintLog) for h in copy.on_epoch_finished)
    assert n_printlogs == verbose
    copy.fit(X, X[:, :2])
    assert len(copy.train_history_) == 2


# --- fastops: on the CPU only -----------------------------------------------------

def test_lasagne_and_nolearn_import_in_a_fresh_process():
    out = run_python('import compat, lasagne, nolearn.lasagne; '
                     'import theano; print(theano.config.floatX)')
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'float32'


POOL_AND_MRG = ('import compat, theano, theano.tensor as T; '
                'from theano.tensor.signal import downsample; '
                'from theano.compile import optdb; '
                'x = T.tensor4(); '
                'print(type(downsample.max_pool_2d(x, (2, 2), True).owner.op).__name__, '
                "'fastops_parallel_mrg' in optdb.__db__, 'fastops_fft_conv' in optdb.__db__)")


def test_fastops_are_the_cpu_default_and_can_be_turned_off():
    on = run_python(POOL_AND_MRG)
    off = run_python(POOL_AND_MRG, {'KFKD_FASTOPS': '0'})
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    assert on.stdout.split() == ['NonOverlappingMaxPool', 'True', 'True']
    assert off.stdout.split() == ['Pool', 'False', 'False']


@pytest.mark.parametrize('gpu_flags', ['device=cuda', 'device=cpu,init_gpu_device=cuda0'])
def test_a_gpu_device_keeps_theanos_own_pooling_and_mrg(gpu_flags):
    # Theano's GPU optimizer can move only its own ops; fastops' are CPU-only.
    out = run_python(POOL_AND_MRG, {'THEANO_FLAGS': gpu_flags})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['Pool', 'False', 'False']


def test_fast_ops_enabled_reads_the_device_of_this_process():
    assert shims.fast_ops_enabled({}) is True  # device=cpu here
    assert shims.fast_ops_enabled({}, 'cuda0') is False
    assert shims.fast_ops_enabled({'KFKD_FASTOPS': '1'}, 'opencl0:0') is False


def test_apply_again_changes_nothing():
    from theano.tensor.signal import downsample
    before = (downsample.max_pool_2d, compat.runtime_info(), list(sys.meta_path))
    compat.apply()
    assert (downsample.max_pool_2d, compat.runtime_info(), list(sys.meta_path)) == before
