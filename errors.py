"""Errors a user can cause, each reported as one line and a non-zero exit.

The command lines catch :class:`UserError`, print ``error: <message>`` on
stderr and exit with status 2; anything else is a bug and keeps its traceback.
:func:`command_line` is that for every command line, with the errors of the
operating system (a full disk, a folder where a file is written) and of
AWS's client (no network, no such region) as one line too.
"""
import errno
import math
import os
import sys


class UserError(Exception):
    """UserError(message)

    Something the user gave (a file, a name, an option) cannot be used.
    The message is one line that says what and where.
    """


class DataError(UserError, ValueError):
    """DataError(message)

    A data file is missing or malformed. The message names the file, the
    row (1-based, as a spreadsheet shows it, header = row 1) and the problem.
    """


class DiskFullError(UserError, OSError):
    """DiskFullError(path, needed=None, at_least=False, advice=None)

    Writing `path` found no space left on its disk. The message names the
    path, the space needed (`needed` bytes, when the writer knows it; more
    than that with `at_least`, when it knows only what it had written), the
    space free there, and `advice` (what to do then) when given.
    """

    def __init__(self, path, needed=None, at_least=False, advice=None):
        self.path, self.needed = os.fspath(path), needed
        free = _free_bytes(self.path)
        UserError.__init__(self, 'no space left on the disk of %s%s%s' % (
            self.path,
            '' if not needed else ': %s %s needed' % (
                'more than' if at_least else 'about', _megabytes(needed)),
            '' if free is None else ', %s free' % _megabytes(free))
            + ('' if advice is None else '; %s' % advice))


def _megabytes(n):
    """``n`` bytes as a short figure in MB (rounded up: space to free).

    >>> _megabytes(3_500_000), _megabytes(10)
    ('3.5 MB', '0.1 MB')
    """
    return '%.1f MB' % max(0.1, math.ceil(n / 1e5) / 10)


def _free_bytes(path):
    """Bytes free to this user on the disk holding `path` (its nearest
    existing folder), or None when that cannot be told."""
    folder = os.path.dirname(os.path.abspath(path))
    while folder and not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    try:
        stat = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    return stat.f_bavail * stat.f_frsize


def is_disk_full(exc):
    """is_disk_full(exc)

    Whether `exc`, or an error it was raised while handling (zipfile's
    close after a failed write raises ``ValueError: seek of closed file``
    over the ``ENOSPC``), is a full disk.

    >>> is_disk_full(OSError(errno.ENOSPC, 'No space left on device'))
    True
    >>> is_disk_full(ValueError('seek of closed file'))
    False
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFullError) or (
                isinstance(exc, OSError) and exc.errno in (errno.ENOSPC,
                                                           errno.EDQUOT)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def error_line(exc):
    """error_line(exc)

    The one-line message of an error the user can fix, or None for a bug
    (whose traceback must stay): a :class:`UserError`'s own; an ``OSError``
    as what failed on which path (``cannot write out.csv: Is a directory``);
    an error of botocore's (no network, an endpoint or region that does not
    exist, AWS refusing a call) as what AWS or the network said.

    >>> error_line(UserError('--seed -1: not a seed'))
    '--seed -1: not a seed'
    >>> error_line(IsADirectoryError(errno.EISDIR, 'Is a directory', 'runs'))
    'runs: Is a directory'
    >>> error_line(KeyError('x')) is None
    True
    """
    if isinstance(exc, UserError):
        return str(exc)
    if is_disk_full(exc):
        while not isinstance(exc, DiskFullError) and not (
                isinstance(exc, OSError)
                and exc.errno in (errno.ENOSPC, errno.EDQUOT)):
            exc = exc.__cause__ or exc.__context__
        if isinstance(exc, DiskFullError):
            return str(exc)
        return str(DiskFullError(exc.filename or '.'))
    if isinstance(exc, OSError) and exc.strerror:
        names = (exc.filename, exc.filename2)
        where = ' -> '.join(os.fspath(name) for name in names
                            if name is not None)
        return '%s: %s' % (where, exc.strerror) if where else exc.strerror
    botocore = sys.modules.get('botocore.exceptions')
    if botocore is not None:
        if isinstance(exc, botocore.ClientError):
            return 'AWS refused: %s' % exc
        if isinstance(exc, (botocore.EndpointConnectionError,
                            botocore.ConnectTimeoutError)):
            return ('cannot reach AWS (%s): check the network and --region'
                    % exc)
        if isinstance(exc, botocore.BotoCoreError):
            return 'AWS: %s' % exc
    return None


def command_line(body, rewrite=None, interrupted='interrupted'):
    """command_line(body, rewrite=None, interrupted='interrupted')

    Run a command line's `body()` and return its exit status: its own
    (None counts as 0), 2 after printing ``error: <line>`` on stderr for an
    error the user can fix (:func:`error_line`), 130 after printing
    `interrupted` for Ctrl-C. Anything else is a bug and keeps its
    traceback.

    Parameters
    ----------
    rewrite : callable or None
        Applied to the line first (``run_experiment.as_options``: a
        library's ``seed=-1`` as the command's ``--seed -1``).

    >>> command_line(lambda: None)
    0
    >>> def refused():
    ...     raise UserError('no such net')
    >>> command_line(refused)
    2
    """
    try:
        status = body()
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
    except Exception as exc:
        line = error_line(exc)
        if line is None:
            raise
        print('error: %s' % (rewrite(line) if rewrite else line),
              file=sys.stderr)
        return 2
    return 0 if status is None else status
