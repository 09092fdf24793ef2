"""Theano's MRG31k3p uniform generator on the CPU, bit for bit, on all cores.

Lasagne 0.1's ``DropoutLayer`` draws its masks from
``theano.sandbox.rng_mrg.MRG_RandomStreams``. On the CPU, ``mrg_uniform``
fills the output one element at a time on one core: element ``i`` advances
stream ``i % n_streams``. That was 12-15% of net6's and cnet_nplfxl's
training time.

:class:`ParallelMRGUniform` computes the same numbers: element ``i`` still
comes from stream ``i % n_streams``, and each stream still advances once
per element, in order, so every sample and the final state are identical.
It only changes the loop order: the streams are split among OpenMP
threads, each thread walks its streams row by row (``i = row * n_streams +
s``) with their states in registers-friendly arrays, so the compiler can
vectorize the recurrence across streams. The additions that can overflow
are done in unsigned arithmetic (well defined; same bits as the original
two's-complement wrap it relies on), and ``y < 0 || y >= M`` is the one
unsigned comparison ``(uint32)y >= M`` (no branch, so it vectorizes).

:func:`register` adds a graph optimization that swaps every CPU
``mrg_uniform`` node for this op (same inputs, outputs and types).
"""
import theano
from theano import gof
from theano.compile import optdb
from theano.sandbox.rng_mrg import mrg_uniform

__all__ = ['ParallelMRGUniform', 'local_parallel_mrg', 'register', 'registered']

#: The optimization's name in Theano's ``optdb``.
_NAME = 'fastops_parallel_mrg'

_STEP = """
        {
            npy_int32 x11 = s0[s], x12 = s1[s], x13 = s2[s];
            npy_int32 x21 = s3[s], x22 = s4[s], x23 = s5[s];
            npy_int32 y1, y2;
            y1 = (npy_int32)((npy_uint32)((x12 & MASK12) << 22) + (npy_uint32)(x12 >> 9)
                             + (npy_uint32)((x13 & MASK13) << 7) + (npy_uint32)(x13 >> 24));
            y1 = ((npy_uint32)y1 >= (npy_uint32)M1)
                 ? (npy_int32)((npy_uint32)y1 - (npy_uint32)M1) : y1;
            y1 = (npy_int32)((npy_uint32)y1 + (npy_uint32)x13);
            y1 = ((npy_uint32)y1 >= (npy_uint32)M1)
                 ? (npy_int32)((npy_uint32)y1 - (npy_uint32)M1) : y1;
            x13 = x12; x12 = x11; x11 = y1;
            y1 = (npy_int32)((npy_uint32)((x21 & MASK2) << 15)
                             + (npy_uint32)(MULT2 * (x21 >> 16)));
            y1 = ((npy_uint32)y1 >= (npy_uint32)M2)
                 ? (npy_int32)((npy_uint32)y1 - (npy_uint32)M2) : y1;
            y2 = (npy_int32)((npy_uint32)((x23 & MASK2) << 15)
                             + (npy_uint32)(MULT2 * (x23 >> 16)));
            y2 = ((npy_uint32)y2 >= (npy_uint32)M2)
                 ? (npy_int32)((npy_uint32)y2 - (npy_uint32)M2) : y2;
            y2 = (npy_int32)((npy_uint32)y2 + (npy_uint32)x23);
            y2 = ((npy_uint32)y2 >= (npy_uint32)M2)
                 ? (npy_int32)((npy_uint32)y2 - (npy_uint32)M2) : y2;
            y2 = (npy_int32)((npy_uint32)y2 + (npy_uint32)y1);
            y2 = ((npy_uint32)y2 >= (npy_uint32)M2)
                 ? (npy_int32)((npy_uint32)y2 - (npy_uint32)M2) : y2;
            x23 = x22; x22 = x21; x21 = y2;
            npy_int32 d = x11 - x21;
            d = (d <= 0) ? d + M1 : d;
            out[s] = d * NORM;
            s0[s] = x11; s1[s] = x12; s2[s] = x13;
            s3[s] = x21; s4[s] = x22; s5[s] = x23;
        }
"""

_SUPPORT = """
void cpu_rng_mrg_uniform_%(dtype)s(PyArrayObject* o_sample, PyArrayObject* o_rstate,
                                   npy_int64 n_elements, int n_streams) {
    %(dtype)s* sample_data = (%(dtype)s *) PyArray_DATA(o_sample);
    npy_int32* state_data = (npy_int32 *) PyArray_DATA(o_rstate);
    const npy_int64 used = n_elements < n_streams ? n_elements : n_streams;
    %(omp)s
    {
        int n_threads = %(n_threads)s, tid = %(tid)s;
        npy_int64 s_begin = used * tid / n_threads;
        npy_int64 s_end = used * (tid + 1) / n_threads;
        npy_int64 n = s_end - s_begin;
        if (n > 0) {
            npy_int32* soa = (npy_int32*) malloc(6 * n * sizeof(npy_int32));
            npy_int32 * __restrict__ s0 = soa;
            npy_int32 * __restrict__ s1 = soa + n;
            npy_int32 * __restrict__ s2 = soa + 2 * n;
            npy_int32 * __restrict__ s3 = soa + 3 * n;
            npy_int32 * __restrict__ s4 = soa + 4 * n;
            npy_int32 * __restrict__ s5 = soa + 5 * n;
            for (npy_int64 s = 0; s < n; ++s) {
                const npy_int32* st = state_data + (s_begin + s) * 6;
                s0[s] = st[0]; s1[s] = st[1]; s2[s] = st[2];
                s3[s] = st[3]; s4[s] = st[4]; s5[s] = st[5];
            }
            const npy_int32 M1 = 2147483647, M2 = 2147462579;
            const npy_int32 MASK12 = 511, MASK13 = 16777215, MASK2 = 65535;
            const npy_int32 MULT2 = 21069;
            const %(dtype)s NORM = %(NORM)s;
            for (npy_int64 row = 0; row * n_streams < n_elements; ++row) {
                npy_int64 first = row * n_streams + s_begin;
                npy_int64 m = n_elements - first;
                if (m <= 0) break;
                if (m > n) m = n;
                %(dtype)s* __restrict__ out = sample_data + first;
                for (npy_int64 s = 0; s < m; ++s)
                %(step)s
            }
            for (npy_int64 s = 0; s < n; ++s) {
                npy_int32* st = state_data + (s_begin + s) * 6;
                st[0] = s0[s]; st[1] = s1[s]; st[2] = s2[s];
                st[3] = s3[s]; st[4] = s4[s]; st[5] = s5[s];
            }
            free(soa);
        }
    }
}
"""


class ParallelMRGUniform(mrg_uniform):
    """ParallelMRGUniform(output_type, inplace=False)

    ``theano.sandbox.rng_mrg.mrg_uniform`` (CPU) with the same samples and
    final state, computed by all OpenMP threads and vectorized across
    streams.
    """

    def c_support_code(self):
        openmp = theano.config.openmp
        return '\n'.join(_SUPPORT % dict(
            dtype=dtype, NORM=norm, step=_STEP,
            omp='#pragma omp parallel' if openmp else '',
            n_threads='omp_get_num_threads()' if openmp else '1',
            tid='omp_get_thread_num()' if openmp else '0')
            for dtype, norm in (('npy_float32', '4.6566126e-10f'),
                                ('npy_float64', '4.656612873077392578125e-10')))

    def c_headers(self):
        return (['omp.h'] if theano.config.openmp else []) + ['stdlib.h']

    def c_compile_args(self):
        return ['-fopenmp'] if theano.config.openmp else []

    def c_code_cache_version(self):
        return (2,) + tuple(super(ParallelMRGUniform, self).c_code_cache_version())


@gof.local_optimizer([mrg_uniform])
def local_parallel_mrg(node):
    """Swap a CPU ``mrg_uniform`` node for :class:`ParallelMRGUniform`."""
    if type(node.op) is not mrg_uniform:
        return False
    new = ParallelMRGUniform(node.op.output_type, inplace=node.op.inplace)
    return new.make_node(*node.inputs).outputs


def register():
    """register()

    Make every compiled function use :class:`ParallelMRGUniform` for CPU
    ``mrg_uniform`` nodes (a ``fast_run`` graph optimization, after Theano's
    own ``random_make_inplace_mrg``). Idempotent.
    """
    if _NAME not in optdb.__db__:
        optdb.register(_NAME, gof.opt.in2out(local_parallel_mrg, ignore_newtrees=True),
                       99.5, 'fast_run')


def registered():
    """registered()

    Whether compiled functions use :class:`ParallelMRGUniform`: :func:`register`
    was called and the optimization is still in ``fast_run``.
    """
    if _NAME not in optdb.__db__:
        return False
    fast_run = optdb.__db__['fast_run']
    return any(opt in fast_run for opt in optdb.__db__[_NAME])
