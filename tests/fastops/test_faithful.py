"""Training with fastops gives the losses training with Theano's own ops gives."""
import compat  # noqa: F401  (before theano)

import lasagne
import numpy as np
import theano
import theano.tensor as T
from lasagne import layers
from theano.tensor.signal import downsample, pool

import fastops.pool
import fastops.rng


def theano_max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0),
                       mode='max'):
    return pool.pool_2d(input, ws=ds, ignore_border=ignore_border,
                        stride=st, pad=padding, mode=mode)


def train_losses(max_pool_2d, mode, epochs=3):
    """A small Net6 (conv, 2x2 pools, dropout, dense, Nesterov, MSE)."""
    original = downsample.max_pool_2d
    downsample.max_pool_2d = max_pool_2d
    try:
        lasagne.random.set_rng(np.random.RandomState(7))
        x, y = T.tensor4('x'), T.matrix('y')
        net = layers.InputLayer((None, 1, 20, 20), x)
        for filters, size, p in [(4, 3, 0.1), (8, 2, 0.2)]:
            net = layers.Conv2DLayer(net, filters, (size, size))
            net = layers.MaxPool2DLayer(net, (2, 2))
            net = layers.DropoutLayer(net, p)
        net = layers.DenseLayer(net, 16)
        net = layers.DropoutLayer(net, 0.5)
        net = layers.DenseLayer(net, 6, nonlinearity=None)
        loss = T.mean((layers.get_output(net) - y) ** 2)
        params = layers.get_all_params(net, trainable=True)
        updates = lasagne.updates.nesterov_momentum(loss, params, 0.05, 0.9)
        step = theano.function([x, y], loss, updates=updates, mode=mode)
    finally:
        downsample.max_pool_2d = original
    rng = np.random.RandomState(0)
    X = rng.rand(40, 1, 20, 20).astype('float32')
    Y = (rng.rand(40, 6) - 0.5).astype('float32')
    losses = []
    for _ in range(epochs):
        losses.append(np.mean([step(X[i:i + 16], Y[i:i + 16])
                               for i in range(0, 40, 16)]))
    return np.array(losses), step


def test_fastops_training_losses_equal_theanos():
    fastops.rng.register()
    untuned = theano.compile.get_default_mode().excluding('fastops_parallel_mrg')
    tuned = theano.compile.get_default_mode().including('fastops_parallel_mrg')
    want, ref_step = train_losses(theano_max_pool_2d, untuned)
    got, fast_step = train_losses(fastops.pool.max_pool_2d, tuned)
    fast_ops = {type(n.op).__name__ for n in fast_step.maker.fgraph.toposort()}
    ref_ops = {type(n.op).__name__ for n in ref_step.maker.fgraph.toposort()}
    assert {'NonOverlappingMaxPoolGrad', 'ParallelMRGUniform'} <= fast_ops
    assert {'MaxPoolGrad', 'mrg_uniform'} <= ref_ops
    assert want[-1] < want[0]  # it did learn
    np.testing.assert_allclose(got, want, rtol=1e-6)
