"""Fixtures of the evaluation tests."""
import pytest

from tests.evaluation.tiny_cv import make_tiny_cv
from tests.evaluation.tiny_run import make_tiny_run


@pytest.fixture(scope='session')
def tiny_run(tmp_path_factory):
    """A trained run folder (see :mod:`tests.evaluation.tiny_run`); treat it
    as read-only (copy it to change it)."""
    return make_tiny_run(tmp_path_factory.mktemp('evaluation') / 'net1-tiny')


@pytest.fixture(scope='session')
def tiny_sparse_run(tmp_path_factory):
    """The tiny run with ``labels='sparse'``: 8 outputs (read-only too)."""
    return make_tiny_run(tmp_path_factory.mktemp('evaluation') / 'net1-sparse',
                         labels='sparse')


@pytest.fixture(scope='session')
def tiny_cv(tmp_path_factory):
    """``(data, cv_parent)`` of :mod:`tests.evaluation.tiny_cv` (read-only)."""
    return make_tiny_cv(tmp_path_factory.mktemp('evaluation-cv'))
