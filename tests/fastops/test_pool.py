"""fastops.pool computes exactly what Theano's pool.pool_2d computes."""
import compat  # noqa: F401  (before theano)

import numpy as np
import pytest
import theano
import theano.tensor as T
from theano.tensor.signal import pool

from fastops.pool import (NonOverlappingMaxPool, NonOverlappingMaxPoolGrad,
                          is_nonoverlapping, max_pool_2d)


def tied_input(shape, seed=0):
    """Few distinct values, so that most windows hold ties; a NaN or two."""
    rng = np.random.RandomState(seed)
    x = rng.randint(0, 3, size=shape).astype('float32')
    x.flat[rng.randint(0, x.size, 2)] = np.nan
    return x


def values_and_grads(pool_fn, x, gz, mode=None):
    xv = T.tensor4('x')
    gv = T.tensor4('gz')
    out = pool_fn(xv)
    gx = T.grad(None, xv, known_grads={out: gv})
    f = theano.function([xv, gv], [out, gx], mode=mode)
    return f(x, gz)


def reference(ws):
    return lambda x: pool.pool_2d(x, ws=ws, ignore_border=True, mode='max')


@pytest.mark.parametrize('shape,ws', [
    ((3, 2, 8, 8), (2, 2)),
    ((2, 3, 7, 9), (2, 2)),     # odd sizes: border rows/columns cut off
    ((2, 2, 9, 10), (3, 2)),
    ((1, 1, 5, 5), (1, 1)),
])
@pytest.mark.parametrize('linker', ['c', 'py'])
def test_values_and_gradients_equal_theanos_including_ties_and_nan(shape, ws, linker):
    x = tied_input(shape)
    oshape = shape[:2] + (shape[2] // ws[0], shape[3] // ws[1])
    gz = np.random.RandomState(1).randn(*oshape).astype('float32')
    gz.flat[0] = -0.0
    mode = theano.compile.Mode(linker=linker, optimizer='fast_run')
    # Theano's own Python Pool.perform fails on today's numpy: compare
    # both our C and our Python code with Theano's C code.
    want = values_and_grads(reference(ws), x, gz,
                            theano.compile.Mode(linker='c', optimizer='fast_run'))
    got = values_and_grads(lambda v: max_pool_2d(v, ws, ignore_border=True),
                           x, gz, mode)
    assert got[0].shape == want[0].shape == oshape
    assert got[1].shape == want[1].shape == shape
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
        # same bits: also the sign of zero and where the NaNs are
        assert np.array_equal(g.view('int32'), w.view('int32'))
    # ties really occurred, and every tied position got the gradient
    assert (got[1] != 0).sum() > np.prod(oshape) * 0.9


def test_fast_op_is_in_the_graph_and_handles_non_contiguous_input():
    xv = T.tensor4('x')
    out = max_pool_2d(xv.dimshuffle(0, 1, 3, 2), (2, 2), ignore_border=True)
    gx = T.grad(out.sum(), xv)
    f = theano.function([xv], [out, gx])
    ops = {type(node.op) for node in f.maker.fgraph.toposort()}
    assert {NonOverlappingMaxPool, NonOverlappingMaxPoolGrad} <= ops
    x = tied_input((2, 3, 6, 8), seed=3)
    ref = theano.function([xv], [
        reference((2, 2))(xv.dimshuffle(0, 1, 3, 2)),
        T.grad(reference((2, 2))(xv.dimshuffle(0, 1, 3, 2)).sum(), xv)])
    for g, w in zip(f(x), ref(x)):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize('args,fast', [
    (((2, 2), True, None, (0, 0), 'max', 4), True),
    (((2, 2), True, (2, 2), (0, 0), 'max', 4), True),
    (((2, 2), False, None, (0, 0), 'max', 4), False),
    (((2, 2), None, None, (0, 0), 'max', 4), False),
    (((3, 3), True, (2, 2), (0, 0), 'max', 4), False),
    (((2, 2), True, None, (1, 1), 'max', 4), False),
    (((2, 2), True, None, (0, 0), 'average_exc_pad', 4), False),
    (((2, 2), True, None, (0, 0), 'max', 3), False),
])
def test_only_exactly_equivalent_calls_take_the_fast_path(args, fast):
    assert is_nonoverlapping(*args) is fast
    ndim = args[-1]
    var = T.TensorType('float32', (False,) * ndim)('x')
    out = max_pool_2d(var, args[0], ignore_border=args[1], st=args[2],
                      padding=args[3], mode=args[4])
    assert isinstance(out.owner.op, NonOverlappingMaxPool) is fast
