"""The examples in the project's docstrings run and print what they show."""
import doctest
import importlib
import os

import pytest

from tests.conftest import REPO

# compat first: it sets Theano's flags before anything imports Theano.
PACKAGES = ('compat', 'data_prep', 'nets', 'training', 'evaluation', 'experiments',
            'fastops')


def project_modules():
    names = ['errors']
    for package in PACKAGES:
        folder = os.path.join(REPO, package)
        if not os.path.isdir(folder):
            continue
        for filename in sorted(os.listdir(folder)):
            if filename.endswith('.py') and filename != '__main__.py':
                stem = filename[:-3]
                names.append(package if stem == '__init__' else
                             '%s.%s' % (package, stem))
    return names


@pytest.mark.parametrize('name', project_modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS
                             | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, '%d of %d examples in %s failed' % (
        result.failed, result.attempted, name)
