"""Non-overlapping max pooling on the CPU, as Theano computes it, faster.

Theano's ``pool.Pool``/``MaxPoolGrad`` C code is written for any window,
stride and padding: it walks index arrays per element and, in the gradient,
reads the output through ``PyArray_GETPTR4`` for every input position. On
this project's nets (2x2 windows, stride 2, ``ignore_border=True``, no
padding) that made ``MaxPoolGrad`` 30-38% of net6's training time.

:class:`NonOverlappingMaxPool` and :class:`NonOverlappingMaxPoolGrad` do the
same arithmetic on contiguous planes, one OpenMP thread per block of
``batch * channels`` planes:

- forward: for each window, ``m = x[first]``, then for every position in
  row-major order ``m = (a > m) ? a : m`` (Theano's loop: a NaN in the first
  position is kept, a later NaN is skipped);
- gradient: every position whose value equals the window's maximum gets
  ``0 + gz`` (Theano's ``gx += gz`` on a zeroed ``gx``: all tied positions get
  the full gradient, NaN positions get 0); the rows and columns cut off by
  ``ignore_border`` get 0.

:func:`max_pool_2d` is a drop-in for Theano 0.8's
``downsample.max_pool_2d`` that uses these ops exactly where they are
equivalent and ``pool.pool_2d`` everywhere else.
"""
import numpy as np
from theano import gof, tensor
from theano.gradient import grad_not_implemented
from theano.tensor.signal import pool

__all__ = ['is_nonoverlapping', 'NonOverlappingMaxPool', 'NonOverlappingMaxPoolGrad',
           'max_pool_2d']


def is_nonoverlapping(ds, ignore_border, st, padding, mode, ndim):
    """is_nonoverlapping(ds, ignore_border, st, padding, mode, ndim)

    Whether a ``max_pool_2d`` call is one the fast ops compute exactly.

    Examples
    --------
    >>> is_nonoverlapping((2, 2), True, None, (0, 0), 'max', 4)
    True
    >>> is_nonoverlapping((2, 2), True, (1, 1), (0, 0), 'max', 4)
    False
    """
    ds = tuple(int(d) for d in ds)
    stride = ds if st is None else tuple(int(s) for s in st)
    return (ignore_border is True and mode == 'max' and ndim == 4
            and len(ds) == 2 and stride == ds and min(ds) >= 1
            and tuple(int(p) for p in padding) == (0, 0))


class NonOverlappingMaxPool(gof.OpenMPOp):
    """NonOverlappingMaxPool(ws, openmp=None)

    Max over non-overlapping ``ws`` windows of a 4D tensor's last two axes,
    ``ignore_border=True``: Theano's ``Pool(ignore_border=True)`` with
    ``stride == ws`` and no padding.
    """
    __props__ = ('ws',)

    def __init__(self, ws, openmp=None):
        super(NonOverlappingMaxPool, self).__init__(openmp=openmp)
        self.ws = tuple(int(w) for w in ws)

    def make_node(self, x):
        x = tensor.as_tensor_variable(x)
        if x.ndim != 4:
            raise TypeError('NonOverlappingMaxPool needs a 4D tensor')
        return gof.Apply(self, [x], [x.type()])

    def infer_shape(self, node, shapes):
        b, c, h, w = shapes[0]
        return [(b, c, h // self.ws[0], w // self.ws[1])]

    def perform(self, node, inputs, outputs):
        x, = inputs
        ph, pw = self.ws
        oh, ow = x.shape[2] // ph, x.shape[3] // pw
        out = x[:, :, :oh * ph, :ow * pw].reshape(
            x.shape[0], x.shape[1], oh, ph, ow, pw)
        # Theano's order: first element, then row-major, keep on ties/NaN.
        m = out[:, :, :, 0, :, 0].copy()
        for i in range(ph):
            for j in range(pw):
                a = out[:, :, :, i, :, j]
                m = np.where(a > m, a, m)
        outputs[0][0] = m

    def grad(self, inputs, output_grads):
        x, = inputs
        gz, = output_grads
        maxout = self(x)
        return [NonOverlappingMaxPoolGrad(self.ws, openmp=self.openmp)(
            x, maxout, gz)]

    def c_code_cache_version(self):
        return (1,)

    def c_code(self, node, name, inp, out, sub):
        x, = inp
        z, = out
        ph, pw = self.ws
        fail = sub['fail']
        omp = '#pragma omp parallel for schedule(static)' if self.openmp else ''
        return """
        {
        PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
        if (!xc) %(fail)s;
        const npy_intp nb = PyArray_DIMS(xc)[0], nc = PyArray_DIMS(xc)[1];
        const npy_intp H = PyArray_DIMS(xc)[2], W = PyArray_DIMS(xc)[3];
        const npy_intp OH = H / %(ph)d, OW = W / %(pw)d;
        npy_intp zdims[4] = {nb, nc, OH, OW};
        if (!%(z)s || !PyArray_ISCONTIGUOUS(%(z)s)
            || PyArray_DIMS(%(z)s)[0] != nb || PyArray_DIMS(%(z)s)[1] != nc
            || PyArray_DIMS(%(z)s)[2] != OH || PyArray_DIMS(%(z)s)[3] != OW) {
            Py_XDECREF(%(z)s);
            %(z)s = (PyArrayObject*) PyArray_EMPTY(4, zdims,
                                                   PyArray_TYPE(xc), 0);
            if (!%(z)s) { Py_DECREF(xc); %(fail)s; }
        }
        const dtype_%(x)s* xd = (const dtype_%(x)s*) PyArray_DATA(xc);
        dtype_%(z)s* zd = (dtype_%(z)s*) PyArray_DATA(%(z)s);
        const npy_intp planes = nb * nc;
        %(omp)s
        for (npy_intp p = 0; p < planes; ++p) {
            const dtype_%(x)s* xp = xd + p * H * W;
            dtype_%(z)s* zp = zd + p * OH * OW;
            for (npy_intp oh = 0; oh < OH; ++oh) {
                const dtype_%(x)s* row = xp + oh * %(ph)d * W;
                for (npy_intp ow = 0; ow < OW; ++ow) {
                    const dtype_%(x)s* r = row + ow * %(pw)d;
                    dtype_%(x)s m = r[0];
                    for (int i = 0; i < %(ph)d; ++i)
                        for (int j = 0; j < %(pw)d; ++j) {
                            const dtype_%(x)s a = r[i * W + j];
                            m = (a > m) ? a : m;
                        }
                    zp[oh * OW + ow] = m;
                }
            }
        }
        Py_DECREF(xc);
        }
        """ % locals()


class NonOverlappingMaxPoolGrad(gof.OpenMPOp):
    """NonOverlappingMaxPoolGrad(ws, openmp=None)

    Gradient of :class:`NonOverlappingMaxPool`: Theano's ``MaxPoolGrad`` for
    non-overlapping windows (``gx = 0 + gz`` where ``x == maxout``, else 0).
    """
    __props__ = ('ws',)

    def __init__(self, ws, openmp=None):
        super(NonOverlappingMaxPoolGrad, self).__init__(openmp=openmp)
        self.ws = tuple(int(w) for w in ws)

    def make_node(self, x, maxout, gz):
        x, maxout, gz = [tensor.as_tensor_variable(v) for v in (x, maxout, gz)]
        if not x.ndim == maxout.ndim == gz.ndim == 4:
            raise TypeError('NonOverlappingMaxPoolGrad needs 4D tensors')
        return gof.Apply(self, [x, maxout, gz], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs, outputs):
        x, maxout, gz = inputs
        ph, pw = self.ws
        oh, ow = maxout.shape[2], maxout.shape[3]
        gx = np.zeros_like(x)

        def up(a):
            return np.repeat(np.repeat(a, ph, axis=2), pw, axis=3)

        xc = x[:, :, :oh * ph, :ow * pw]
        gx[:, :, :oh * ph, :ow * pw] = np.where(
            xc == up(maxout), x.dtype.type(0) + up(gz), x.dtype.type(0))
        outputs[0][0] = gx

    def grad(self, inputs, output_grads):
        return [grad_not_implemented(self, i, v) for i, v in enumerate(inputs)]

    def c_code_cache_version(self):
        return (1,)

    def c_code(self, node, name, inp, out, sub):
        x, maxout, gz = inp
        gx, = out
        ph, pw = self.ws
        fail = sub['fail']
        omp = '#pragma omp parallel for schedule(static)' if self.openmp else ''
        return """
        {
        PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
        PyArrayObject* zc = PyArray_GETCONTIGUOUS(%(maxout)s);
        PyArrayObject* gc = PyArray_GETCONTIGUOUS(%(gz)s);
        if (!xc || !zc || !gc) {
            Py_XDECREF(xc); Py_XDECREF(zc); Py_XDECREF(gc); %(fail)s;
        }
        const npy_intp nb = PyArray_DIMS(xc)[0], nc = PyArray_DIMS(xc)[1];
        const npy_intp H = PyArray_DIMS(xc)[2], W = PyArray_DIMS(xc)[3];
        const npy_intp OH = H / %(ph)d, OW = W / %(pw)d;
        int bad = 0;
        for (int d = 0; d < 4; ++d)
            bad |= PyArray_DIMS(zc)[d] != PyArray_DIMS(gc)[d];
        bad |= PyArray_DIMS(zc)[0] != nb || PyArray_DIMS(zc)[1] != nc
               || PyArray_DIMS(zc)[2] != OH || PyArray_DIMS(zc)[3] != OW;
        if (bad) {
            PyErr_SetString(PyExc_ValueError,
                "NonOverlappingMaxPoolGrad: maxout/gz shape does not match x");
            Py_DECREF(xc); Py_DECREF(zc); Py_DECREF(gc); %(fail)s;
        }
        if (!%(gx)s || !PyArray_ISCONTIGUOUS(%(gx)s)
            || !PyArray_CompareLists(PyArray_DIMS(%(gx)s), PyArray_DIMS(xc), 4)) {
            Py_XDECREF(%(gx)s);
            %(gx)s = (PyArrayObject*) PyArray_EMPTY(4, PyArray_DIMS(xc),
                                                    PyArray_TYPE(xc), 0);
            if (!%(gx)s) {
                Py_DECREF(xc); Py_DECREF(zc); Py_DECREF(gc); %(fail)s;
            }
        }
        const dtype_%(x)s* xd = (const dtype_%(x)s*) PyArray_DATA(xc);
        const dtype_%(maxout)s* zd = (const dtype_%(maxout)s*) PyArray_DATA(zc);
        const dtype_%(gz)s* gd = (const dtype_%(gz)s*) PyArray_DATA(gc);
        dtype_%(gx)s* od = (dtype_%(gx)s*) PyArray_DATA(%(gx)s);
        const npy_intp planes = nb * nc;
        const npy_intp CW = OW * %(pw)d;  // columns covered by windows
        %(omp)s
        for (npy_intp p = 0; p < planes; ++p) {
            const dtype_%(x)s* xp = xd + p * H * W;
            const dtype_%(maxout)s* zp = zd + p * OH * OW;
            const dtype_%(gz)s* gp = gd + p * OH * OW;
            dtype_%(gx)s* op = od + p * H * W;
            for (npy_intp oh = 0; oh < OH; ++oh) {
                for (int i = 0; i < %(ph)d; ++i) {
                    const npy_intp h = oh * %(ph)d + i;
                    const dtype_%(x)s* xr = xp + h * W;
                    dtype_%(gx)s* orow = op + h * W;
                    for (npy_intp ow = 0; ow < OW; ++ow) {
                        const dtype_%(maxout)s m = zp[oh * OW + ow];
                        const dtype_%(gx)s g = (dtype_%(gx)s) 0 + gp[oh * OW + ow];
                        for (int j = 0; j < %(pw)d; ++j) {
                            const npy_intp w = ow * %(pw)d + j;
                            orow[w] = (xr[w] == m) ? g : (dtype_%(gx)s) 0;
                        }
                    }
                    for (npy_intp w = CW; w < W; ++w) orow[w] = 0;
                }
            }
            for (npy_intp h = OH * %(ph)d; h < H; ++h)
                for (npy_intp w = 0; w < W; ++w) op[h * W + w] = 0;
        }
        Py_DECREF(xc); Py_DECREF(zc); Py_DECREF(gc);
        }
        """ % locals()


def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0),
                mode='max'):
    """max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode='max')

    Theano 0.8's ``downsample.max_pool_2d``: :class:`NonOverlappingMaxPool`
    where it is exactly equivalent (4D input, ``ignore_border=True``,
    stride None or equal to ``ds``, no padding, ``mode='max'``), otherwise
    ``pool.pool_2d``.
    """
    input = tensor.as_tensor_variable(input)
    if is_nonoverlapping(ds, ignore_border, st, padding, mode, input.ndim):
        return NonOverlappingMaxPool(ds)(input)
    return pool.pool_2d(input, ws=ds, ignore_border=ignore_border,
                        stride=st, pad=padding, mode=mode)
