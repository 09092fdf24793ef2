"""Each shim in compat.py does its job, and nothing where the real thing exists."""
import collections
import collections.abc
import os
import subprocess
import sys

import numpy as np
import pytest

import compat  # noqa: F401  (before theano, lasagne, nolearn)

import theano
import theano.tensor as T
from sklearn.base import clone

REPO = compat.REPO


def run_python(code, env_update=None):
    env = dict(os.environ)
    env.pop('THEANO_FLAGS', None)
    env.update(env_update or {})
    return subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


# --- Theano flags ------------------------------------------------------------

def test_flag_defaults_are_used_without_user_flags():
    env = {'THEANORC': '/nonexistent'}
    flags = compat.configure_theano_flags(env, openblas=True)
    assert flags.split(',') == [
        'floatX=float32', 'base_compiledir=%s' % compat.THEANO_CACHE,
        'blas.ldflags=-lopenblas', 'openmp=True', 'allow_gc=False']
    assert env['OMP_NUM_THREADS'] == str(os.cpu_count())


def test_allow_gc_false_is_the_default_and_the_user_can_turn_it_back_on():
    env = {'THEANORC': '/nonexistent'}
    assert 'allow_gc=False' in compat.configure_theano_flags(env, openblas=False)
    env = {'THEANO_FLAGS': 'allow_gc=True', 'THEANORC': '/nonexistent'}
    flags = compat.configure_theano_flags(env, openblas=True)
    assert 'allow_gc=False' not in flags and flags.endswith('allow_gc=True')
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
    env = {'THEANO_FLAGS': 'floatX=float64,openmp=False',
           'OMP_NUM_THREADS': '1', 'THEANORC': '/nonexistent'}
    flags = compat.configure_theano_flags(env, openblas=True)
    names = [item.split('=')[0] for item in flags.split(',')]
    assert names.count('floatX') == 1 and names.count('openmp') == 1
    assert flags.endswith('floatX=float64,openmp=False')
    assert env['OMP_NUM_THREADS'] == '1'


def test_user_theanorc_wins(tmp_path):
    rc = tmp_path / 'theanorc'
    rc.write_text('[global]\nfloatX = float64\n[blas]\nldflags = -lmkl_rt\n')
    env = {'THEANORC': str(rc)}
    flags = compat.configure_theano_flags(env, openblas=True)
    assert 'floatX' not in flags and 'blas.ldflags' not in flags
    assert 'openmp=True' in flags


def test_numpy_fallback_warns_once_and_disables_openmp():
    env = {'THEANORC': '/nonexistent'}
    with pytest.warns(RuntimeWarning, match='falls back to NumPy') as caught:
        flags = compat.configure_theano_flags(env, openblas=False)
    assert len(caught) == 1
    assert 'blas.ldflags=,' in flags and 'openmp=False' in flags
    assert 'OMP_NUM_THREADS' not in env


def test_flags_reach_theano_in_this_process():
    assert theano.config.floatX == 'float32'
    assert theano.config.base_compiledir == compat.THEANO_CACHE
    if compat.openblas_linkable():
        assert theano.config.blas.ldflags == '-lopenblas'


def test_configure_is_a_no_op_once_theano_is_imported():
    assert compat.configure_theano_flags() is None


def test_theano_compiles_and_runs_with_the_flags():
    x = T.matrix('x')
    f = theano.function([x], T.dot(x, x.T))
    a = np.arange(6, dtype='float32').reshape(2, 3)
    np.testing.assert_allclose(f(a), a.dot(a.T))


# --- collections, pkg_resources -----------------------------------------------

def test_collections_abc_names_restored():
    assert collections.Iterable is collections.abc.Iterable
    assert collections.Mapping is collections.abc.Mapping


def test_shims_leave_real_modules_alone(monkeypatch):
    sentinel = object()
    monkeypatch.setattr(collections, 'Iterable', sentinel, raising=False)
    compat.patch_collections_abc()
    assert collections.Iterable is sentinel


def test_missing_pkg_resources_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pkg_resources', None)
    with pytest.raises(ImportError, match='setuptools >= 82'):
        compat.patch_pkg_resources_check()


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

@pytest.mark.parametrize('n, n_folds, sizes', [
    (10, 5, [2, 2, 2, 2, 2]),
    (11, 5, [3, 2, 2, 2, 2]),
    (14, 5, [3, 3, 3, 3, 2]),
    (2140, 5, [428] * 5),
])
def test_kfold_old_fold_layout(n, n_folds, sizes):
    from sklearn.cross_validation import KFold
    folds = list(KFold(n, n_folds))
    assert [len(test) for _, test in folds] == sizes
    starts = np.cumsum([0] + sizes[:-1])
    for (train, test), start, size in zip(folds, starts, sizes):
        np.testing.assert_array_equal(test, np.arange(start, start + size))
        np.testing.assert_array_equal(np.sort(np.r_[train, test]), np.arange(n))


def test_stratified_kfold_old_layout():
    from sklearn.cross_validation import StratifiedKFold
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 0])
    folds = list(StratifiedKFold(y, 2))
    # sklearn 0.17: class 0 (6 rows) -> blocks of 3, class 1 (4 rows) -> 2.
    np.testing.assert_array_equal(folds[0][1], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(folds[1][1], [5, 6, 7, 8, 9])


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


def test_lasagne_and_nolearn_import_in_a_fresh_process():
    out = run_python('import compat, lasagne, nolearn.lasagne; '
                     'import theano; print(theano.config.floatX)')
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'float32'


def test_fastops_are_the_default_and_can_be_turned_off():
    code = ('import compat, theano, theano.tensor as T; '
            'from theano.tensor.signal import downsample; '
            'from theano.compile import optdb; '
            'x = T.tensor4(); '
            'print(type(downsample.max_pool_2d(x, (2, 2), True).owner.op).__name__, '
            "'fastops_parallel_mrg' in optdb.__db__)")
    on = run_python(code)
    off = run_python(code, {'KFKD_FASTOPS': '0'})
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    assert on.stdout.split() == ['NonOverlappingMaxPool', 'True']
    assert off.stdout.split() == ['Pool', 'False']
