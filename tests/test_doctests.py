"""pytest.ini collects the docstring examples of every package and top-level module.

pytest's own ``--doctest-modules`` runs the examples; what it cannot know is which folders are
the project's modules. These tests fail when a package or module is added and pytest.ini's
``testpaths`` does not name it (its examples would silently never run).
"""
import configparser
import os

from tests.conftest import REPO

#: Folders of the repository that hold scripts, not modules (bench/pytorch_reference.py
#: imports torch, which the project does not install).
SCRIPTS = ('bench',)


def pytest_ini():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(REPO, 'pytest.ini'))
    return parser['pytest']


def test_doctests_are_collected_by_pytest_itself():
    ini = pytest_ini()
    assert '--doctest-modules' in ini['addopts'].split()
    assert set(ini['doctest_optionflags'].split()) == {'ELLIPSIS', 'NORMALIZE_WHITESPACE'}


def test_testpaths_name_every_package_and_top_level_module():
    packages = sorted(name for name in os.listdir(REPO)
                      if os.path.isfile(os.path.join(REPO, name, '__init__.py')))
    modules = sorted(name for name in os.listdir(REPO)
                     if name.endswith('.py') and name != 'conftest.py')
    testpaths = pytest_ini()['testpaths'].split()
    assert 'tests' in testpaths
    assert {'compat', 'data_prep', 'nets', 'training', 'evaluation', 'experiments',
            'fastops', 'ec2'} <= set(packages)
    assert {'errors.py', 'paths.py', 'run_folder.py', 'predict.py'} <= set(modules)
    missing = sorted(set(packages + modules) - set(testpaths))
    assert not missing, 'pytest.ini testpaths lacks %s' % ', '.join(missing)
    assert not set(SCRIPTS) & set(testpaths)
