"""Fetch and unpack Kaggle's facial-keypoints-detection files with your own token.

Usage::

    python -m data_prep.download [--data DIR]

Downloads the competition's archive with the ``kaggle`` package (pinned in
``requirements.txt``) and unpacks it into ``DIR`` (default ``$KFKD_DATA`` or
``data/``, where training looks): ``training.csv`` (from ``training.zip``),
``test.csv`` (from ``test.zip``), ``IdLookupTable.csv`` and
``SampleSubmission.csv``. A file already in ``DIR`` is kept, never
overwritten; nothing is fetched when all four are there.

Kaggle needs your own API token (kaggle.com, Settings, API, Create New
Token): the file ``kaggle.json`` in ``~/.kaggle/`` (or in
``$KAGGLE_CONFIG_DIR``), or the variables ``KAGGLE_USERNAME`` and
``KAGGLE_KEY``; and your account must have accepted the competition's rules.
Without a token this says where to put it before it imports ``kaggle``
(which would itself fail on import) or touches the network.

A user error prints ``error: <message>`` on stderr and exits with 2.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import zipfile

from errors import DataError, UserError, command_line
from data_prep.dataset import default_data_dir
from run_folder import atomic_open

__all__ = ['COMPETITION', 'FILES', 'token_location', 'unpack', 'download',
           'parser', 'main']

COMPETITION = 'facial-keypoints-detection'
RULES_URL = 'https://www.kaggle.com/c/%s/rules' % COMPETITION
TOKEN_URL = 'https://www.kaggle.com/settings'

#: What the competition's archive unpacks to.
FILES = ('training.csv', 'test.csv', 'IdLookupTable.csv',
         'SampleSubmission.csv')


def _token_files():
    """Where kaggle 1.7.4.5 looks for kaggle.json, in its order."""
    config_dir = os.environ.get('KAGGLE_CONFIG_DIR')
    if config_dir:
        return [os.path.join(config_dir, 'kaggle.json')]
    home = os.path.expanduser('~')
    dot_kaggle = os.path.join(home, '.kaggle')
    if sys.platform.startswith('linux') and not os.path.exists(dot_kaggle):
        # kaggle follows XDG when ~/.kaggle does not exist.
        xdg = os.environ.get('XDG_CONFIG_HOME') or os.path.join(home,
                                                                '.config')
        return [os.path.join(xdg, 'kaggle', 'kaggle.json'),
                os.path.join(dot_kaggle, 'kaggle.json')]
    return [os.path.join(dot_kaggle, 'kaggle.json')]


def token_location():
    """token_location()

    Where the user's Kaggle API token is, checked without importing kaggle.

    Returns
    -------
    str
        ``'KAGGLE_USERNAME and KAGGLE_KEY'`` or the path of ``kaggle.json``.

    Raises
    ------
    UserError
        No token (the message says where to put one), half of the
        variables, or a ``kaggle.json`` that is not a token.
    """
    user, key = (os.environ.get('KAGGLE_USERNAME'),
                 os.environ.get('KAGGLE_KEY'))
    if user and key:
        return 'KAGGLE_USERNAME and KAGGLE_KEY'
    candidates = _token_files()
    found = [path for path in candidates if os.path.isfile(path)]
    if not found:
        if user or key:
            raise UserError('%s is set but %s is not: set both, or put your '
                            'token in %s' % (
                                'KAGGLE_USERNAME' if user else 'KAGGLE_KEY',
                                'KAGGLE_KEY' if user else 'KAGGLE_USERNAME',
                                candidates[-1]))
        raise UserError(
            'no Kaggle API token: create one on %s (API, Create New Token) '
            'and save the kaggle.json it gives as %s (chmod 600), or set '
            'KAGGLE_USERNAME and KAGGLE_KEY' % (TOKEN_URL, candidates[-1]))
    path = found[0]
    try:
        with open(path) as f:
            token = json.load(f)
    except (OSError, ValueError) as e:
        raise UserError('%s: not a Kaggle API token (%s)' % (
            path, str(e).splitlines()[0] if str(e) else type(e).__name__))
    if not (isinstance(token, dict) and token.get('username')
            and token.get('key')):
        raise UserError('%s: not a Kaggle API token (expected {"username": '
                        '..., "key": ...}); download a new one from %s'
                        % (path, TOKEN_URL))
    return path


def _kaggle_api():
    """kaggle's authenticated API object, any failure a UserError."""
    try:
        # Importing the package authenticates at once (kaggle/__init__.py).
        from kaggle.api.kaggle_api_extended import KaggleApi
        api = KaggleApi()
        api.authenticate()
    except ImportError:
        raise UserError('the kaggle package is not installed: run ./setup.sh '
                        '(requirements.txt pins kaggle==1.7.4.5)')
    except (OSError, ValueError) as e:
        raise UserError('kaggle could not use the token: %s' % _one_line(e))
    return api


def _one_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _download_error(error, where):
    status = getattr(getattr(error, 'response', None), 'status_code', None)
    if status == 401:
        return UserError('Kaggle refused the token in %s (401 Unauthorized): '
                         'create a new one on %s' % (where, TOKEN_URL))
    if status == 403:
        return UserError("Kaggle refused the download (403 Forbidden): sign "
                         "in and accept the competition's rules on %s, then "
                         "run this again" % RULES_URL)
    return UserError('downloading %s from Kaggle failed: %s' % (
        COMPETITION, _one_line(error)))


def _place(name, source, data_dir, result):
    """Copy the file object ``source`` to ``data_dir/name`` unless there."""
    target = os.path.join(data_dir, name)
    if os.path.exists(target):
        result['kept'].append(target)
        return
    with atomic_open(target, 'wb') as out:
        shutil.copyfileobj(source, out, 1 << 22)
    result['written'].append(target)


def unpack(path, data_dir, result=None):
    """unpack(path, data_dir, result=None)

    Put the files of a downloaded file into ``data_dir``: a zip's members
    (and the members of the zips inside it, such as Kaggle's
    ``training.zip``) by their base names, any other file as it is. A file
    already in ``data_dir`` is kept.

    Returns
    -------
    dict
        ``written`` and ``kept``: the paths in ``data_dir`` (appended to
        ``result`` when given).

    Raises
    ------
    DataError
        A ``.zip`` that cannot be read.
    """
    result = result if result is not None else {'written': [], 'kept': []}
    if path.lower().endswith('.zip'):
        _unpack_zip(path, path, data_dir, result)
    else:
        with open(path, 'rb') as source:
            _place(os.path.basename(path), source, data_dir, result)
    return result


def _unpack_zip(archive_file, name, data_dir, result):
    try:
        archive = zipfile.ZipFile(archive_file)
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError('%s: not a readable zip file (%s)' % (name, e))
    with archive:
        for member in archive.infolist():
            base = os.path.basename(member.filename)
            if (member.is_dir() or not base or base.startswith('.')
                    or member.filename.startswith('__MACOSX')):
                continue
            with archive.open(member) as source:
                if not base.lower().endswith('.zip'):
                    _place(base, source, data_dir, result)
                    continue
                # A zip in the zip: copied out (zip members cannot seek
                # fast), then unpacked; the copy vanishes when closed.
                with tempfile.TemporaryFile(dir=data_dir) as inner:
                    shutil.copyfileobj(source, inner, 1 << 22)
                    inner.seek(0)
                    _unpack_zip(inner, '%s/%s' % (name, member.filename),
                                data_dir, result)


def download(data_dir, api=None, log=print):
    """download(data_dir, api=None, log=print)

    Fetch the competition's archive and :func:`unpack` it into
    ``data_dir`` (made if missing), unless all of :data:`FILES` are there.

    Parameters
    ----------
    data_dir : str
    api : object or None
        Something with kaggle's ``competition_download_files(competition,
        path=..., quiet=...)``; default: kaggle's own, authenticated with
        the user's token (:func:`token_location` first).
    log : callable

    Returns
    -------
    dict
        ``written`` and ``kept`` (paths in ``data_dir``).

    Raises
    ------
    UserError
        No token, a refused token or download, no network.
    DataError
        What Kaggle sent is not a readable archive or lacks a file of
        :data:`FILES`.
    """
    data_dir = os.fspath(data_dir)
    if os.path.exists(data_dir) and not os.path.isdir(data_dir):
        # Before the token and the download, not at os.makedirs.
        raise UserError('--data %s is a file; name the folder to fill '
                        '(e.g. %s)' % (data_dir, os.path.dirname(data_dir)
                                       or '.'))
    there = [os.path.join(data_dir, name) for name in FILES
             if os.path.isfile(os.path.join(data_dir, name))]
    if len(there) == len(FILES):
        log('%s already holds %s: nothing to fetch' % (data_dir,
                                                       ', '.join(FILES)))
        return {'written': [], 'kept': there}
    where = 'the given API'
    if api is None:
        where = token_location()  # before importing kaggle
        api = _kaggle_api()
    os.makedirs(data_dir, exist_ok=True)
    fetched = tempfile.mkdtemp(prefix='.download-', dir=data_dir)
    try:
        log('fetching %s from Kaggle (token: %s) ...' % (COMPETITION, where))
        try:
            api.competition_download_files(COMPETITION, path=fetched,
                                           quiet=False)
        except OSError as e:  # requests' errors are OSErrors too
            raise _download_error(e, where)
        names = sorted(os.listdir(fetched))
        if not names:
            raise UserError('Kaggle sent no files for %s' % COMPETITION)
        result = {'written': [], 'kept': []}
        for name in names:
            unpack(os.path.join(fetched, name), data_dir, result)
    finally:
        shutil.rmtree(fetched, ignore_errors=True)
    missing = [name for name in FILES
               if not os.path.isfile(os.path.join(data_dir, name))]
    if missing:
        raise DataError('%s: the archive Kaggle sent held no %s' % (
            data_dir, ', '.join(missing)))
    for path in result['written']:
        log('%s: written' % path)
    for path in result['kept']:
        log('%s: already there, kept' % path)
    return result


def parser():
    """parser()

    The command line's ``argparse.ArgumentParser``.
    """
    p = argparse.ArgumentParser(
        prog='python -m data_prep.download',
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', metavar='DIR',
                   help='the data folder to fill (default: $KFKD_DATA or '
                   'data/)')
    return p


def main(argv=None):
    """main(argv=None)

    Run the command line; returns the exit status (0; 2 for a user error or
    a path that cannot be written; 130 for Ctrl-C).
    """
    args = parser().parse_args(argv)

    def body():
        download(args.data or default_data_dir())
    return command_line(body)


if __name__ == '__main__':
    sys.exit(main())
