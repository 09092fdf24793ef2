"""Theano's ``scan`` in C on every supported Python.

Theano 1.0.5 runs a compiled ``scan`` through ``scan_perform``, a C module
that Cython 0.28.5 generated in 2018 (``theano/scan_module/c_code/
scan_perform.c``) and that Theano compiles into its cache the first time a
scan is compiled. On Python 3.11 that C does not compile:

- ``longintrepr.h`` moved to ``cpython/longintrepr.h``;
- ``PyCode_New`` takes a qualified name and an exception table;
- frames are opaque (``f_lineno`` needs CPython's internal ``pycore_frame.h``);
- the thread state lost ``recursion_depth`` and ``exc_state.exc_type``, which
  Cython's fast call and fast thread-state paths use. Cython's own switches
  ``CYTHON_FAST_PYCALL`` and ``CYTHON_FAST_THREAD_STATE`` turn those paths
  off (as later Cython releases do on 3.11), so the public C API is used.

:func:`patched_source` makes these changes (each under
``#if PY_VERSION_HEX >= 0x030B0000``, so the result compiles on any Python).
:func:`install` adds an import hook: when Theano first imports
``theano.scan_module.scan_perform_ext``, :func:`ensure_compiled` compiles the
patched source into Theano's cache, where and under the version Theano's own
loader looks for, so Theano imports it as its own and the file in
site-packages is never changed. On Python < 3.11 Theano's file compiles as
it is and :func:`install` does nothing.

Theano is imported only inside functions: :mod:`compat.flags` must set the
flags before Theano reads them.
"""
import importlib.abc
import os
import re
import sys

__all__ = ['needed', 'patched_source', 'ensure_compiled', 'install']

#: The module whose import triggers the compilation of scan's C code.
TRIGGER = 'theano.scan_module.scan_perform_ext'

_PY311 = 'PY_VERSION_HEX >= 0x030B0000'

#: (Theano's text, its replacement): each text occurs exactly once.
PATCHES = (
    ('  #include "longintrepr.h"\n',
     '  #if %s\n  #include "cpython/longintrepr.h"\n  #else\n'
     '  #include "longintrepr.h"\n  #endif\n' % _PY311),
    ('    #define CYTHON_FAST_THREAD_STATE 1\n',
     '    #define CYTHON_FAST_THREAD_STATE (!(%s))\n' % _PY311),
    ('    #define CYTHON_FAST_PYCALL 1\n',
     '    #define CYTHON_FAST_PYCALL (!(%s))\n' % _PY311),
    ('  #define __Pyx_PyCode_New(a, k, l, s, f, code, c, n, v, fv, cell, fn, name, fline, lnos)'
     '\\\n          PyCode_New(a, k, l, s, f, code, c, n, v, fv, cell, fn, name, fline, lnos)\n',
     '  #if %s\n'
     '  #define __Pyx_PyCode_New(a, k, l, s, f, code, c, n, v, fv, cell, fn, name, fline, lnos)'
     '\\\n          PyCode_New(a, k, l, s, f, code, c, n, v, fv, cell, fn, name, name, fline,'
     ' lnos, __pyx_empty_bytes)\n'
     '  #else\n'
     '  #define __Pyx_PyCode_New(a, k, l, s, f, code, c, n, v, fv, cell, fn, name, fline, lnos)'
     '\\\n          PyCode_New(a, k, l, s, f, code, c, n, v, fv, cell, fn, name, fline, lnos)\n'
     '  #endif\n' % _PY311),
    ('  #define __Pyx_PyFrame_SetLineNumber(frame, lineno)  (frame)->f_lineno = (lineno)\n',
     '  #if %s\n    #ifndef Py_BUILD_CORE\n      #define Py_BUILD_CORE 1\n    #endif\n'
     '    #include "internal/pycore_frame.h"\n  #endif\n'
     '  #define __Pyx_PyFrame_SetLineNumber(frame, lineno)  (frame)->f_lineno = (lineno)\n'
     % _PY311),
)


def needed(version_info=None):
    """needed(version_info=None)

    Whether Theano's own ``scan_perform.c`` fails to compile on this Python.

    >>> needed((3, 10, 13)), needed((3, 11, 0))
    (False, True)
    """
    return tuple(version_info or sys.version_info)[:2] >= (3, 11)


def patched_source(source):
    """patched_source(source)

    Theano's ``scan_perform.c`` with the changes that Python 3.11 needs.

    Raises
    ------
    ValueError
        When ``source`` is not the file of Theano 1.0.5 (a text to change is
        missing or appears twice).
    """
    for old, new in PATCHES:
        if source.count(old) != 1:
            raise ValueError("scan_perform.c is not Theano 1.0.5's: %r occurs %d times"
                             % (old.strip().splitlines()[0], source.count(old)))
        source = source.replace(old, new)
    return source


def _theano_files():
    """(scan_perform.c, the version Theano's loader expects) of the installed Theano."""
    import theano
    folder = os.path.join(theano.__path__[0], 'scan_module')
    with open(os.path.join(folder, 'scan_perform_ext.py')) as f:
        version = re.search(r'^version = ([0-9.]+)', f.read(), re.M).group(1)
    return os.path.join(folder, 'c_code', 'scan_perform.c'), version


def _compiled_version(location):
    """The version mark of the module compiled at ``location``, or None."""
    try:
        with open(os.path.join(location, '__init__.py')) as f:
            mark = re.match(r'_version = ([0-9.]+)', f.read())
    except OSError:
        return None
    return mark and mark.group(1)


def ensure_compiled():
    """ensure_compiled()

    Compile :func:`patched_source` into Theano's cache
    (``<compiledir>/scan_perform``) unless the module is there with the
    version Theano expects. Uses Theano's compile lock and compiler options.

    Returns
    -------
    bool
        True when it compiled; False when the cache already held the module,
        or there is no compiler (``cxx=``: Theano then runs scan in Python).
    """
    import numpy as np
    from theano import config
    from theano.gof import cmodule
    from theano.gof.compilelock import get_lock, release_lock
    cfile, version = _theano_files()
    location = os.path.join(config.compiledir, 'scan_perform')
    if not config.cxx or _compiled_version(location) == version:
        return False
    get_lock()
    try:
        if _compiled_version(location) == version:
            return False  # another process compiled it while we waited
        with open(cfile) as f:
            code = patched_source(f.read())
        os.makedirs(location, exist_ok=True)
        # Theano's own options (scan_perform_ext.py): the old NumPy names
        # that Cython 0.28 uses, mapped to the new API's.
        preargs = ['-fwrapv', '-O2', '-fno-strict-aliasing']
        preargs += cmodule.GCC_compiler.compile_args()
        if [int(n) for n in np.__version__.split('.')[:2]] >= [1, 7]:
            preargs += ['-DNPY_%s=NPY_ARRAY_%s' % (name, name) for name in (
                'ENSUREARRAY', 'ENSURECOPY', 'ALIGNED', 'WRITEABLE', 'UPDATE_ALL',
                'C_CONTIGUOUS', 'F_CONTIGUOUS')]
        cmodule.GCC_compiler.compile_str('scan_perform', code, location=location,
                                         preargs=preargs, hide_symbols=False)
        with open(os.path.join(location, '__init__.py'), 'w') as f:
            f.write('_version = %s\n' % version)
    finally:
        release_lock()
    return True


class _CompileBeforeImport(importlib.abc.MetaPathFinder):
    """Runs :func:`ensure_compiled` when Theano imports :data:`TRIGGER`; finds nothing itself."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == TRIGGER:
            ensure_compiled()
            sys.meta_path.remove(self)  # once: Theano's own loader does the rest
        return None


def install():
    """install()

    Where :func:`needed`, have Theano's scan compile :func:`patched_source`
    the first time it needs its C code. Idempotent; a no-op elsewhere.

    Returns
    -------
    bool
        Whether the hook is in place (False where it is not needed, or Theano
        has already loaded its scan module).
    """
    if not needed() or TRIGGER in sys.modules:
        return False
    if not any(isinstance(f, _CompileBeforeImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _CompileBeforeImport())
    return True
