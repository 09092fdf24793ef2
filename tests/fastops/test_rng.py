"""fastops.rng draws exactly Theano's MRG31k3p numbers, and leaves the same state."""
import compat  # noqa: F401  (before theano)

import numpy as np
import pytest
import theano
import theano.tensor as T
from theano.sandbox.rng_mrg import MRG_RandomStreams, mrg_uniform

from fastops.rng import ParallelMRGUniform, local_parallel_mrg, register

WITHOUT = theano.compile.get_default_mode().excluding('fastops_parallel_mrg')
WITH = theano.compile.get_default_mode().including('fastops_parallel_mrg')


def draw_function(seed, dtype, mode, nstreams=None):
    """Dropout-style draws from a symbolic shape, and the streams' state."""
    x = T.tensor4('x')
    srng = MRG_RandomStreams(seed)
    sample = srng.uniform(x.shape, dtype=dtype, nstreams=nstreams)
    state = srng.state_updates[0][0]
    return theano.function([x], sample, mode=mode), state


@pytest.mark.parametrize('dtype', ['float32', 'float64'])
@pytest.mark.parametrize('nstreams', [None, 7])
def test_same_samples_and_same_final_state_as_theanos_op(dtype, nstreams):
    register()
    ref, ref_state = draw_function(42, dtype, WITHOUT, nstreams)
    fast, fast_state = draw_function(42, dtype, WITH, nstreams)
    ops = [type(n.op) for n in fast.maker.fgraph.toposort()]
    assert ParallelMRGUniform in ops and mrg_uniform not in ops
    # fewer elements than streams, a ragged last row, dropout sizes, again
    for shape in [(1, 1, 1, 3), (2, 3, 5, 7), (16, 12, 86, 9), (1, 1, 1, 1),
                  (4, 32, 47, 47)]:
        x = np.zeros(shape, dtype='float32')
        want, got = ref(x), fast(x)
        assert got.dtype == want.dtype == dtype
        assert np.array_equal(got, want)
        assert np.array_equal(fast_state.get_value(), ref_state.get_value())
    assert 0.45 < got.mean() < 0.55 and got.min() > 0 and got.max() < 1


def test_rewrite_leaves_other_ops_alone():
    x = T.matrix('x')
    node = (x + 1).owner
    assert local_parallel_mrg.transform(node) is False
