"""Errors a user can cause, each reported as one line and a non-zero exit.

The command lines catch :class:`UserError`, print ``error: <message>`` on
stderr and exit with status 2; anything else is a bug and keeps its traceback.
"""


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
