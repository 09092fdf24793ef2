"""conftest.py of Lasagne 0.1's own test suite as tests/peer runs it (copied next to it).

``compat`` is imported first, as the project's own code does; then Lasagne's
tests run unchanged against the installed Lasagne, Theano and NumPy. The
tests that cannot apply to Theano 1.0 or to an offline CI are skipped, each
with its reason, and an entry that names no collected test is an error (so
the list cannot go stale silently).
"""
import pytest

import compat  # noqa: F401  (before theano, lasagne: what the project guarantees)

#: Lasagne 0.1 tests that cannot apply, with the reason each cannot.
CANNOT_APPLY = {
    'lasagne/tests/layers/test_conv.py::TestConv2DDNNLayer::'
    'test_import_without_gpu_or_cudnn_raises':
        "imports theano.sandbox.cuda, the old CUDA back end that Theano 1.0 removed",
    'lasagne/tests/test_examples.py::test_example[mnist]':
        "the MNIST example downloads its data set",
}


def pytest_collection_modifyitems(config, items):
    """Skip the :data:`CANNOT_APPLY` tests; an entry whose file ran but which was not collected
    is an error (unless ``-k``, ``-m`` or ``--deselect`` chose the tests)."""
    found = set()
    for item in items:
        reason = CANNOT_APPLY.get(item.nodeid)
        if reason is not None:
            found.add(item.nodeid)
            item.add_marker(pytest.mark.skip(reason='cannot apply: ' + reason))
    files = {item.nodeid.split('::')[0] for item in items}
    missing = sorted(name for name in CANNOT_APPLY
                     if name.split('::')[0] in files and name not in found)
    chosen = (config.getoption('keyword') or config.getoption('markexpr')
              or config.getoption('deselect'))
    if missing and not chosen:
        raise pytest.UsageError('tests/peer lists tests that Lasagne 0.1 does not have: %s'
                                % ', '.join(missing))
