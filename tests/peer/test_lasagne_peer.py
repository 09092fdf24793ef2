"""tests/peer: Lasagne 0.1's own tests, pinned, extracted and run with compat imported first.

The whole suite runs in CI as its own step (``.venv/bin/python -m tests.peer.lasagne_suite``);
here: the runner's checks, and Lasagne's recurrent-layer tests (Theano's scan) through it.
"""
import io
import os
import tarfile

import pytest

from tests.peer import lasagne_conftest, lasagne_suite


def make_sdist(path, files):
    """A tar.gz named like Lasagne's sdist, holding ``files`` ({name: text}) under Lasagne-0.1/."""
    with tarfile.open(str(path), 'w:gz') as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo('Lasagne-0.1/' + name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return str(path)


def test_a_sdist_with_another_hash_is_refused(tmp_path):
    make_sdist(tmp_path / lasagne_suite.SDIST, {'setup.py': ''})
    with pytest.raises(lasagne_suite.PeerSuiteError, match='not the pinned 3c634eca'):
        lasagne_suite.download(str(tmp_path))


def test_only_the_tests_and_examples_are_extracted_with_our_conftest(tmp_path):
    sdist = make_sdist(tmp_path / 'fake.tar.gz', {
        'lasagne/__init__.py': 'raise ImportError("the sdist\'s own package")',
        'lasagne/tests/test_a.py': 'def test_a():\n    pass\n',
        'examples/recurrent.py': '', 'setup.cfg': '[pytest]\naddopts = --pep8\n'})
    folder = lasagne_suite.extract(sdist, str(tmp_path / 'suite'))
    assert sorted(os.listdir(folder)) == ['conftest.py', 'examples', 'lasagne', 'pytest.ini']
    assert os.listdir(os.path.join(folder, 'lasagne')) == ['tests']
    with open(os.path.join(folder, 'conftest.py')) as ours, open(lasagne_conftest.__file__) as f:
        assert ours.read() == f.read()


def test_a_path_outside_the_folder_is_refused(tmp_path):
    sdist = make_sdist(tmp_path / 'evil.tar.gz', {'lasagne/tests/../../../../evil.py': ''})
    with pytest.raises(lasagne_suite.PeerSuiteError, match='cannot be extracted safely'):
        lasagne_suite.extract(sdist, str(tmp_path / 'suite'))
    assert not (tmp_path / 'evil.py').exists()


# Lasagne's own conftest.py defines --runslow, which the runner passes.
LASAGNE_CONFTEST = ('def pytest_addoption(parser):\n'
                    '    parser.addoption("--runslow", action="store_true")\n')

CONV = '''
import sys

COMPAT_FIRST = 'compat' in sys.modules  # before this module's imports


class TestConv2DDNNLayer:
    def test_import_without_gpu_or_cudnn_raises(self):
        from theano.sandbox.cuda import dnn  # noqa: F401

    def test_pad(self):
        from theano.tensor.signal import downsample  # compat's shim for Lasagne 0.1
        assert COMPAT_FIRST and downsample.max_pool_2d
'''


def test_the_tests_that_cannot_apply_are_skipped_with_their_reason(tmp_path, capfd):
    sdist = make_sdist(tmp_path / 'fake.tar.gz', {
        'lasagne/tests/conftest.py': LASAGNE_CONFTEST, 'lasagne/tests/layers/test_conv.py': CONV})
    folder = lasagne_suite.extract(sdist, str(tmp_path / 'suite'))
    assert lasagne_suite.run(folder) == 0
    out = capfd.readouterr().out
    assert '1 passed, 1 skipped' in out
    assert 'cannot apply: imports theano.sandbox.cuda' in out


def test_a_listed_test_that_lasagne_does_not_have_is_an_error(tmp_path, capfd):
    conv = 'class TestConv2DDNNLayer:\n    def test_pad(self):\n        pass\n'
    sdist = make_sdist(tmp_path / 'fake.tar.gz', {
        'lasagne/tests/conftest.py': LASAGNE_CONFTEST, 'lasagne/tests/layers/test_conv.py': conv})
    folder = lasagne_suite.extract(sdist, str(tmp_path / 'suite'))
    assert lasagne_suite.run(folder) == 4  # pytest's usage error
    assert 'lists tests that Lasagne 0.1 does not have' in capfd.readouterr().err


def test_lasagnes_recurrent_layer_tests_pass(tmp_path, capfd):
    # The 23 tests that failed on Python 3.11 before compat.scan; three of them here.
    sdist = lasagne_suite.download()
    folder = lasagne_suite.extract(sdist, str(tmp_path / 'suite'))
    chosen = ['lasagne/tests/layers/test_recurrent.py', '-k',
              'test_lstm_return_shape or test_gru_bck or test_recurrent_unroll_scan_bck']
    assert lasagne_suite.run(folder, chosen) == 0
    assert '3 passed' in capfd.readouterr().out
