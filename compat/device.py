"""The device Theano really computes on, and one clear error when it is not the one asked for.

Asked for a GPU (``device=cuda``) that it cannot initialise (no pygpu, no
driver, a cuDNN that ``dnn.enabled=True`` demands and that does not load),
Theano logs an error (with a traceback) while it is imported and quietly
computes on the CPU. :func:`import_theano` imports Theano and keeps what its
GPU back end logged, instead of printing it; :func:`check_requested_device`
turns that into one line before a run trains;
:func:`runtime_info` says what a run computes with (a run folder's manifest
records it).

Theano is imported only inside functions: :mod:`compat.flags` must set the
flags before Theano reads them.
"""
import logging
import os
import sys

import errors
from compat.flags import cudnn_opted_in, is_gpu_device, pick_device

__all__ = ['DeviceUnavailableError', 'import_theano', 'requested_device', 'gpu_active',
           'used_device', 'gpu_error', 'runtime_info', 'check_requested_device']

#: What ``theano.gpuarray`` logged at ERROR level while Theano was imported.
_GPU_LOG = []


class DeviceUnavailableError(errors.UserError):
    """DeviceUnavailableError(message)

    A GPU (or cuDNN) was asked for and Theano cannot use it; the run would
    compute on the CPU.
    """


class _KeepRecords(logging.Filter):
    """Keeps each error record in :data:`_GPU_LOG` instead of letting Theano print it.

    The error and its traceback would come before the one line of
    :func:`check_requested_device`, which says the same (:func:`gpu_error`).
    """

    def filter(self, record):
        if record.levelno < logging.ERROR:
            return True
        _GPU_LOG.append(record)
        return False


def import_theano():
    """import_theano()

    Import Theano, keeping the errors that its GPU back end logs meanwhile
    (for :func:`gpu_error`) instead of printing them. Returns the ``theano``
    module.
    """
    if 'theano' in sys.modules:
        return sys.modules['theano']  # imported before compat: its log is gone
    logger = logging.getLogger('theano.gpuarray')
    keep = _KeepRecords()
    logger.addFilter(keep)
    try:
        import theano
    finally:
        logger.removeFilter(keep)
    return theano


def requested_device():
    """requested_device()

    The device this process asked Theano for (its ``device`` and
    ``init_gpu_device`` flags, :func:`compat.flags.pick_device`).
    """
    import theano
    return pick_device(theano.config.device, theano.config.init_gpu_device)


def gpu_active():
    """gpu_active()

    Whether Theano initialised a GPU (``theano.gpuarray.pygpu_activated``).
    """
    gpuarray = sys.modules.get('theano.gpuarray')
    return bool(gpuarray is not None and gpuarray.pygpu_activated)


def used_device():
    """used_device()

    The device Theano computes on: ``'cpu'``, or the GPU devices it
    initialised (``'cuda'``, ``'cuda0'``, ...).
    """
    if not gpu_active():
        return 'cpu'
    from theano.gpuarray import init_dev
    return ','.join(sorted(init_dev.devmap)) or requested_device()


def _gpu_name():
    """The default GPU context's device name, or None (CPU, or no name to read)."""
    if not gpu_active():
        return None
    try:
        from theano.gpuarray import get_context
        return str(get_context(None).devname)
    except Exception:  # noqa: BLE001  (a name is only informative)
        return None


def _one_line(text, limit=300):
    """``text`` on one line, at most ``limit`` characters."""
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _message(exc):
    """An exception's message; pygpu's come as bytes (``b'Could not load ...'``)."""
    if len(exc.args) == 1 and isinstance(exc.args[0], bytes):
        return exc.args[0].decode('utf-8', 'replace')
    return str(exc)


def gpu_error():
    """gpu_error()

    Why Theano did not initialise the GPU it was asked for, on one line
    (None when it did, or when no GPU was asked for).
    """
    if gpu_active() or not is_gpu_device(requested_device()):
        return None
    gpuarray = sys.modules.get('theano.gpuarray')
    if gpuarray is not None and gpuarray.pygpu is None:
        try:
            import pygpu  # noqa: F401  (only to say why it does not import)
            why = 'pygpu imports now but did not when Theano was imported'
        except Exception as exc:  # noqa: BLE001  (any failure is the reason)
            why = '%s: %s' % (type(exc).__name__, exc)
        return _one_line('pygpu (Theano\'s GPU back end) does not import (%s)' % why)
    for record in reversed(_GPU_LOG):
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            why = '%s: %s' % (type(exc).__name__, _message(exc))
            if 'libcuda.so' in why:
                why += ' (no NVIDIA driver is installed)'
            return _one_line(why)
        return _one_line(record.getMessage())
    return 'see the error Theano logged when it was imported'


def _cudnn_in_use():
    """Whether cuDNN serves this run's convolutions (a GPU, and cuDNN enabled and loadable)."""
    if not gpu_active():
        return False
    from theano.gpuarray import dnn
    return bool(dnn.dnn_present())


def runtime_info():
    """runtime_info()

    What this process computes with, for a run's manifest.

    Returns
    -------
    dict
        ``requested_device`` (from the flags), ``device`` (what Theano really
        uses: ``'cpu'`` when a GPU could not be initialised), ``gpu_name``,
        ``gpu_error`` (why a requested GPU is not used, else None),
        ``pooling`` and ``dropout_rng`` (``'fastops'`` or ``'theano'``: the
        implementations a graph built now compiles), ``convolution``
        (``'fastops'``: stride-1 "valid" convolutions may be computed by FFT;
        ``'theano'``: all by Theano's own ops), ``convolution_choices``
        (``{'CxHxW*OxCxkhxkw': 'fft' or 'corrmm'}`` for each convolution
        compiled so far in this process), ``cudnn`` (whether cuDNN
        is used), ``dnn_enabled`` (Theano's flag), ``floatX``,
        ``blas_ldflags``, ``openmp`` and ``theano`` (its version).

    Examples
    --------
    >>> sorted(runtime_info())  # doctest: +NORMALIZE_WHITESPACE
    ['blas_ldflags', 'convolution', 'convolution_choices', 'cudnn', 'device',
     'dnn_enabled', 'dropout_rng', 'floatX', 'gpu_error', 'gpu_name', 'openmp',
     'pooling', 'requested_device', 'theano']
    """
    import theano
    import fastops.conv
    import fastops.pool
    import fastops.rng
    from theano.tensor.signal import downsample
    return {
        'requested_device': requested_device(),
        'device': used_device(),
        'gpu_name': _gpu_name(),
        'gpu_error': gpu_error(),
        'pooling': ('fastops' if downsample.max_pool_2d is fastops.pool.max_pool_2d
                    else 'theano'),
        'dropout_rng': 'fastops' if fastops.rng.registered() else 'theano',
        'convolution': 'fastops' if fastops.conv.registered() else 'theano',
        'convolution_choices': (fastops.conv.choices() if fastops.conv.registered()
                                else {}),
        'cudnn': _cudnn_in_use(),
        'dnn_enabled': str(theano.config.dnn.enabled),
        'floatX': theano.config.floatX,
        'blas_ldflags': theano.config.blas.ldflags,
        'openmp': bool(theano.config.openmp),
        'theano': theano.__version__,
    }


def check_requested_device(environ=None):
    """check_requested_device(environ=None)

    Stop a run that asked for a GPU that Theano does not use, before it
    trains on the CPU; and one that opted in to cuDNN (``KFKD_CUDNN=1``)
    when cuDNN does not load.

    Raises
    ------
    DeviceUnavailableError
        With one line that says what was asked for and why it is not there.
    """
    environ = os.environ if environ is None else environ
    requested = requested_device()
    if not is_gpu_device(requested):
        return
    if not gpu_active():
        raise DeviceUnavailableError(
            'a GPU was asked for (device=%s) but Theano could not initialise it: %s; '
            'it would compute on the CPU (install the NVIDIA driver, then run ./setup.sh '
            '--gpu for pygpu and libgpuarray; or run with THEANO_FLAGS=device=cpu)'
            % (requested, gpu_error()))
    if cudnn_opted_in(environ):
        from theano.gpuarray import dnn
        if not dnn.dnn_present():
            raise DeviceUnavailableError(
                'cuDNN was asked for (KFKD_CUDNN=1) but does not load: %s; run without '
                '--cudnn for Theano\'s own convolutions, as the study ran'
                % _one_line(dnn.dnn_present.msg))
