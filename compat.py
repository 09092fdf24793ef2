"""Make the 2016 stack (Theano 1.0.5, Lasagne 0.1, nolearn 0.6.1) run on today's Python.

``import compat`` once, before ``theano``, ``lasagne`` or ``nolearn`` are
imported anywhere; importing it twice is harmless. It applies, in order:

1. :func:`configure_theano_flags`: ``floatX=float32``, a persistent compile
   cache in ``<repo>/.theano``, ``blas.ldflags=-lopenblas`` with OpenMP where
   OpenBLAS can be linked, otherwise the NumPy BLAS fallback (one warning).
   Whatever the user set in ``THEANO_FLAGS`` or ``.theanorc`` wins.
2. :func:`patch_pkg_resources_check`: Lasagne 0.1 needs ``pkg_resources``
   (setuptools < 82); a clear error instead of a bare ImportError.
3. :func:`patch_collections_abc`: ``collections.Iterable`` and friends
   (moved to ``collections.abc``, removed in Python 3.10), used by nolearn.
4. :func:`patch_downsample`: ``theano.tensor.signal.downsample.max_pool_2d``
   (renamed ``pool.pool_2d`` in Theano 0.9), used by Lasagne 0.1; and
   :func:`patch_dropout_rng`. Both use :mod:`fastops` (the same math,
   faster on the CPU) unless ``KFKD_FASTOPS=0``.
5. :func:`patch_cross_validation`: ``sklearn.cross_validation.KFold`` and
   ``StratifiedKFold`` with the old API and fold layout (removed in
   scikit-learn 0.20), used by nolearn's ``TrainSplit``.
6. :func:`patch_neuralnet_params`: nolearn's ``NeuralNet`` with scikit-learn
   >= 1.0: ``get_params``/``repr`` (it never stores ``loss`` and
   ``X_tensor_type``) and ``sklearn.base.clone``.

Every patch checks first whether the real thing exists and then does nothing.
Only :mod:`fastops` changes which C code runs; it computes the same values
and gradients (``tests/fastops``) and ``KFKD_FASTOPS=0`` turns it off.
"""
import collections
import collections.abc
import configparser
import importlib.util
import os
import subprocess
import sys
import types
import warnings

import numpy as np

REPO = os.path.dirname(os.path.abspath(__file__))
THEANO_CACHE = os.path.join(REPO, '.theano')

_FALLBACK_WARNING = (
    "OpenBLAS cannot be linked (install libopenblas-dev, or run ./setup.sh): "
    "Theano falls back to NumPy's BLAS, which is slower and runs without OpenMP.")


def openblas_linkable():
    """openblas_linkable()

    Whether the C++ compiler can link ``-lopenblas``.

    Returns
    -------
    bool
        True when ``g++ -print-file-name=libopenblas.so`` names an existing
        file (Debian's ``libopenblas-dev`` provides it).
    """
    for compiler in ('g++', 'c++', 'gcc'):
        try:
            out = subprocess.run([compiler, '-print-file-name=libopenblas.so'],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        path = out.stdout.strip()
        return os.path.isabs(path) and os.path.exists(path)
    return False


def _flag_names(flags):
    """Names set in a THEANO_FLAGS string, lower case (``a=1,B.c=2`` -> {'a', 'b.c'})."""
    return {item.split('=', 1)[0].strip().lower()
            for item in flags.split(',') if '=' in item}


def _theanorc_flag_names(environ):
    """Names set in the user's ``.theanorc`` files, lower case (Theano ignores case)."""
    paths = [os.path.expanduser(p) for p in
             environ.get('THEANORC', '~/.theanorc').split(os.pathsep)]
    parser = configparser.ConfigParser()
    try:
        parser.read(paths)
    except configparser.Error:
        return set()  # Theano itself will report a broken .theanorc
    names = set()
    for section in parser.sections():
        for key in parser.options(section):
            names.add(key if section == 'global' else '%s.%s' % (section, key))
    return names


def theano_flag_defaults(openblas=None):
    """theano_flag_defaults(openblas=None)

    The project's default Theano flags, as ``(name, value)`` pairs.

    Parameters
    ----------
    openblas : bool or None
        Whether OpenBLAS can be linked; None asks the compiler.

    Examples
    --------
    >>> dict(theano_flag_defaults(openblas=True))['blas.ldflags']
    '-lopenblas'
    >>> dict(theano_flag_defaults(openblas=False))['blas.ldflags']
    ''
    """
    if openblas is None:
        openblas = openblas_linkable()
    defaults = [('floatX', 'float32'), ('base_compiledir', THEANO_CACHE)]
    if openblas:
        # Measured fastest on 2 cores: OpenBLAS plus Theano's OpenMP ops.
        defaults += [('blas.ldflags', '-lopenblas'), ('openmp', 'True')]
    else:
        # An explicit empty value: NumPy >= 1.22 has no blas_opt_info to ask,
        # and openmp=True with the NumPy fallback aborted the process.
        defaults += [('blas.ldflags', ''), ('openmp', 'False')]
    # Keep intermediate buffers between calls: on this VM a fresh 144 MB
    # array costs ~90 ms of page faults per batch; net6 24.6 s/epoch instead
    # of 35 s at the same load (bench/README.md). Same math; peak memory
    # of cnet_nplfxl 2.9 GB instead of 1.9 GB.
    defaults += [('allow_gc', 'False')]
    return defaults


def configure_theano_flags(environ=None, openblas=None):
    """configure_theano_flags(environ=None, openblas=None)

    Put the project's defaults in ``THEANO_FLAGS``, under the user's own.

    A flag the user set in ``THEANO_FLAGS`` or in a ``.theanorc`` file is left
    as the user set it. Does nothing once Theano is imported (its flags are
    read then). Also sets ``OMP_NUM_THREADS`` to the number of cores when
    OpenMP is on and the user did not choose.

    Parameters
    ----------
    environ : dict-like or None
        The environment to change; ``os.environ`` by default.
    openblas : bool or None
        Whether OpenBLAS can be linked; None asks the compiler.

    Returns
    -------
    str or None
        The new ``THEANO_FLAGS``, or None when Theano was already imported.

    Examples
    --------
    >>> env = {'THEANO_FLAGS': 'floatX=float64', 'THEANORC': '/nonexistent'}
    >>> flags = configure_theano_flags(env, openblas=True)
    >>> 'floatX=float32' in flags, flags.endswith('floatX=float64')
    (False, True)
    """
    if environ is None:
        if 'theano' in sys.modules:
            return None
        environ = os.environ
    user_flags = environ.get('THEANO_FLAGS', '')
    taken = _flag_names(user_flags) | _theanorc_flag_names(environ)
    defaults = theano_flag_defaults(openblas)
    chosen = [(name, value) for name, value in defaults
              if name.lower() not in taken]
    if dict(chosen).get('blas.ldflags') == '':
        warnings.warn(_FALLBACK_WARNING, RuntimeWarning, stacklevel=2)
    if (dict(chosen).get('openmp') == 'True'
            and 'OMP_NUM_THREADS' not in environ):
        environ['OMP_NUM_THREADS'] = str(os.cpu_count() or 1)
    # Theano reads THEANO_FLAGS left to right; the user's come last and win.
    parts = ['%s=%s' % pair for pair in chosen] + ([user_flags] if user_flags else [])
    environ['THEANO_FLAGS'] = ','.join(parts)
    return environ['THEANO_FLAGS']


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


def fast_ops_enabled(environ=None):
    """fast_ops_enabled(environ=None)

    Whether :mod:`fastops` replaces Theano's CPU pooling and dropout-RNG
    ops (same values, same gradients; see ``tests/fastops``). On unless
    ``KFKD_FASTOPS=0``.

    >>> fast_ops_enabled({}), fast_ops_enabled({'KFKD_FASTOPS': '0'})
    (True, False)
    """
    environ = os.environ if environ is None else environ
    return environ.get('KFKD_FASTOPS', '1') != '0'


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


class KFold(object):
    """KFold(n, n_folds=3, shuffle=False, random_state=None)

    scikit-learn 0.17's ``cross_validation.KFold``: iterating yields
    ``(train_index, test_index)``; unshuffled, fold ``i`` is a contiguous
    block and the first ``n % n_folds`` folds hold one more row.

    Examples
    --------
    >>> train, test = next(iter(KFold(2140, 5)))
    >>> test[0], test[-1], len(test), len(train)
    (0, 427, 428, 1712)
    """

    def __init__(self, n, n_folds=3, shuffle=False, random_state=None):
        if n_folds < 2 or n_folds > n:
            raise ValueError('n_folds=%r must be between 2 and n=%r'
                             % (n_folds, n))
        self.n = int(n)
        self.n_folds = int(n_folds)
        self.shuffle = shuffle
        self.random_state = random_state
        self.idxs = np.arange(self.n)
        if shuffle:
            rng = (random_state if isinstance(random_state, np.random.RandomState)
                   else np.random.RandomState(random_state))
            rng.shuffle(self.idxs)

    def _test_indices(self):
        fold_sizes = np.full(self.n_folds, self.n // self.n_folds, dtype=int)
        fold_sizes[:self.n % self.n_folds] += 1
        current = 0
        for size in fold_sizes:
            yield self.idxs[current:current + size]
            current += size

    def __iter__(self):
        for test_index in self._test_indices():
            test_mask = np.zeros(self.n, dtype=bool)
            test_mask[test_index] = True
            yield np.arange(self.n)[~test_mask], np.arange(self.n)[test_mask]

    def __len__(self):
        return self.n_folds


class StratifiedKFold(object):
    """StratifiedKFold(y, n_folds=3, shuffle=False, random_state=None)

    scikit-learn 0.17's ``cross_validation.StratifiedKFold``: each class is
    split by an old-style :class:`KFold` and fold ``i`` takes each class's
    ``i``-th block.

    Examples
    --------
    >>> train, test = next(iter(StratifiedKFold([0, 0, 0, 0, 1, 1, 1, 1], 2)))
    >>> list(test)
    [0, 1, 4, 5]
    """

    def __init__(self, y, n_folds=3, shuffle=False, random_state=None):
        y = np.asarray(y)
        self.n = y.shape[0]
        self.n_folds = int(n_folds)
        self.y = y
        labels, y_inversed = np.unique(y, return_inverse=True)
        counts = np.bincount(y_inversed)
        if n_folds > counts.min():
            warnings.warn('The least populated class in y has only %d members,'
                          ' which is too few. The minimum number of labels for'
                          ' any class cannot be less than n_folds=%d.'
                          % (counts.min(), n_folds), UserWarning)
        rng = random_state
        if shuffle and not isinstance(rng, np.random.RandomState):
            rng = np.random.RandomState(random_state)
        per_label = [KFold(max(count, self.n_folds), self.n_folds,
                           shuffle=shuffle, random_state=rng)
                     for count in counts]
        test_folds = np.zeros(self.n, dtype=int)
        for fold, splits in enumerate(zip(*per_label)):
            for label, (_, test_split) in zip(labels, splits):
                label_folds = test_folds[y == label]
                test_split = test_split[test_split < len(label_folds)]
                label_folds[test_split] = fold
                test_folds[y == label] = label_folds
        self.test_folds = test_folds

    def __iter__(self):
        for fold in range(self.n_folds):
            test_mask = self.test_folds == fold
            yield np.flatnonzero(~test_mask), np.flatnonzero(test_mask)

    def __len__(self):
        return self.n_folds


def patch_cross_validation():
    """patch_cross_validation()

    Provide ``sklearn.cross_validation`` with the old :class:`KFold` and
    :class:`StratifiedKFold`, so that nolearn's ``TrainSplit(eval_size=0.2)``
    validates on exactly the first 20% of rows, as in 2016.
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


def apply():
    """apply()

    Apply every shim, in the order the imports need them. Idempotent.
    """
    configure_theano_flags()
    patch_pkg_resources_check()
    patch_collections_abc()
    patch_downsample()
    patch_dropout_rng()
    patch_cross_validation()
    patch_neuralnet_params()


apply()
