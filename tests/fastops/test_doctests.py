"""fastops' docstring examples run (tests/test_doctests.py lists other packages)."""
import doctest

import pytest

import compat  # noqa: F401  (before theano)
import fastops
import fastops.pool
import fastops.rng


@pytest.mark.parametrize('module', [fastops, fastops.pool, fastops.rng])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.failed == 0
