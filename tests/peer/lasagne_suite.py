"""Lasagne 0.1's own test suite, run on this project's environment with ``compat`` imported first.

::

    .venv/bin/python -m tests.peer.lasagne_suite [PYTEST_ARGS ...]

1. :func:`download`: Lasagne 0.1's sdist, with pip (``pip download --no-deps
   --no-binary :all: --require-hashes``, the hash pinned in :data:`SHA256`),
   into ``.cache/peer/``; later runs check the file's SHA-256 and reuse it.
2. :func:`extract`: its ``lasagne/tests`` and ``examples`` (not the package:
   the tests run against the Lasagne 0.1 that ``requirements.txt`` installs),
   with :mod:`tests.peer.lasagne_conftest` beside them as ``conftest.py``.
3. :func:`run`: pytest there, with ``--runslow`` (Lasagne's slow tests are
   its examples); the exit status is pytest's.

Every test passes but those in ``lasagne_conftest.CANNOT_APPLY`` (skipped with
their reason); Lasagne's own skips are its GPU-only layers (``cuda_convnet``,
``corrmm``, ``dnn``: Theano's old CUDA back end). CI runs this as its own
step (``.ci/run``).
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

from paths import REPO

__all__ = ['REQUIREMENT', 'SHA256', 'PeerSuiteError', 'sha256', 'download', 'extract', 'run',
           'main']

#: The sdist whose tests run, and its SHA-256 (as PyPI lists it).
REQUIREMENT = 'Lasagne==0.1'
SDIST = 'Lasagne-0.1.tar.gz'
SHA256 = '3c634ecab67e43e4f18520932bfd88bd3c678ec723c48177f18799dab2411233'

#: Where the sdist and the extracted tests live (git-ignored).
CACHE = os.path.join(REPO, '.cache', 'peer')

#: Where the tests are extracted and run (made anew by each run of :func:`main`).
SUITE = os.path.join(CACHE, 'lasagne-0.1-tests')

#: The conftest.py put beside Lasagne's tests.
CONFTEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lasagne_conftest.py')

#: Parts of the sdist to extract (its top folder stripped).
PARTS = ('lasagne/tests/', 'examples/')

PYTEST_INI = """[pytest]
# Lasagne's own test folders; no options of ours beyond these.
python_files = test*.py
filterwarnings =
    # Theano 1.0.5 and Lasagne 0.1 use numpy aliases deprecated since 1.20: noise
    ignore::DeprecationWarning
"""


class PeerSuiteError(Exception):
    """PeerSuiteError(message)

    The sdist cannot be had or is not the pinned one; one line.
    """


def sha256(path):
    """sha256(path)

    The file's SHA-256, in hex.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def download(folder=CACHE, expected=SHA256, python=sys.executable):
    """download(folder=CACHE, expected=SHA256, python=sys.executable)

    The path of Lasagne 0.1's sdist in ``folder``, downloaded with pip when
    it is not there yet, and checked against ``expected``.

    Raises
    ------
    PeerSuiteError
        When pip cannot download it or its SHA-256 is not ``expected``.
    """
    path = os.path.join(folder, SDIST)
    if not os.path.exists(path):
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            pinned = os.path.join(scratch, 'lasagne-sdist.txt')
            with open(pinned, 'w') as f:
                f.write('%s --hash=sha256:%s\n' % (REQUIREMENT, expected))
            # --no-build-isolation: pip reads the sdist's metadata with the
            # pinned setuptools instead of downloading one.
            result = subprocess.run(
                [python, '-m', 'pip', 'download', '-q', '--no-deps', '--no-binary', ':all:',
                 '--no-build-isolation', '--require-hashes', '-r', pinned, '-d', scratch],
                capture_output=True, text=True)
            if result.returncode != 0 or not os.path.exists(os.path.join(scratch, SDIST)):
                lines = (result.stderr or result.stdout).strip().splitlines() or ['no output']
                raise PeerSuiteError('pip could not download %s: %s' % (REQUIREMENT, lines[-1]))
            os.replace(os.path.join(scratch, SDIST), path)
    found = sha256(path)
    if found != expected:
        raise PeerSuiteError('%s has SHA-256 %s, not the pinned %s: delete it to download again'
                             % (path, found, expected))
    return path


def extract(sdist, folder):
    """extract(sdist, folder)

    Put the sdist's :data:`PARTS` (its top folder stripped) and the
    conftest.py of :data:`CONFTEST` in ``folder``, a fresh folder.

    Returns
    -------
    str
        ``folder``, holding ``lasagne/tests``, ``examples``, ``conftest.py``
        and ``pytest.ini``.

    Raises
    ------
    PeerSuiteError
        When ``folder`` exists, or the sdist holds a path outside it.
    """
    if os.path.exists(folder):
        raise PeerSuiteError('%s exists: extract into a fresh folder' % folder)
    os.makedirs(folder)
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            top, _, name = member.name.partition('/')
            if not name.startswith(PARTS):
                continue
            parts = name.split('/')
            if os.path.isabs(name) or '..' in parts or not (member.isfile() or member.isdir()):
                raise PeerSuiteError('%s holds %r, which cannot be extracted safely'
                                     % (sdist, member.name))
            target = os.path.join(folder, *parts)
            if member.isdir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.extractfile(member) as source, open(target, 'wb') as out:
                out.write(source.read())
    if not os.path.isdir(os.path.join(folder, 'lasagne', 'tests')):
        raise PeerSuiteError('%s has no lasagne/tests' % sdist)
    with open(CONFTEST) as source, open(os.path.join(folder, 'conftest.py'), 'w') as out:
        out.write(source.read())
    with open(os.path.join(folder, 'pytest.ini'), 'w') as out:
        out.write(PYTEST_INI)
    return folder


def run(folder, pytest_args=(), python=sys.executable):
    """run(folder, pytest_args=(), python=sys.executable)

    Run pytest on an :func:`extract` ed folder, with the project on
    ``PYTHONPATH`` (for ``import compat``): on ``lasagne/tests`` unless
    ``pytest_args`` name tests of their own. Returns pytest's exit status.
    """
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([REPO] + [p for p in [env.get('PYTHONPATH')] if p])
    command = [python, '-m', 'pytest', '-c', os.path.join(folder, 'pytest.ini'),
               '--rootdir', folder, '-p', 'no:cacheprovider', '-q', '-rfEs', '--runslow']
    chosen = [arg for arg in pytest_args
              if os.path.exists(os.path.join(folder, arg.split('::')[0]))]
    command += ([] if chosen else [os.path.join('lasagne', 'tests')]) + list(pytest_args)
    return subprocess.call(command, cwd=folder, env=env)


def main(argv=None):
    """main(argv=None)

    Download, extract into :data:`SUITE` (made anew), run, and return
    pytest's exit status (2 with one ``error:`` line when the sdist cannot
    be had).
    """
    argv = sys.argv[1:] if argv is None else argv
    try:
        sdist = download()
        shutil.rmtree(SUITE, ignore_errors=True)
        folder = extract(sdist, SUITE)
    except PeerSuiteError as exc:
        sys.stderr.write('error: %s\n' % exc)
        return 2
    print('Lasagne 0.1 (%s, sha256 %s...) in %s' % (sdist, SHA256[:12], folder), flush=True)
    return run(folder, argv)


if __name__ == '__main__':
    sys.exit(main())
