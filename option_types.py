"""Types of command-line options that check a value's range as argparse reads it.

A value out of range is refused by argparse itself (``argument --seed:
...``, exit 2) before a command does anything, so no folder is made, no
instance launched and no run touched. Every command line of the project
uses these for the same kind of option.

>>> seed('42'), positive_int('3'), finite_positive('0.02'), price('0')
(42, 3, 0.02, 0.0)
>>> seed('-1')
Traceback (most recent call last):
...
argparse.ArgumentTypeError: -1 is not a seed: seeds are integers 0 to 4294967295
"""
import argparse
import math

__all__ = ['SEED_MAX', 'seed', 'positive_int', 'non_negative_int',
           'finite_positive', 'price']

#: The largest seed NumPy's generators take (``2**32 - 1``).
SEED_MAX = 2 ** 32 - 1


def _number(text, kind, what):
    """`text` as a `kind` (int or float), or argparse's error naming `what`."""
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError('%r is not %s' % (text, what))


def seed(text):
    """seed(text)

    A seed: an integer from 0 to :data:`SEED_MAX`.

    >>> seed('4294967296')
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 4294967296 is not a seed: seeds are integers 0 to 4294967295
    """
    value = _number(text, int, 'an integer seed')
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(
            '%d is not a seed: seeds are integers 0 to %d' % (value, SEED_MAX))
    return value


def positive_int(text):
    """positive_int(text)

    An integer of at least 1 (epochs, folds, rows, jobs).

    >>> positive_int('0')
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 0: must be at least 1
    """
    value = _number(text, int, 'an integer')
    if value < 1:
        raise argparse.ArgumentTypeError('%d: must be at least 1' % value)
    return value


def non_negative_int(text):
    """non_negative_int(text)

    An integer of at least 0 (restarts).

    >>> non_negative_int('-2')
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: -2: must be 0 or more
    """
    value = _number(text, int, 'an integer')
    if value < 0:
        raise argparse.ArgumentTypeError('%d: must be 0 or more' % value)
    return value


def finite_positive(text):
    """finite_positive(text)

    A finite number above 0 (scales, hours, seconds).

    >>> finite_positive('inf')
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: inf: must be a finite number above 0
    """
    value = _number(text, float, 'a number')
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError('%s: must be a finite number above 0'
                                         % text)
    return value


def price(text):
    """price(text)

    A price: a finite number of at least 0.

    >>> price('-1')
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: -1: a price is a finite number of at least 0
    """
    value = _number(text, float, 'a price')
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            '%s: a price is a finite number of at least 0' % text)
    return value
