"""compat.scan: Theano's scan compiles its C code and computes the right numbers on this Python."""
import os
import subprocess
import sys

import numpy as np
import pytest

import compat  # noqa: F401  (before theano)
from compat import scan

import theano
import theano.tensor as T
from paths import REPO


def recurrence():
    """h_t = tanh(w * h_{t-1} + x_t), its sum, and d(sum)/dw, compiled with the C linkers."""
    x, w = T.vector('x'), T.scalar('w')
    h, _ = theano.scan(lambda x_t, h_prev, w: T.tanh(w * h_prev + x_t), sequences=x,
                       outputs_info=T.constant(np.float32(0)), non_sequences=w)
    return theano.function([x, w], [h, theano.grad(h.sum(), w)],
                           mode=theano.compile.Mode(linker='cvm', optimizer='fast_run'))


def numpy_recurrence(x, w):
    h, dh_dw, hs, grad = 0.0, 0.0, [], 0.0
    for x_t in x:
        h_new = np.tanh(w * h + x_t)
        dh_dw = (1 - h_new ** 2) * (h + w * dh_dw)  # forward-mode derivative
        h = h_new
        hs.append(h)
        grad += dh_dw
    return np.array(hs), grad


def test_scan_and_its_gradient_run_in_c_and_match_numpy():
    f = recurrence()
    x = np.linspace(-1, 1, 7).astype('float32')
    h, grad = f(x, np.float32(0.7))
    h_ref, grad_ref = numpy_recurrence(x.astype('float64'), 0.7)
    np.testing.assert_allclose(h, h_ref, rtol=1e-5)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-4)
    # Theano's Cython loop ran, not its pure-Python fallback.
    ext = sys.modules['theano.scan_module.scan_perform_ext']
    assert ext.get_version() == ext.version
    scans = [node for node in f.maker.fgraph.toposort()
             if type(node.op).__name__ == 'Scan']
    assert scans, 'no Scan node in the compiled graph'


def test_the_hook_is_installed_exactly_where_theano_needs_it():
    assert scan.needed((3, 8)) is False and scan.needed((3, 10, 13)) is False
    assert scan.needed((3, 11, 7)) is True
    assert scan.needed() == (sys.version_info >= (3, 11))


def test_each_change_applies_once_to_theanos_file_and_to_nothing_else():
    cfile, version = scan._theano_files()
    with open(cfile) as f:
        source = f.read()
    patched = scan.patched_source(source)
    # every change is made for Python >= 3.11 only
    assert patched.count('PY_VERSION_HEX >= 0x030B0000') == len(scan.PATCHES)
    assert source.count('PY_VERSION_HEX >= 0x030B0000') == 0
    assert '#include "cpython/longintrepr.h"' in patched
    assert version == '0.296'
    with pytest.raises(ValueError, match='is not Theano 1.0.5'):
        scan.patched_source(source.replace('#include "longintrepr.h"', ''))


SUM_SCAN = ('import compat, theano, theano.tensor as T, numpy as np; '
            'x = T.vector(); h, _ = theano.scan(lambda a, b: a + b, sequences=x, '
            'outputs_info=T.constant(np.float32(0))); '
            'print(theano.function([x], h)(np.arange(4, dtype="float32")).tolist())')


def test_without_a_compiler_scan_runs_in_python_as_theano_does(tmp_path):
    env = dict(os.environ, THEANO_FLAGS='cxx=,base_compiledir=%s' % tmp_path)
    out = subprocess.run([sys.executable, '-c', SUM_SCAN], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split('\n')[-2] == '[0.0, 1.0, 3.0, 6.0]'
    assert not list(tmp_path.glob('compiledir_*/scan_perform/__init__.py'))


@pytest.mark.slow
def test_scan_compiles_from_an_empty_cache(tmp_path):
    # What a fresh ./setup.sh and a first scan do (one compile of scan_perform, ~30 s).
    env = dict(os.environ, THEANO_FLAGS='base_compiledir=%s' % tmp_path)
    out = subprocess.run([sys.executable, '-c', SUM_SCAN], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split('\n')[-2] == '[0.0, 1.0, 3.0, 6.0]'
    assert list(tmp_path.glob('compiledir_*/scan_perform/__init__.py'))
