"""The project's Theano flags, set before Theano is imported, under the user's own.

Theano reads ``THEANO_FLAGS`` and the ``.theanorc`` files once, when it is
imported. :func:`configure_theano_flags` puts the project's defaults
(:func:`theano_flag_defaults`) in front of the user's ``THEANO_FLAGS``, so
that every flag the user set (there or in a ``.theanorc``) wins.

The defaults depend on two things known before the import: whether OpenBLAS
can be linked (:func:`openblas_linkable`) and whether a GPU was asked for
(:func:`pick_device`). A GPU run computes with Theano's own
convolutions, as the study did (a GRID K520 without cuDNN): ``dnn.enabled=
False``, unless ``KFKD_CUDNN=1`` (:func:`cudnn_opted_in`), which turns cuDNN
on and points Theano at the cuDNN and CUDA of the environment
(:func:`cudnn_flags`).

Nothing here imports Theano.
"""
import configparser
import os
import subprocess
import sys
import warnings

from paths import REPO

__all__ = ['THEANO_CACHE', 'openblas_linkable', 'user_flags', 'is_gpu_device',
           'pick_device', 'cudnn_opted_in', 'cudnn_flags',
           'theano_flag_defaults', 'configure_theano_flags']

#: Theano's persistent compile cache (``base_compiledir``), git-ignored.
THEANO_CACHE = os.path.join(REPO, '.theano')

#: Device names under which Theano computes on a GPU (``gpu`` is the old
#: back end's, which Theano 1.0 refuses; it is a GPU request all the same).
GPU_PREFIXES = ('cuda', 'gpu', 'opencl')

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


def _parse_flags(flags):
    """``a=1,B.c=2`` -> {'a': '1', 'b.c': '2'} (names lower case; the last one wins)."""
    pairs = (item.split('=', 1) for item in flags.split(',') if '=' in item)
    return {name.strip().lower(): value.strip() for name, value in pairs}


def _theanorc_flags(environ):
    """The flags set in the user's ``.theanorc`` files (names lower case, as Theano reads them)."""
    paths = [os.path.expanduser(p) for p in
             environ.get('THEANORC', '~/.theanorc').split(os.pathsep)]
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(paths)
    except configparser.Error:
        return {}  # Theano itself will report a broken .theanorc
    found = {}
    for section in parser.sections():
        for key, value in parser.items(section):
            found[key if section == 'global' else '%s.%s' % (section, key)] = value
    return found


def user_flags(environ=None):
    """user_flags(environ=None)

    The Theano flags the user set: ``.theanorc`` first, ``THEANO_FLAGS``
    over it (Theano's own order), names in lower case.

    Examples
    --------
    >>> user_flags({'THEANO_FLAGS': 'device=cuda,floatX=float64,device=cuda1',
    ...             'THEANORC': '/nonexistent'})
    {'device': 'cuda1', 'floatx': 'float64'}
    """
    environ = os.environ if environ is None else environ
    found = _theanorc_flags(environ)
    found.update(_parse_flags(environ.get('THEANO_FLAGS', '')))
    return found


def is_gpu_device(name):
    """is_gpu_device(name)

    Whether a Theano device name asks for a GPU.

    >>> is_gpu_device('cuda0'), is_gpu_device('opencl0:0'), is_gpu_device('cpu')
    (True, True, False)
    """
    return str(name).lower().startswith(GPU_PREFIXES)


def pick_device(device='cpu', init_gpu_device=''):
    """pick_device(device='cpu', init_gpu_device='')

    The device a run asks for, from Theano's ``device`` and
    ``init_gpu_device`` flags: the GPU named by either, else ``device``.

    >>> pick_device('cpu', 'cuda0'), pick_device('cuda'), pick_device()
    ('cuda0', 'cuda', 'cpu')
    """
    if not is_gpu_device(device) and is_gpu_device(init_gpu_device):
        return init_gpu_device
    return device


def cudnn_opted_in(environ=None):
    """cudnn_opted_in(environ=None)

    Whether a GPU run uses cuDNN's convolutions: only with ``KFKD_CUDNN=1``
    (``ec2/launch --cudnn`` sets it); the study ran without cuDNN.

    >>> cudnn_opted_in({}), cudnn_opted_in({'KFKD_CUDNN': '1'})
    (False, True)
    """
    environ = os.environ if environ is None else environ
    return environ.get('KFKD_CUDNN', '0') == '1'


def _conda_prefix(environ):
    """The conda environment: ``CONDA_PREFIX``, or this Python's prefix when it is one."""
    if environ.get('CONDA_PREFIX'):
        return environ['CONDA_PREFIX']
    if os.path.isdir(os.path.join(sys.prefix, 'conda-meta')):
        return sys.prefix  # a conda env's python run without `conda activate`
    return ''


def cudnn_flags(environ=None):
    """cudnn_flags(environ=None)

    The flags that cuDNN 7 needs, as ``(name, value)`` pairs, from the
    environment that installs it: cuDNN's header and library from the conda
    environment (``CONDA_PREFIX``; ``ec2/environment.yml``), else from
    ``CUDA_HOME``; the CUDA headers that ``cudnn.h`` includes (``cuda.root``,
    ``cuda.include_path``) from ``CUDA_HOME``, else from the conda
    environment. Empty when neither is known (Theano then searches itself).

    Examples
    --------
    >>> dict(cudnn_flags({'CONDA_PREFIX': '/env'}))['dnn.include_path']
    '/env/include'
    >>> dict(cudnn_flags({'CONDA_PREFIX': '/env', 'CUDA_HOME': '/cuda'}))['cuda.root']
    '/cuda'
    """
    environ = os.environ if environ is None else environ
    cudnn_root = _conda_prefix(environ) or environ.get('CUDA_HOME', '')
    cuda_root = environ.get('CUDA_HOME', '') or cudnn_root
    if not cudnn_root:
        return []
    library = os.path.join(cudnn_root, 'lib')
    if not os.path.isdir(library) and os.path.isdir(library + '64'):
        library += '64'  # a CUDA toolkit's own layout
    return [('dnn.include_path', os.path.join(cudnn_root, 'include')),
            ('dnn.library_path', library), ('dnn.bin_path', library),
            ('cuda.root', cuda_root),
            ('cuda.include_path', os.path.join(cuda_root, 'include'))]


def theano_flag_defaults(openblas=None, device='cpu', cudnn=False, environ=None):
    """theano_flag_defaults(openblas=None, device='cpu', cudnn=False, environ=None)

    The project's default Theano flags, as ``(name, value)`` pairs.

    Parameters
    ----------
    openblas : bool or None
        Whether OpenBLAS can be linked; None asks the compiler.
    device : str
        The device asked for (:func:`pick_device`).
    cudnn : bool
        Whether a GPU run opted in to cuDNN (:func:`cudnn_opted_in`).
    environ : dict-like or None
        Where :func:`cudnn_flags` finds cuDNN; ``os.environ`` by default.

    Examples
    --------
    >>> dict(theano_flag_defaults(openblas=True))['blas.ldflags']
    '-lopenblas'
    >>> dict(theano_flag_defaults(openblas=False))['blas.ldflags']
    ''
    >>> dict(theano_flag_defaults(True, device='cuda'))['dnn.enabled']
    'False'
    >>> 'dnn.enabled' in dict(theano_flag_defaults(True, device='cpu', cudnn=True))
    False
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
    if is_gpu_device(device):
        if cudnn:
            defaults += [('dnn.enabled', 'True')] + cudnn_flags(environ)
        else:
            # The study's convolutions (Theano's own GEMM-based ones).
            defaults += [('dnn.enabled', 'False')]
    return defaults


def configure_theano_flags(environ=None, openblas=None):
    """configure_theano_flags(environ=None, openblas=None)

    Put the project's defaults in ``THEANO_FLAGS``, under the user's own.

    A flag the user set in ``THEANO_FLAGS`` or in a ``.theanorc`` file is left
    as the user set it. Does nothing once Theano is imported (its flags are
    read then). Also sets ``OMP_NUM_THREADS`` to the number of cores when
    OpenMP is on and the user did not choose, and, for a cuDNN run, puts the
    CUDA ``bin`` folder (``nvcc``) first on ``PATH``.

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
    given = environ.get('THEANO_FLAGS', '')
    taken = user_flags(environ)
    device = pick_device(taken.get('device', 'cpu'), taken.get('init_gpu_device', ''))
    defaults = theano_flag_defaults(openblas, device, cudnn_opted_in(environ), environ)
    chosen = dict((name, value) for name, value in defaults if name.lower() not in taken)
    if chosen.get('blas.ldflags') == '':
        warnings.warn(_FALLBACK_WARNING, RuntimeWarning, stacklevel=2)
    if chosen.get('openmp') == 'True' and 'OMP_NUM_THREADS' not in environ:
        environ['OMP_NUM_THREADS'] = str(os.cpu_count() or 1)
    cuda_bin = os.path.join(chosen.get('cuda.root', ''), 'bin')
    if 'cuda.root' in chosen and os.path.isfile(os.path.join(cuda_bin, 'nvcc')):
        environ['PATH'] = os.pathsep.join([cuda_bin] + [environ.get('PATH', '')])
    # Theano reads THEANO_FLAGS left to right; the user's come last and win.
    parts = ['%s=%s' % pair for pair in defaults if pair[0] in chosen] + ([given] if given else [])
    environ['THEANO_FLAGS'] = ','.join(parts)
    return environ['THEANO_FLAGS']
