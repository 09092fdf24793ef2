"""bench/protocol_reference.py: our training equals the study's protocol."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from paths import REPO
from tests.conftest import shared_path

SCRIPT = os.path.join(REPO, 'bench', 'protocol_reference.py')


def _module():
    spec = importlib.util.spec_from_file_location('protocol_reference', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args):
    return subprocess.run([sys.executable, SCRIPT] + list(args), cwd=REPO,
                          capture_output=True, text=True)


def test_pool_gradient_goes_to_every_tied_maximum():
    ref = _module()
    x = np.array([[[[1., 1., 0., 2.], [0., 1., 3., 2.], [5., 5., 5., 5.]]]])
    out, windows = ref.pool_forward(x, 2)
    dx = ref.pool_backward(np.ones_like(out), windows, out, x.shape, 2)
    assert out.tolist() == [[[[1., 3.]]]]
    # three 1s tie in the first window; the ragged last row gets nothing
    assert dx.tolist() == [[[[1., 1., 0., 0.], [0., 1., 1., 0.], [0., 0., 0., 0.]]]]


def test_rectify_has_slope_half_at_zero():
    y, slope = _module().rectify(np.array([-1., 0., 2.]))
    assert y.tolist() == [0., 0., 2.] and slope.tolist() == [0., 0.5, 1.]


def test_reference_gradients_match_finite_differences():
    ref = _module()
    rng = np.random.RandomState(0)
    ref.ARCHITECTURES['tiny'] = (
        [('conv', 'conv1', None), ('pool', 'pool1', 2), ('dropout', 'drop', 0.5),
         ('dense', 'hidden', 'rectify'), ('dense', 'output', None)], ref.FIXED)
    params = {'conv1': [rng.randn(3, 1, 2, 2), rng.randn(3) * 0.1],
              'hidden': [rng.randn(3 * 2 * 2, 5), rng.randn(5) * 0.1],
              'output': [rng.randn(5, 2), np.zeros(2)]}
    net = ref.Reference('tiny', params)
    X, y = rng.rand(4, 1, 5, 5), rng.randn(4, 2)
    masks = {'drop': (rng.rand(4, 3, 2, 2) > 0.5).astype(float)}
    _, grads = net.loss_and_grads(X, y, masks)
    for name in params:
        for k, value in enumerate(net.params[name]):
            numeric = np.zeros_like(value)
            for index in np.ndindex(value.shape):
                keep = value[index]
                value[index] = keep + 1e-6
                up = net.loss_and_grads(X, y, masks)[0]
                value[index] = keep - 1e-6
                down = net.loss_and_grads(X, y, masks)[0]
                value[index] = keep
                numeric[index] = (up - down) / 2e-6
            assert np.allclose(grads[name][k], numeric, rtol=1e-4, atol=1e-7), name
    _, unmasked = net.loss_and_grads(X, y, None)
    assert not np.allclose(grads['conv1'][0], unmasked['conv1'][0])  # the masks count


def test_schedule_trains_epochs_one_and_two_at_the_start_values():
    net = _module().Reference('net6', {})
    assert net.rates(1, 3) == [0.03, 0.9]
    assert np.allclose(net.rates(2, 3), [0.03, 0.9], rtol=1e-7)  # float32, as set
    assert np.allclose(net.rates(3, 3), [0.01505, 0.9495], rtol=1e-6)


def test_net1_on_few_rows_equals_the_reference():
    result = _run('--nets', 'net1', '--data', 'synthetic', '--limit', '300',
                  '--epochs', '3')
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert 'net1: max relative difference' in result.stdout
    assert result.stdout.rstrip().endswith('ok')


def test_a_departure_from_the_protocol_fails():
    # A reference at another learning rate stands for ours departing.
    result = subprocess.run(
        [sys.executable, '-c',
         'import runpy, sys; sys.argv = %r; '
         'g = runpy.run_path(%r, run_name="not_main"); '
         'g["FIXED"]["learning_rate"] = (0.011, 0.011); '
         'sys.exit(g["main"](sys.argv[1:]))'
         % (['x', '--nets', 'net1', '--data', 'synthetic', '--limit', '300',
             '--epochs', '2'], SCRIPT)],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stdout.rstrip().endswith('FAIL')


@pytest.mark.slow
@pytest.mark.parametrize('noise', ['off', 'on'])
def test_net1_and_net6_on_real_faces_equal_the_reference(noise):
    data = shared_path('data', 'ytf_kfkd', 'training.csv')
    result = _run('--nets', 'net1,net6', '--data', data, '--limit', '400',
                  '--epochs', '3', '--noise', noise)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert 'net6: max relative difference' in result.stdout
