"""The project's modules import one another without a circle.

A circle (``a`` imports ``b`` and ``b`` imports ``a``, directly or through
others) is what function-local imports were once written to dodge; this
walks every import statement of every project module, at any depth in the
file, and fails naming the circle.
"""
import ast
import os

from tests.conftest import REPO

#: Folders that hold no project code.
SKIP_DIRS = {'.git', '.venv', '.theano', 'tests', 'runs', 'results', 'data', '__pycache__',
             '.cache', '.pytest_cache'}


def project_modules(root=REPO):
    """project_modules(root=REPO)

    ``{dotted module name: file path}`` of every Python module under `root`.
    """
    modules = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith('.'))
        rel = os.path.relpath(folder, root)
        parts = [] if rel == '.' else rel.split(os.sep)
        if parts and not os.path.isfile(os.path.join(folder, '__init__.py')):
            continue  # not a package: scripts folder (bench/)
        for name in files:
            if not name.endswith('.py'):
                continue
            stem = name[:-3]
            dotted = '.'.join(parts if stem == '__init__' else parts + [stem])
            if dotted:
                modules[dotted] = os.path.join(folder, name)
    return modules


def imported_modules(path, name, modules):
    """imported_modules(path, name, modules)

    The project modules that the file at `path` (module `name`) imports.
    ``from package import sub`` counts as importing ``package.sub`` when that
    is a module, and importing ``a.b`` does not count as importing ``a``
    (a package's ``__init__`` importing its own modules is no circle).
    """
    tree = ast.parse(open(path).read(), path)
    package = name if path.endswith('__init__.py') else name.rpartition('.')[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = package.split('.') if package else []
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = '.'.join(anchor + ([base] if base else []))
            targets = ['%s.%s' % (base, alias.name) if base else alias.name
                       for alias in node.names]
            targets = [t if t in modules else base for t in targets]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def find_circle(graph):
    """find_circle(graph)

    One import circle of `graph` (``{module: set of modules}``) as a list
    that starts and ends with the same module, or None.

    >>> find_circle({'a': {'b'}, 'b': {'c'}, 'c': set()}) is None
    True
    >>> find_circle({'a': {'b'}, 'b': {'a'}})
    ['a', 'b', 'a']
    """
    state = {}

    def visit(node, trail):
        state[node] = 'open'
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 'open':
                return trail[trail.index(nxt):] + [nxt]
            if nxt not in state:
                circle = visit(nxt, trail + [nxt])
                if circle:
                    return circle
        state[node] = 'done'
        return None

    for start in sorted(graph):
        if start not in state:
            circle = visit(start, [start])
            if circle:
                return circle
    return None


def test_the_finder_sees_a_circle_through_a_third_module():
    assert find_circle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']


def test_from_package_import_module_is_an_import_of_that_module(tmp_path):
    (tmp_path / 'pkg').mkdir()
    (tmp_path / 'pkg' / '__init__.py').write_text('from pkg import a\n')
    (tmp_path / 'pkg' / 'a.py').write_text('from pkg import b\n')
    (tmp_path / 'pkg' / 'b.py').write_text('def f():\n    from . import a\n')
    modules = project_modules(str(tmp_path))
    graph = {name: imported_modules(path, name, modules) for name, path in modules.items()}
    assert graph['pkg.a'] == {'pkg.b'} and graph['pkg.b'] == {'pkg.a'}
    assert find_circle(graph) == ['pkg.a', 'pkg.b', 'pkg.a']


def test_the_project_has_no_import_circle():
    modules = project_modules()
    assert {'run_experiment', 'nets', 'training.run', 'compat'} <= set(modules)
    graph = {name: imported_modules(path, name, modules) for name, path in modules.items()}
    circle = find_circle(graph)
    assert circle is None, 'import circle: ' + ' -> '.join(circle)
