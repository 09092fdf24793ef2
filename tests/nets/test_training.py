"""Every net trains one epoch on tiny random data and predicts 30 values.

Only net1, net2 and net6 compile in the fast suite (a conv net compiles in
18-47 s with a cold Theano cache); the rest are marked slow, the nets above
50M parameters among them.
"""
import compat  # noqa: F401  (before theano/lasagne/nolearn)
import gc

import numpy as np
import pytest

import nets

FAST = ['net1', 'net2', 'net6']
SLOW = [name for name in nets.NETS if name not in FAST]


def train_one_epoch(name):
    net = nets.build_net(name, max_epochs=1, verbose=0)
    net.batch_iterator_train.batch_size = 8
    net.batch_iterator_test.batch_size = 8
    rng = np.random.RandomState(0)
    X = rng.rand(20, *net.input_shape[1:]).astype(np.float32)
    y = rng.uniform(-0.5, 0.5, (20, 30)).astype(np.float32)
    net.fit(X, y)
    history = net.train_history_
    assert [row['epoch'] for row in history] == [1]
    assert np.isfinite(history[0]['train_loss'])
    assert np.isfinite(history[0]['valid_loss'])
    prediction = net.predict(X[:3])
    assert prediction.shape == (3, 30)
    assert np.all(np.isfinite(prediction))
    return net


def test_training_changes_the_weights():
    net = nets.build_net('net1', max_epochs=1, verbose=0)
    net.initialize()
    before = net.layers_['hidden'].W.get_value().copy()
    rng = np.random.RandomState(0)
    net.fit(rng.rand(20, 9216).astype(np.float32),
            rng.uniform(-0.5, 0.5, (20, 30)).astype(np.float32))
    assert not np.allclose(net.layers_['hidden'].W.get_value(), before)


@pytest.mark.parametrize('name', FAST)
def test_trains_one_epoch(name):
    train_one_epoch(name)


@pytest.mark.slow
@pytest.mark.parametrize('name', SLOW)
def test_trains_one_epoch_slow(name):
    train_one_epoch(name)
    gc.collect()
