"""fastops.conv: FFT convolution equals Theano's CorrMM within float32 rounding.

The promise (``fastops/__init__.py``): every element of the forward pass and
of both gradients is within ``TOL * max|CorrMM's result|`` of CorrMM's,
``TOL = 2e-5`` (float32's epsilon is 1.2e-7; the transforms' rounding grows
with the plane size and the channel sums); measured errors are 1e-7 to 1e-6.
"""
import compat  # noqa: F401  (before theano)
import numpy as np
import pytest
import theano
import theano.tensor as T
from theano.tensor.nnet import conv2d

import fastops.conv
from fastops.conv import Spectrum, choices, prefer_fft

TOL = 2e-5

#: (batch, channels, filters, h, w, kh, kw, filter_flip): 1 and many
#: channels, odd and even sizes, batch 1 and 128, filters 2 to 12, both
#: flips, filters as large as the image; then seeded random shapes.
FIXED = [
    (1, 1, 1, 5, 7, 2, 2, True),
    (1, 1, 3, 12, 12, 12, 12, False),
    (128, 2, 3, 9, 8, 3, 2, True),
    (3, 7, 5, 11, 10, 5, 4, False),
    (2, 5, 3, 13, 9, 7, 6, True),
]


def _random_shapes(n, seed=17):
    rng = np.random.RandomState(seed)
    shapes = []
    for _ in range(n):
        kh, kw = rng.randint(2, 13, size=2)
        h, w = kh + rng.randint(0, 9), kw + rng.randint(0, 9)
        shapes.append((int(rng.choice([1, 4, 128])), int(rng.randint(1, 9)),
                       int(rng.randint(1, 7)), int(h), int(w), int(kh), int(kw),
                       bool(rng.randint(2))))
    return shapes


@pytest.fixture
def always_fft(monkeypatch):
    """Every eligible convolution by FFT, whatever the cost model says."""
    fastops.conv.register()
    monkeypatch.setattr(fastops.conv, 'POLICY', 'always')


def _functions(shape):
    b, c, o, h, w, kh, kw, flip = shape
    x, k = T.ftensor4('x'), T.ftensor4('k')
    y = conv2d(x, k, input_shape=(None, c, h, w), filter_shape=(o, c, kh, kw),
               filter_flip=flip)
    cost = (y ** 2).sum() * 0.5 + (y * T.arange(y.size).reshape(y.shape)).sum() * 1e-3
    outs = [y] + T.grad(cost, [x, k])
    fft = theano.function([x, k], outs)
    corrmm = theano.function([x, k], outs, mode=theano.compile.get_default_mode()
                             .excluding('fastops_fft_conv'))
    return fft, corrmm


def _op_names(fn):
    return [type(node.op).__name__ for node in fn.maker.fgraph.toposort()]


@pytest.mark.parametrize('shape', FIXED + _random_shapes(5))
def test_forward_and_both_gradients_equal_corrmm_within_float32_rounding(shape, always_fft):
    fft, corrmm = _functions(shape)
    names = _op_names(fft)
    # One transform each of x, the filters and the output gradient: the
    # forward pass and the two gradients share them.
    assert names.count('Spectrum') == 3 and 'CorrMM' not in names
    assert 'CorrMM' in _op_names(corrmm) and 'Spectrum' not in _op_names(corrmm)
    b, c, o, h, w, kh, kw, _ = shape
    rng = np.random.RandomState(sum(shape[:7]))
    x = rng.randn(b, c, h, w).astype(np.float32)
    k = rng.randn(o, c, kh, kw).astype(np.float32)
    first = fft(x[::-1].copy(), k[::-1].copy())  # the ops then refill their buffers
    for name, got, want in zip(('output', 'd/dx', 'd/dk'), fft(x, k), corrmm(x, k)):
        assert got.shape == want.shape and got.dtype == np.float32, name
        err = np.abs(got - want).max() / np.abs(want).max()
        assert err <= TOL, '%s: relative error %.2e' % (name, err)
    assert all(a is not b for a in first for b in fft(x, k))  # outputs never aliased


@pytest.mark.parametrize('flip', [True, False])
def test_verify_grad_of_the_fft_graph(flip, always_fft):
    rng = np.random.RandomState(3)
    x = rng.rand(2, 3, 10, 9).astype(np.float32)
    k = rng.rand(4, 3, 4, 5).astype(np.float32)

    def conv(x, k):
        return conv2d(x, k, input_shape=(2, 3, 10, 9), filter_shape=(4, 3, 4, 5),
                      filter_flip=flip)
    # The convolution is linear in each argument, so a finite difference is
    # exact for any step: a large step keeps the forward pass's float32
    # rounding (not cancelled between the two FFT evaluations, unlike a
    # direct sum's) from swamping the difference.
    theano.gradient.verify_grad(conv, [x, k], rng=rng, eps=0.5, abs_tol=1e-3, rel_tol=1e-3)


def test_strided_padded_and_dilated_convolutions_keep_corrmm(always_fft):
    x, k = T.ftensor4('x'), T.ftensor4('k')
    kwargs = dict(input_shape=(None, 2, 12, 12), filter_shape=(3, 2, 5, 5))
    for other in (dict(subsample=(2, 2)), dict(border_mode=(1, 1)),
                  dict(border_mode='full'), dict(filter_dilation=(2, 2))):
        names = _op_names(theano.function([x, k], conv2d(x, k, **dict(kwargs, **other))))
        assert 'Spectrum' not in names and 'CorrMM' in names, other
    # Unknown image sizes: no transform size to choose, CorrMM.
    names = _op_names(theano.function([x, k], conv2d(x, k)))
    assert 'Spectrum' not in names


def test_the_cost_model_picks_fft_for_large_filters_only():
    assert prefer_fft(128, 12, 36, (86, 86), (9, 9))      # cnet_nplfxl's conv3
    assert prefer_fft(None, 6, 12, (92, 92), (7, 7))      # its conv2
    assert not prefer_fft(128, 1, 32, (96, 96), (3, 3))   # net6's conv1
    assert not prefer_fft(128, 32, 64, (47, 47), (2, 2))  # net6's conv2


def test_auto_policy_records_each_layers_choice():
    fastops.conv.register()
    assert fastops.conv.POLICY == 'auto'
    x, k = T.ftensor4('x'), T.ftensor4('k')
    big = conv2d(x, k, input_shape=(None, 12, 86, 86), filter_shape=(36, 12, 9, 9))
    small = conv2d(x, k, input_shape=(None, 1, 96, 96), filter_shape=(32, 1, 3, 3))
    assert 'Spectrum' in _op_names(theano.function([x, k], big))
    assert 'Spectrum' not in _op_names(theano.function([x, k], small))
    assert choices()['12x86x86*36x12x9x9'] == 'fft'
    assert choices()['1x96x96*32x1x3x3'] == 'corrmm'
    assert compat.runtime_info()['convolution'] == 'fastops'
    assert compat.runtime_info()['convolution_choices']['12x86x86*36x12x9x9'] == 'fft'


def test_spectrum_rejects_planes_larger_than_its_frame():
    v = T.ftensor4()
    f = theano.function([v], Spectrum((8, 8), (2, 0))(v))
    with pytest.raises(ValueError, match='do not fit'):
        f(np.zeros((1, 1, 7, 8), np.float32))


def _train_losses(policy, monkeypatch):
    from training.run import build
    monkeypatch.setattr(fastops.conv, 'POLICY', policy)
    net = build('cnet_nplfxl', 5, epochs=3, net_overrides=dict(
        input_shape=(None, 1, 24, 24), hidden4_num_units=8, hidden5_num_units=8, verbose=0))
    rng = np.random.RandomState(0)
    X = rng.rand(80, 1, 24, 24).astype(np.float32)
    y = (rng.rand(80, 30) - 0.5).astype(np.float32)
    net.fit(X, y)
    names = _op_names(net.train_iter_)
    return [(h['train_loss'], h['valid_loss']) for h in net.train_history_], names


@pytest.mark.slow  # six compiles of a whole net: 2.5 min on the loaded 2-core machine
def test_three_epochs_of_a_small_cnet_nplfxl_lose_the_same_by_fft_and_corrmm(monkeypatch):
    # cnet_nplfxl's layers (5x5, 7x7, 9x9 filters, dropout, Nesterov) on
    # 24x24 images; bench/fft_equivalence.py does the full-size nets.
    fastops.conv.register()
    fft, fft_ops = _train_losses('always', monkeypatch)
    corrmm, corrmm_ops = _train_losses('never', monkeypatch)
    assert fft_ops.count('Spectrum') >= 7 and 'CorrMM' not in fft_ops
    assert 'Spectrum' not in corrmm_ops
    assert len(fft) == len(corrmm) == 3
    np.testing.assert_allclose(np.array(fft), np.array(corrmm), rtol=1e-4)
