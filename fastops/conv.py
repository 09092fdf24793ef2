"""Stride-1 "valid" 2-D convolution on the CPU by FFT, within float32 rounding.

Theano's CPU convolution (``CorrMM``) unrolls every input patch into a
matrix and calls sgemm: ``2 * B * C * O * Ho * Wo * kh * kw`` flops per pass.
For large filters (cnet_nplfxl's 9x9 conv3: 61% of a training step's
multiply-adds) the convolution theorem needs far fewer: transform each
plane once, multiply spectra, transform back.

The convolution is split into three graph nodes so that Theano's merge
optimizer shares the transforms between the forward pass and the two
gradients (the input's spectrum is used by the forward pass and the weight
gradient, the output gradient's by both gradients, the filters' by the
forward pass and the input gradient):

- :class:`Spectrum`: ``rfft2`` of every plane of a ``(a, b, h, w)`` tensor,
  zero-padded to ``(P, Q)`` (:func:`fft_shape`), laid out frequency-major
  ``(P * (Q // 2 + 1), a, b)`` complex64, so that
- :class:`SpectralProduct` sums over channels with one complex matrix
  product per frequency (``np.matmul`` on the stacks: BLAS ``cgemm``), and
- :class:`SpectrumToImage` transforms back and crops.

With ``k`` the filters as a true convolution sees them (Theano's
``filter_flip=True``: the weights; ``False``: the weights flipped), ``x``
the input, ``g`` the output gradient placed at offset ``(kh-1, kw-1)`` in
the ``(P, Q)`` frame, and ``P >= h``, ``Q >= w`` (no wrap-around reaches the
kept samples):

- forward: ``Y[f] = X[f] @ K[f].T``, kept rows ``kh-1 .. h-1``;
- input gradient (a "full" correlation): ``GX[f] = G[f] @ conj(K[f])``,
  kept rows ``0 .. h-1``;
- weight gradient: ``GK[f] = G[f].T @ conj(X[f])``, kept rows ``0 .. kh-1``.

Transforms are scipy's ``pocketfft`` (``scipy.fft``); transforms, layout
copies and products run on :func:`workers` threads (numpy and scipy release
the GIL), over chunks small enough to stay in cache.

:func:`local_fft_conv` replaces Theano's abstract convolution nodes
(``AbstractConv2d`` and its two gradients) by these where
:func:`prefer_fft` says the FFT is faster for the layer's shapes, and
records each choice (:func:`choices`); :func:`register` adds it to Theano's
``fast_run`` optimizations. Results equal ``CorrMM``'s within float32
rounding (``tests/fastops/test_conv.py`` states the tolerances).
"""
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft
from theano import gof, tensor
from theano.compile import optdb
from theano.tensor.nnet.abstract_conv import (AbstractConv2d, AbstractConv2d_gradInputs,
                                              AbstractConv2d_gradWeights)

__all__ = ['workers', 'fft_shape', 'Spectrum', 'SpectralProduct', 'SpectrumToImage',
           'fft_conv2d', 'fft_conv2d_grad_inputs', 'fft_conv2d_grad_weights',
           'direct_cost', 'fft_cost', 'prefer_fft', 'MARGIN', 'POLICY', 'local_fft_conv',
           'register', 'registered', 'choices']

#: The optimization's name in Theano's ``optdb``.
_NAME = 'fastops_fft_conv'

_POOL = {}
_POOL_LOCK = threading.Lock()


def workers():
    """workers()

    Threads for transforms and products: ``OMP_NUM_THREADS`` (as Theano's
    own OpenMP ops), else every core.
    """
    try:
        n = int(os.environ.get('OMP_NUM_THREADS', '0'))
    except ValueError:
        n = 0
    return max(1, n or os.cpu_count() or 1)


def _map(fn, n, chunk):
    """Call ``fn(slice)`` over ``range(n)`` in chunks of ``chunk``, on :func:`workers` threads."""
    slices = [slice(i, min(i + chunk, n)) for i in range(0, n, chunk)]
    threads = workers()
    if threads == 1 or len(slices) == 1:
        for s in slices:
            fn(s)
        return
    with _POOL_LOCK:
        pool = _POOL.get(threads)
        if pool is None:
            pool = _POOL[threads] = ThreadPoolExecutor(threads, 'fastops-fft')
    for _ in pool.map(fn, slices):  # re-raises a worker's exception here
        pass


_BLAS = []


def _single_threaded_blas():
    """A context in which numpy's and scipy's BLAS run on one thread (threadpoolctl)."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController  # scikit-learn's; pinned
        _BLAS.append(ThreadpoolController().select(user_api='blas'))
    return _BLAS[0].limit(limits=1)


def _planes_chunk(planes_per_item, plane_size):
    """Items per chunk so that one chunk's spectra stay near 4 MB (measured faster than 1 MB)."""
    return max(1, (1 << 22) // max(1, 8 * planes_per_item * plane_size))


def _output(storage, shape, dtype):
    """The op's previous output array if it has this shape, else a new one.

    With ``allow_gc=False`` Theano keeps an intermediate's storage between
    calls (and empties that of a function's outputs); refilling it spares
    the page faults of a fresh 100 MB array every batch, as Theano's C ops do.
    """
    old = storage[0]
    if (isinstance(old, np.ndarray) and old.shape == shape and old.dtype == dtype
            and old.flags.c_contiguous and old.flags.writeable):
        return old
    return np.empty(shape, dtype)


def fft_shape(h, w):
    """fft_shape(h, w)

    The transform size for planes of ``h x w``: the smallest sizes ``>= h``,
    ``>= w`` that ``scipy.fft`` transforms fast (:func:`scipy.fft.next_fast_len`).

    Examples
    --------
    >>> fft_shape(86, 86), fft_shape(96, 96), fft_shape(7, 11)
    ((90, 90), (96, 96), (8, 12))
    """
    return (scipy.fft.next_fast_len(int(h), real=True),
            scipy.fft.next_fast_len(int(w), real=True))


def _complex3():
    return tensor.TensorType('complex64', (False, False, False))()


class Spectrum(gof.Op):
    """Spectrum(size, offset=(0, 0), flip=False)

    The 2-D real FFT of every plane of a float32 ``(a, b, h, w)`` tensor,
    placed at ``offset`` in a zero ``size = (P, Q)`` frame (flipped in both
    axes first if ``flip``), as complex64 ``(P * (Q // 2 + 1), a, b)``:
    frequency-major, for :class:`SpectralProduct`.
    """
    __props__ = ('size', 'offset', 'flip')

    def __init__(self, size, offset=(0, 0), flip=False):
        self.size = tuple(int(s) for s in size)
        self.offset = tuple(int(o) for o in offset)
        self.flip = bool(flip)

    def make_node(self, x):
        x = tensor.as_tensor_variable(x)
        if x.ndim != 4 or x.dtype != 'float32':
            raise TypeError('Spectrum needs a 4D float32 tensor')
        return gof.Apply(self, [x], [_complex3()])

    def perform(self, node, inputs, outputs):
        x, = inputs
        a, b, h, w = x.shape
        (P, Q), (oh, ow) = self.size, self.offset
        if oh + h > P or ow + w > Q:
            raise ValueError('Spectrum: planes of %dx%d at %s do not fit in %s'
                             % (h, w, self.offset, self.size))
        F = P * (Q // 2 + 1)
        out = _output(outputs[0], (F, a, b), np.complex64)

        def work(s):
            xs = x[s]
            if self.flip:
                xs = xs[:, :, ::-1, ::-1]
            frame = np.zeros((xs.shape[0], b, P, Q), np.float32)
            frame[:, :, oh:oh + h, ow:ow + w] = xs
            spec = scipy.fft.rfft2(frame, workers=1)
            out[:, s, :] = spec.reshape(xs.shape[0], b, F).transpose(2, 0, 1)
        _map(work, a, _planes_chunk(b, F))
        outputs[0][0] = out


class SpectralProduct(gof.Op):
    """SpectralProduct(trans_a=False, conj_b=False, trans_b=False)

    ``out[f] = op_a(A[f]) @ op_b(B[f])`` for every frequency ``f`` of two
    complex64 stacks, ``op_a`` transposing if ``trans_a``, ``op_b``
    conjugating if ``conj_b`` and transposing if ``trans_b``: the channel
    sums of a convolution, one BLAS ``cgemm`` per frequency.
    """
    __props__ = ('trans_a', 'conj_b', 'trans_b')

    def __init__(self, trans_a=False, conj_b=False, trans_b=False):
        self.trans_a = bool(trans_a)
        self.conj_b = bool(conj_b)
        self.trans_b = bool(trans_b)

    def make_node(self, a, b):
        a, b = tensor.as_tensor_variable(a), tensor.as_tensor_variable(b)
        if a.ndim != 3 or b.ndim != 3 or a.dtype != 'complex64' or b.dtype != 'complex64':
            raise TypeError('SpectralProduct needs two 3D complex64 tensors')
        return gof.Apply(self, [a, b], [_complex3()])

    def perform(self, node, inputs, outputs):
        a, b = inputs
        if self.trans_a:
            a = a.transpose(0, 2, 1)
        if self.trans_b:
            b = b.transpose(0, 2, 1)
        F, n, k = a.shape
        if b.shape[0] != F or b.shape[1] != k:
            raise ValueError('SpectralProduct: shapes %s and %s do not multiply'
                             % (a.shape, b.shape))
        out = _output(outputs[0], (F, n, b.shape[2]), np.complex64)

        def work(s):
            bs = np.conj(b[s]) if self.conj_b else b[s]
            np.matmul(a[s], bs, out=out[s])
        # Each product is small (e.g. 128x12 by 12x36): BLAS's own threads
        # only fight over it (measured 3-9x slower); one BLAS thread per
        # chunk of frequencies instead.
        with _single_threaded_blas():
            _map(work, F, max(16, F // (4 * workers())))
        outputs[0][0] = out


class SpectrumToImage(gof.Op):
    """SpectrumToImage(size, crop, flip=False)

    The inverse of :class:`Spectrum`: complex64 ``(P * (Q // 2 + 1), a, b)``
    back to planes of ``size = (P, Q)``, cut to ``crop = (top, left, h, w)``
    (flipped in both axes after if ``flip``): float32 ``(a, b, h, w)``.
    """
    __props__ = ('size', 'crop', 'flip')

    def __init__(self, size, crop, flip=False):
        self.size = tuple(int(s) for s in size)
        self.crop = tuple(int(c) for c in crop)
        self.flip = bool(flip)

    def make_node(self, spec):
        spec = tensor.as_tensor_variable(spec)
        if spec.ndim != 3 or spec.dtype != 'complex64':
            raise TypeError('SpectrumToImage needs a 3D complex64 tensor')
        return gof.Apply(self, [spec], [tensor.ftensor4()])

    def perform(self, node, inputs, outputs):
        spec, = inputs
        (P, Q), (top, left, h, w) = self.size, self.crop
        Qr = Q // 2 + 1
        F, a, b = spec.shape
        if F != P * Qr:
            raise ValueError('SpectrumToImage: %d frequencies, not %dx%d'
                             % (F, P, Qr))
        out = _output(outputs[0], (a, b, h, w), np.float32)

        def work(s):
            n = s.stop - s.start
            planes = np.ascontiguousarray(spec[:, s, :].transpose(1, 2, 0))
            img = scipy.fft.irfft2(planes.reshape(n, b, P, Qr), s=(P, Q), workers=1)
            img = img[:, :, top:top + h, left:left + w]
            out[s] = img[:, :, ::-1, ::-1] if self.flip else img
        _map(work, a, _planes_chunk(b, F))
        outputs[0][0] = out


def fft_conv2d(x, w, image_hw, filter_hw, filter_flip=True):
    """fft_conv2d(x, w, image_hw, filter_hw, filter_flip=True)

    Theano's ``conv2d(x, w, border_mode='valid', filter_flip=filter_flip)``
    (stride 1) by FFT, for inputs of ``image_hw`` and filters of
    ``filter_hw``.

    Examples
    --------
    >>> import theano
    >>> x, w = tensor.ftensor4('x'), tensor.ftensor4('w')
    >>> f = theano.function([x, w], fft_conv2d(x, w, (5, 5), (2, 3)))
    >>> xv = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)
    >>> wv = np.array([[[[0, 0, 0], [0, 0, 1]]]], np.float32)  # flipped: top-left
    >>> np.round(f(xv, wv)[0, 0], 3) + 0  # (+ 0: no -0. from rounding)
    array([[ 0.,  1.,  2.],
           [ 5.,  6.,  7.],
           [10., 11., 12.],
           [15., 16., 17.]], dtype=float32)
    """
    (h, w_), (kh, kw) = image_hw, filter_hw
    size = fft_shape(h, w_)
    spec = SpectralProduct(trans_b=True)(Spectrum(size)(x),
                                         Spectrum(size, flip=not filter_flip)(w))
    return SpectrumToImage(size, (kh - 1, kw - 1, h - kh + 1, w_ - kw + 1))(spec)


def fft_conv2d_grad_inputs(w, gy, image_hw, filter_hw, filter_flip=True):
    """fft_conv2d_grad_inputs(w, gy, image_hw, filter_hw, filter_flip=True)

    The gradient of :func:`fft_conv2d` with respect to its input, given the
    output's gradient ``gy``: a "full" correlation of ``gy`` with the filters.
    """
    (h, w_), (kh, kw) = image_hw, filter_hw
    size = fft_shape(h, w_)
    spec = SpectralProduct(conj_b=True)(Spectrum(size, (kh - 1, kw - 1))(gy),
                                        Spectrum(size, flip=not filter_flip)(w))
    return SpectrumToImage(size, (0, 0, h, w_))(spec)


def fft_conv2d_grad_weights(x, gy, image_hw, filter_hw, filter_flip=True):
    """fft_conv2d_grad_weights(x, gy, image_hw, filter_hw, filter_flip=True)

    The gradient of :func:`fft_conv2d` with respect to its filters, given
    the output's gradient ``gy``: a "valid" correlation of ``x`` with ``gy``,
    summed over the batch.
    """
    (h, w_), (kh, kw) = image_hw, filter_hw
    size = fft_shape(h, w_)
    spec = SpectralProduct(trans_a=True, conj_b=True)(Spectrum(size, (kh - 1, kw - 1))(gy),
                                                      Spectrum(size)(x))
    return SpectrumToImage(size, (0, 0, kh, kw), flip=not filter_flip)(spec)


#: The FFT's costs in direct-convolution flops (CorrMM's speed): per point
#: of a plane transform (``P*Q*log2(P*Q)``, its layout copies included) and
#: per complex multiply-add of the channel sums. Fitted (least squares on
#: the FFT/CorrMM time ratio, then rounded up) to forward + both gradients
#: of 7 layers of net6, net6rhl, net6nplf and cnet_nplfxl at batch 128 on
#: this project's 2-core machine (``bench/conv_choice.py``); the choice
#: depends only on the ratios, not on the machine's load.
FFT_POINT_COST = 8.0
PRODUCT_COST = 40.0
#: The FFT is chosen only where the model says it is this many times
#: cheaper: the fit's error was up to 1.7x on 5x5 layers (net6nplf's conv3,
#: predicted 1.27x faster, measured 0.76x).
MARGIN = 1.3


def direct_cost(batch, channels, filters, image_hw, filter_hw):
    """direct_cost(batch, channels, filters, image_hw, filter_hw)

    Flops of one direct ("valid", stride 1) convolution pass: ``2 * B * C *
    O * Ho * Wo * kh * kw`` (the same for each gradient).

    Examples
    --------
    >>> direct_cost(128, 12, 36, (86, 86), (9, 9)) / 1e9  # conv3 of cnet_nplfxl
    54.500179968
    """
    (h, w), (kh, kw) = image_hw, filter_hw
    return 2.0 * batch * channels * filters * (h - kh + 1) * (w - kw + 1) * kh * kw


def fft_cost(batch, channels, filters, image_hw, filter_hw):
    """fft_cost(batch, channels, filters, image_hw, filter_hw)

    The FFT's cost of one pass in direct-convolution flops (the same model
    as :func:`direct_cost`'s unit): the forward pass's transforms (input,
    filters, inverse of the output) and its per-frequency products, with
    :data:`FFT_POINT_COST` and :data:`PRODUCT_COST`. Each gradient costs
    about the same (one transform shared, one new).
    """
    P, Q = fft_shape(*image_hw)
    planes = batch * channels + channels * filters + batch * filters
    transform = FFT_POINT_COST * planes * P * Q * math.log2(P * Q)
    product = PRODUCT_COST * P * (Q // 2 + 1) * batch * channels * filters
    return transform + product


def prefer_fft(batch, channels, filters, image_hw, filter_hw):
    """prefer_fft(batch, channels, filters, image_hw, filter_hw)

    Whether the FFT is cheaper than CorrMM for these shapes
    (:func:`fft_cost` times :data:`MARGIN` below :func:`direct_cost`);
    ``batch`` None counts 128.

    Examples
    --------
    >>> prefer_fft(128, 12, 36, (86, 86), (9, 9))  # cnet_nplfxl's conv3
    True
    >>> prefer_fft(128, 1, 32, (96, 96), (3, 3))  # net6's conv1
    False
    >>> prefer_fft(128, 12, 24, (88, 88), (5, 5))  # net6nplf's conv3: measured slower
    False
    """
    batch = 128 if batch is None else batch
    shapes = (batch, channels, filters, image_hw, filter_hw)
    return MARGIN * fft_cost(*shapes) < direct_cost(*shapes)


_CHOICES = {}

#: ``'auto'``: :func:`prefer_fft` chooses per layer; ``'always'`` (tests,
#: benchmarks): every eligible convolution; ``'never'``: none.
POLICY = 'auto'


def choices():
    """choices()

    The convolution chosen for each shape this process compiled, as
    ``{'CxHxW*OxCxkhxkw': 'fft' or 'corrmm'}`` (a copy).
    """
    return dict(_CHOICES)


def _known_shapes(op):
    """``(batch, C, (h, w), O, (kh, kw))`` from an abstract conv op, or None."""
    imshp, kshp = op.imshp, op.kshp
    if imshp is None or kshp is None or len(imshp) != 4 or len(kshp) != 4:
        return None
    if any(not isinstance(s, (int, np.integer)) for s in tuple(imshp[1:]) + tuple(kshp)):
        return None
    batch = imshp[0] if isinstance(imshp[0], (int, np.integer)) else None
    return batch, int(imshp[1]), (int(imshp[2]), int(imshp[3])), int(kshp[0]), \
        (int(kshp[2]), int(kshp[3]))


@gof.local_optimizer([AbstractConv2d, AbstractConv2d_gradInputs, AbstractConv2d_gradWeights])
def local_fft_conv(node):
    """local_fft_conv(node)

    Replace a CPU float32 ``AbstractConv2d`` (or one of its gradients) that
    is "valid", stride 1, undilated, ungrouped and shared, with known image
    and filter shapes, by the FFT graph where :func:`prefer_fft`; record the
    choice either way.
    """
    op = node.op
    if not isinstance(op, (AbstractConv2d, AbstractConv2d_gradInputs,
                           AbstractConv2d_gradWeights)):
        return None
    data = node.inputs[:2]
    if not all(isinstance(v.type, tensor.TensorType) and v.dtype == 'float32' for v in data):
        return None
    border = op.border_mode
    if not (border == 'valid' or tuple(border) == (0, 0)) \
            or tuple(op.subsample) != (1, 1) or tuple(op.filter_dilation) != (1, 1) \
            or getattr(op, 'num_groups', 1) != 1 or getattr(op, 'unshared', False):
        return None
    shapes = _known_shapes(op)
    if shapes is None:
        return None
    batch, channels, image_hw, filters, filter_hw = shapes
    key = '%dx%dx%d*%dx%dx%dx%d' % ((channels,) + image_hw + (filters, channels) + filter_hw)
    use = POLICY == 'always' or (
        POLICY == 'auto' and prefer_fft(batch, channels, filters, image_hw, filter_hw))
    _CHOICES[key] = 'fft' if use else 'corrmm'
    if not use:
        return None
    args = (image_hw, filter_hw, op.filter_flip)
    if isinstance(op, AbstractConv2d):
        out = fft_conv2d(node.inputs[0], node.inputs[1], *args)
    elif isinstance(op, AbstractConv2d_gradInputs):
        out = fft_conv2d_grad_inputs(node.inputs[0], node.inputs[1], *args)
    else:
        out = fft_conv2d_grad_weights(node.inputs[0], node.inputs[1], *args)
    out = tensor.patternbroadcast(out, node.outputs[0].broadcastable)
    return [out]


def register():
    """register()

    Make every compiled ``fast_run`` function use the FFT convolution where
    :func:`local_fft_conv` chooses it: before Theano's GPU and CPU
    convolution optimizations (``specialize_device``), so it sees the
    abstract ops; the merge after it shares the transforms.
    """
    if _NAME not in optdb.__db__:
        optdb.register(_NAME, gof.opt.in2out(local_fft_conv, ignore_newtrees=True),
                       48.4, 'fast_run')


def registered():
    """registered()

    Whether compiled functions use the FFT convolution: :func:`register`
    was called and the optimization is still in ``fast_run``.
    """
    if _NAME not in optdb.__db__:
        return False
    fast_run = optdb.__db__['fast_run']
    return any(opt in fast_run for opt in optdb.__db__[_NAME])
