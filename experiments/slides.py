"""The numbers the study's slides print, read from ``slide_numbers.csv``.

One file holds every table of the slides as data (``table, row, label,
train_loss, val_loss, duration_s, epochs, verdict, note``). Losses are the
slides' MSE on targets scaled ``(y-48)/48``; ``duration_s`` is seconds per
epoch on the study's GPU. Where a slide prints no number the cell is empty:
``epochs`` empty means "not printed, the net's own default"; ``verdict``
holds the words the slides give instead of numbers ("slightly worse");
``note`` says where the slide text is garbled or a value is assumed.
"""
import csv
import os
from collections import OrderedDict, namedtuple

from errors import UserError

SLIDE_NUMBERS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                  'slide_numbers.csv')

SlideRow = namedtuple('SlideRow', 'table row label train_loss val_loss '
                      'duration_s epochs verdict note')


def _number(text, kind):
    text = text.strip()
    return kind(text) if text else None


def read_slide_numbers(path=SLIDE_NUMBERS_PATH):
    """read_slide_numbers(path=SLIDE_NUMBERS_PATH)

    The slides' tables as ``OrderedDict`` table -> ``OrderedDict`` row ->
    :class:`SlideRow`, in the file's order.

    Numbers are ``float`` (``epochs``: ``int``), or None where the slide
    prints none; ``verdict`` and ``note`` are strings ('' when empty).

    >>> tables = read_slide_numbers()
    >>> tables['conv_nets']['net6rhl'].val_loss, tables['conv_nets']['net6rhl'].epochs
    (0.00105, 2000)
    >>> tables['nonlinearity']['tanh'].verdict
    'a little worse'
    """
    tables = OrderedDict()
    with open(path, newline='') as f:
        for line, record in enumerate(csv.DictReader(f), start=2):
            try:
                row = SlideRow(
                    table=record['table'], row=record['row'],
                    label=record['label'],
                    train_loss=_number(record['train_loss'], float),
                    val_loss=_number(record['val_loss'], float),
                    duration_s=_number(record['duration_s'], float),
                    epochs=_number(record['epochs'], int),
                    verdict=record['verdict'] or '',
                    note=record['note'] or '')
            except (KeyError, TypeError, ValueError) as e:
                raise UserError('%s row %d: %s' % (path, line, e))
            rows = tables.setdefault(row.table, OrderedDict())
            if row.row in rows:
                raise UserError('%s row %d: row %r of table %r twice'
                                % (path, line, row.row, row.table))
            rows[row.row] = row
    return tables
