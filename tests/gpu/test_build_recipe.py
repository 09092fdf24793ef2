"""gpu/: the pinned source's check and the project's patch, without building anything."""
import hashlib
import os
import re
import shutil
import subprocess
import tarfile

import pytest

from tests.conftest import REPO, shared_path

SCRIPT = os.path.join(REPO, 'gpu', 'build_libgpuarray.sh')
PATCH = os.path.join(REPO, 'gpu', 'libgpuarray-0.7.6.patch')


def _pin(name):
    with open(SCRIPT) as f:
        return re.search(r'^%s=(\S+)$' % name, f.read(), re.M).group(1)


def _tree_sha256(folder):
    """The script's tree digest: sha256sum over the sorted files, pygpu/_version.py aside."""
    lines = []
    paths = []
    for root, _, files in os.walk(folder):
        for name in files:
            path = './' + os.path.relpath(os.path.join(root, name), folder)
            if path != './pygpu/_version.py':
                paths.append(path)
    for path in sorted(paths, key=lambda p: p.encode()):
        with open(os.path.join(folder, path), 'rb') as f:
            lines.append('%s  %s\n' % (hashlib.sha256(f.read()).hexdigest(), path))
    return hashlib.sha256(''.join(lines).encode()).hexdigest()


@pytest.fixture(scope='module')
def source(tmp_path_factory):
    archive = shared_path('vendor', 'libgpuarray-0.7.6.tar.gz')
    with open(archive, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == _pin('ARCHIVE_SHA256')
    folder = tmp_path_factory.mktemp('src')
    with tarfile.open(archive) as tar:
        tar.extractall(str(folder))
    return folder / 'libgpuarray-0.7.6'


def test_the_pinned_tree_digest_is_the_vendored_sources(source):
    assert _tree_sha256(str(source)) == _pin('TREE_SHA256')
    assert 'git_full = "%s"' % _pin('COMMIT') in (source / 'pygpu' / '_version.py').read_text()


def test_the_digest_changes_with_one_byte(source, tmp_path):
    copy = tmp_path / 'copy'
    shutil.copytree(str(source), str(copy))
    with open(str(copy / 'src' / 'loaders' / 'libcuda.c'), 'a') as f:
        f.write('\n')
    assert _tree_sha256(str(copy)) != _pin('TREE_SHA256')


def test_the_patch_applies_and_every_hunk_says_why(source):
    if shutil.which('patch') is None:
        pytest.skip('no `patch` here')
    with open(PATCH) as f:
        text = f.read()
    out = subprocess.run(['patch', '--dry-run', '-p1', '-d', str(source), '-i', PATCH],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    hunks = re.split(r'^@@ .*$', text, flags=re.M)[1:]
    assert len(hunks) >= 8
    for hunk in hunks:
        added = '\n'.join(line for line in hunk.splitlines() if line.startswith('+'))
        assert 'kfkd:' in added, hunk[:300]
    for soname in ('libcuda.so.1', 'libnvrtc.so.12', 'libcublas.so.12', 'nvrtcGetCUBIN'):
        assert soname in text
