"""The test folders have no ``__init__.py``, so pytest imports each test file by its base
name: two files of one name in different folders stop the whole collection ("import file
mismatch"). This fails first, naming them, when a new test file repeats a name.
"""
import collections
import os

from tests.conftest import REPO


def repeated_test_file_names(root):
    names = collections.defaultdict(list)
    for folder, _, files in os.walk(root):
        for name in files:
            if name.startswith('test_') and name.endswith('.py'):
                names[name].append(os.path.relpath(os.path.join(folder, name), root))
    return {name: paths for name, paths in names.items() if len(paths) > 1}


def test_test_file_names_are_unique_across_tests():
    assert repeated_test_file_names(os.path.join(REPO, 'tests')) == {}


def test_a_repeated_name_is_found(tmp_path):
    for folder in ('ec2', 'experiments'):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / 'test_cluster.py').write_text('')
    (tmp_path / 'ec2' / 'test_other.py').write_text('')
    found = repeated_test_file_names(str(tmp_path))
    assert list(found) == ['test_cluster.py'] and len(found['test_cluster.py']) == 2
