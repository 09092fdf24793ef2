"""Make the 2016 stack (Theano 1.0.5, Lasagne 0.1, nolearn 0.6.1) run on today's Python.

``import compat`` once, before ``theano``, ``lasagne`` or ``nolearn`` are
imported anywhere; importing it again does nothing. It calls :func:`apply`,
which, in order:

1. sets Theano's flags under the user's own (:mod:`compat.flags`):
   ``floatX=float32``, a persistent compile cache in ``<repo>/.theano``,
   OpenBLAS with OpenMP where it can be linked; on a GPU device
   ``dnn.enabled=False`` (the study's convolutions) unless ``KFKD_CUDNN=1``;
2. lets Theano's ``scan`` compile its C code on Python 3.11 (:mod:`compat.scan`);
3. imports Theano, keeping why a requested GPU did not initialise
   (:mod:`compat.device`);
4. puts back the names the 2016 libraries import (:mod:`compat.shims`):
   ``collections.Iterable``, ``downsample.max_pool_2d``,
   ``sklearn.cross_validation`` with scikit-learn 0.17's folds
   (:mod:`compat.folds`), nolearn's ``NeuralNet`` parameters for scikit-learn
   >= 1.0; and, where Theano computes on the CPU, :mod:`fastops`' pooling
   and dropout generator (same values and gradients) and its FFT
   convolution for the layers where it is faster (equal within float32
   rounding); ``KFKD_FASTOPS=0`` turns them off.

What is guaranteed: the 2016 code runs unchanged, with the same numbers;
Lasagne 0.1's own test suite passes (``tests/peer``). Every shim checks first
whether the real thing exists and then does nothing.

Before training, :func:`check_requested_device` stops a run that asked for a
GPU Theano cannot use; :func:`runtime_info` says what a run computes with.
"""
from compat import device, flags, scan, shims
from compat.device import DeviceUnavailableError, check_requested_device, runtime_info
from paths import REPO  # noqa: F401  (compat.REPO for old callers; paths.REPO is the one)

__all__ = ['apply', 'runtime_info', 'check_requested_device', 'DeviceUnavailableError']


def apply():
    """apply()

    Apply every shim, in the order the imports need them. Idempotent: once
    Theano is imported, the flags are left alone, and each shim does nothing
    where its name already exists.
    """
    flags.configure_theano_flags()
    scan.install()
    shims.patch_pkg_resources_check()
    shims.patch_collections_abc()
    device.import_theano()
    shims.patch_downsample()
    shims.patch_dropout_rng()
    shims.patch_fft_conv()
    shims.patch_cross_validation()
    shims.patch_neuralnet_params()


apply()
