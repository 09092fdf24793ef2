"""The names the 2016 libraries import, put back where they look for them.

Each ``patch_*`` function checks first whether the real thing exists and then
does nothing; :func:`compat.apply` calls them in the order the imports need.

- :func:`patch_pkg_resources_check`: Lasagne 0.1 needs ``pkg_resources``.
- :func:`patch_collections_abc`: ``collections.Iterable`` and friends, for nolearn.
- :func:`patch_downsample`: Theano 0.8's ``downsample.max_pool_2d``, for Lasagne.
- :func:`patch_dropout_rng`: the dropout masks' generator, on all cores.
- :func:`patch_fft_conv`: large-filter convolutions by FFT, where faster.
- :func:`patch_cross_validation`: ``sklearn.cross_validation``'s old folds, for nolearn.
- :func:`patch_neuralnet_params`: nolearn's ``NeuralNet`` for scikit-learn >= 1.0.

Only :mod:`fastops` changes which code runs, and only where Theano
computes on the CPU (:func:`fast_ops_enabled`); it computes the same values
and gradients (``tests/fastops``): pooling and dropout bit for bit, the
FFT convolution within float32 rounding. Theano, nolearn and scikit-learn are
imported inside the functions: :mod:`compat.flags` must set Theano's flags
before anything imports Theano.
"""
import collections
import collections.abc
import importlib.util
import os
import sys
import types

from compat.device import requested_device
from compat.flags import is_gpu_device
from compat.folds import KFold, StratifiedKFold

__all__ = ['patch_pkg_resources_check', 'patch_collections_abc', 'fast_ops_enabled',
           'patch_downsample', 'patch_dropout_rng', 'patch_fft_conv', 'patch_cross_validation',
           'patch_neuralnet_params']


def patch_pkg_resources_check():
    """patch_pkg_resources_check()

    Fail with a clear message when ``pkg_resources`` is missing: Lasagne 0.1
    imports it for its version, and setuptools 82 removed it.
    """
    if importlib.util.find_spec('pkg_resources') is None:
        raise ImportError(
            "Lasagne 0.1 needs pkg_resources, which setuptools >= 82 no longer "
            "has: pip install 'setuptools==75.3.0' (see requirements.txt)")


def patch_collections_abc():
    """patch_collections_abc()

    Give ``collections`` back the ABCs that Python 3.10 moved to
    ``collections.abc`` (nolearn 0.6.1 imports ``collections.Iterable``).
    """
    for name in collections.abc.__all__:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


def fast_ops_enabled(environ=None, device=None):
    """fast_ops_enabled(environ=None, device=None)

    Whether :mod:`fastops` replaces Theano's CPU pooling and dropout-RNG ops
    (same values, same gradients; see ``tests/fastops``): where Theano
    computes on the CPU, unless ``KFKD_FASTOPS=0``. On a GPU device Theano's
    own ops stay, so that its GPU optimizer moves them to the GPU.

    Parameters
    ----------
    environ : dict-like or None
        ``os.environ`` by default.
    device : str or None
        The requested device; None reads Theano's flags
        (:func:`compat.device.requested_device`).

    Examples
    --------
    >>> fast_ops_enabled({}, 'cpu'), fast_ops_enabled({'KFKD_FASTOPS': '0'}, 'cpu')
    (True, False)
    >>> fast_ops_enabled({}, 'cuda')
    False
    """
    environ = os.environ if environ is None else environ
    device = requested_device() if device is None else device
    return environ.get('KFKD_FASTOPS', '1') != '0' and not is_gpu_device(device)


def patch_downsample():
    """patch_downsample()

    Provide ``theano.tensor.signal.downsample.max_pool_2d`` as Lasagne 0.1
    calls it, on top of Theano 1.0's ``pool.pool_2d``; where
    :func:`fast_ops_enabled`, through :func:`fastops.pool.max_pool_2d`
    (measured: it takes net6 from 21 to 6-12 s per epoch here).
    """
    import theano.tensor.signal
    try:
        from theano.tensor.signal import downsample  # noqa: F401
        return
    except ImportError:
        pass
    from theano.tensor.signal import pool

    def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0),
                    mode='max'):
        """max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode='max')

        Theano 0.8's pooling call, forwarded to ``pool.pool_2d``.
        """
        return pool.pool_2d(input, ws=ds, ignore_border=ignore_border,
                            stride=st, pad=padding, mode=mode)

    module = types.ModuleType('theano.tensor.signal.downsample',
                              'Theano 0.8 pooling names (compat shim).')
    module.max_pool_2d = max_pool_2d
    if fast_ops_enabled():
        from fastops.pool import max_pool_2d as fast_max_pool_2d
        module.max_pool_2d = fast_max_pool_2d
    module.max_pool_2d_same_size = pool.max_pool_2d_same_size
    module.DownsampleFactorMax = pool.Pool
    sys.modules[module.__name__] = module
    theano.tensor.signal.downsample = module


def patch_dropout_rng():
    """patch_dropout_rng()

    Where :func:`fast_ops_enabled`, compile Theano's CPU ``mrg_uniform``
    (the dropout masks' random numbers) as :class:`fastops.rng.ParallelMRGUniform`:
    the same numbers and final state, drawn by every OpenMP thread.
    """
    if fast_ops_enabled():
        import fastops.rng
        fastops.rng.register()


def patch_fft_conv():
    """patch_fft_conv()

    Where :func:`fast_ops_enabled`, let Theano's CPU graphs compute stride-1
    "valid" convolutions by FFT (:mod:`fastops.conv`) for the layers whose
    shapes make it faster (:func:`fastops.conv.prefer_fft`; the choice per
    shape is in :func:`compat.runtime_info`); the others keep ``CorrMM``.
    """
    if fast_ops_enabled():
        import fastops.conv
        fastops.conv.register()


def patch_cross_validation():
    """patch_cross_validation()

    Provide ``sklearn.cross_validation`` with the old
    :class:`compat.folds.KFold` and :class:`compat.folds.StratifiedKFold`, so
    that nolearn's ``TrainSplit(eval_size=0.2)`` validates on exactly the
    first 20% of rows, as in 2016.
    """
    try:
        import sklearn.cross_validation  # noqa: F401
        return
    except ImportError:
        pass
    import sklearn
    module = types.ModuleType('sklearn.cross_validation',
                              'scikit-learn 0.17 fold iterators (compat shim).')
    module.KFold = KFold
    module.StratifiedKFold = StratifiedKFold
    sys.modules[module.__name__] = module
    sklearn.cross_validation = module


def _clone_neuralnet(self):
    """A fresh, unfitted NeuralNet with the same parameters (sklearn's clone)."""
    from sklearn.base import clone
    from nolearn.lasagne import PrintLayerInfo, PrintLog
    params = {name: clone(value, safe=False)
              for name, value in self.get_params(deep=False).items()}
    if params.get('verbose'):
        # __init__ adds these two again when verbose; keep one of each.
        for key, handler_type in (('on_epoch_finished', PrintLog),
                                  ('on_training_started', PrintLayerInfo)):
            params[key] = [h for h in params[key]
                           if not isinstance(h, handler_type)]
    return type(self)(**params)


def patch_neuralnet_params():
    """patch_neuralnet_params()

    Let scikit-learn >= 1.0 read nolearn's ``NeuralNet`` parameters:
    ``loss`` and ``X_tensor_type`` are in ``__init__``'s signature but never
    stored (both must be None), and ``clone`` needs ``__sklearn_clone__``
    because ``__init__`` rebuilds ``layers`` and the handler lists.
    """
    from nolearn.lasagne import NeuralNet
    for name in ('loss', 'X_tensor_type'):
        if not hasattr(NeuralNet, name):
            setattr(NeuralNet, name, None)
    if '__sklearn_clone__' not in vars(NeuralNet):
        NeuralNet.__sklearn_clone__ = _clone_neuralnet
