"""The slides' tables as runnable experiments: which net, which data, per row.

Each :class:`Table` is a list of :class:`Row`; a row names a net of the
registry (``nets.build_net``), the ``NeuralNet`` keywords it overrides, the
contrast preprocessing of the images, an optional DCT augmentation of the
training split and the study's log of that run (``../shared/data/w207_logs``)
when there is one. The slides' numbers live in ``slide_numbers.csv``
(:mod:`experiments.slides`); their ``epochs`` column gives each row's epochs
(empty: the net's own default, the study's).

A variant is a registered net with keywords changed, made one way: a row's
``overrides`` are those keywords, plain values that the run's manifest can
hold (so that an interrupted row resumes); a variant whose change is not
plain data, a nonlinearity function, is registered in ``nets.NETS`` as
:func:`nets.variants.variant` of its base (``net6_tanh``) and named here.

Choices where the slides are silent (each also said in the table's
``about``):

* ``preprocessing`` and ``dropout`` use the single-hidden-layer net with 500
  hidden units: their no-preprocessing / no-dropout rows match the 500-unit
  row of the hidden-units table (train loss 0.00094 at 1000 epochs).
* ``conv1_filter_size`` uses net2, the slides' "basic ConvNet" (its 2.9
  s/epoch matches net2's log, not net6's).
* ``hidden_layers`` and ``nonlinearity`` use net6 (the study's baseline for
  its explorations); the slides speak of net2's hidden layers.
"""
from collections import OrderedDict, namedtuple

from errors import UserError
from experiments.slides import read_slide_numbers

Row = namedtuple('Row', 'name net overrides preprocess augment study_log')
Row.__doc__ = """Row(name, net, overrides, preprocess, augment, study_log)

One row of a table: ``net`` (registry name) built with ``overrides``
(``NeuralNet`` keywords), images preprocessed with ``preprocess`` (one of
``data_prep.preprocess.PREPROCESS_METHODS``), the training split extended
with DCT-filtered copies when ``augment`` is ``(kind, window)``, and the
file name of the study's per-epoch log of this run (or None).
"""

Table = namedtuple('Table', 'name title about rows')
Table.__doc__ = """Table(name, title, about, rows)

``rows``: ``OrderedDict`` row name -> :class:`Row`; ``about``: what the
table varies and the choices made where the slides are silent.
"""


def _row(name, net, overrides=None, preprocess='none', augment=None,
         study_log=None):
    return name, Row(name, net, dict(overrides or {}), preprocess, augment,
                     study_log)


SINGLE_HIDDEN_UNITS = 500  # see the module docstring

_TABLES = [
    Table('preprocessing',
          'Data Processing - Normalization (single hidden layer)',
          'net1 with %d hidden units; images without preprocessing, contrast '
          'stretched, histogram equalized or adaptively equalized '
          '(data_prep.preprocess).' % SINGLE_HIDDEN_UNITS,
          OrderedDict(_row(method, 'net1',
                           {'hidden_num_units': SINGLE_HIDDEN_UNITS},
                           preprocess=method)
                      for method in ('none', 'stretch', 'equalize',
                                     'adaptive'))),
    Table('convnet_comparison',
          'Comparison of Different ConvNets',
          'net1 to net6, the study\'s replications of Daniel Nouri\'s tutorial '
          '(one hidden layer; the basic ConvNet; + flips; + learning rate and '
          'momentum schedules; both; + dropout), each with its own epochs and '
          'recipe; the study\'s log of each (w207final_net1..6.csv) dashed.',
          OrderedDict(_row('net%d' % i, 'net%d' % i,
                           study_log='w207final_net%d.csv' % i)
                      for i in range(1, 7))),
    Table('hidden_units',
          'Parameter search: hidden units of a single hidden layer',
          'net1 with 100..1000 hidden units.',
          OrderedDict(_row(str(units), 'net1', {'hidden_num_units': units})
                      for units in range(100, 1001, 100))),
    Table('conv1_filter_size',
          'Parameter search: filter size of conv1',
          'net2 (the slides\' "basic ConvNet") with conv1 filters 3x3..12x12.',
          OrderedDict(_row('%dx%d' % (size, size), 'net2',
                           {'conv1_filter_size': (size, size)})
                      for size in range(3, 13))),
    Table('dropout',
          'Dropout rate of a single-hidden-layer net',
          'net1 with %d hidden units and a dropout layer of p 0..0.45 '
          'between its hidden and output layers.' % SINGLE_HIDDEN_UNITS,
          OrderedDict(_row(name, 'net1_dropout',
                           {'hidden_num_units': SINGLE_HIDDEN_UNITS,
                            'dropout_p': float(name)})
                      for name in ('0', '0.05', '0.1', '0.15', '0.2', '0.25',
                                   '0.3', '0.35', '0.4', '0.45'))),
    Table('dct_augmentation',
          'Augment training set with DCT low-pass / high-pass filtered copies',
          'net6; the training split is extended with one DCT-filtered copy of '
          'each of its images (data_prep.augment.dct_filter); the validation '
          'split keeps the original images.',
          OrderedDict([_row('none', 'net6')] +
                      [_row('%s%d' % (short, window), 'net6',
                            augment=(kind, window))
                       for short, kind in (('lpf', 'lowpass'),
                                           ('hpf', 'highpass'))
                       for window in (5, 10)])),
    Table('hidden_layers',
          'Adjust hidden layers',
          'net6 with both hidden layers of 500 (baseline), 300 or 1000 units, '
          'and net6 with its first hidden layer (and its dropout) removed.',
          OrderedDict([
              _row('units500', 'net6', study_log='w207final_net6.csv'),
              _row('units300', 'net6_h300'),
              _row('units1000', 'net6_h1000'),
              _row('one_hidden_layer', 'net6_1hl'),
          ])),
    Table('nonlinearity',
          'Adjust non-linear function',
          'net6 with rectify (its own), sigmoid or tanh hidden units.',
          OrderedDict([
              _row('rectify', 'net6', study_log='w207final_net6.csv'),
              _row('sigmoid', 'net6_sigmoid'),
              _row('tanh', 'net6_tanh'),
          ])),
    Table('conv_nets',
          'Conv Net Experiments',
          'Net6 and its variants of the slides\' "Conv Net Experiments" table.',
          OrderedDict([
              _row('net6', 'net6', study_log='w207final_net6.csv'),
              _row('net6lp', 'net6lp', study_log='byron_net6LP.csv'),
              _row('net6np', 'net6np', study_log='byron_net6NP.csv'),
              _row('net6nplf', 'net6nplf', study_log='byron_net6NPLF.csv'),
              _row('net6rhl', 'net6rhl', study_log='byron_net6X.csv'),
              _row('net6rp', 'net6rp', study_log='byron_net6RP.csv'),
              _row('net6rpxl', 'net6rpxl', study_log='byron_net6RPXL.csv'),
              _row('cnet_nplfxl', 'cnet_nplfxl',
                   study_log='CNet_NPLFXL_master_HEAD.csv'),
          ])),
]

TABLES = OrderedDict((table.name, table) for table in _TABLES)


def get_table(name):
    """get_table(name)

    The :class:`Table` called ``name``.

    >>> get_table('dropout').rows['0.1'].overrides['dropout_p']
    0.1
    >>> get_table('pooling')
    Traceback (most recent call last):
    errors.UserError: unknown table 'pooling'; valid: preprocessing, convnet_comparison,
    hidden_units, conv1_filter_size, dropout, dct_augmentation, hidden_layers, nonlinearity,
    conv_nets
    """
    try:
        return TABLES[name]
    except KeyError:
        raise UserError('unknown table %r; valid: %s'
                        % (name, ', '.join(TABLES)))


def slide_epochs(table, row):
    """slide_epochs(table, row)

    The epochs the slides ran ``row`` of ``table`` for, or None where they
    do not say (the net's own default then applies).

    >>> slide_epochs('conv1_filter_size', '7x7'), slide_epochs('conv_nets', 'net6')
    (150, None)
    """
    slide = read_slide_numbers().get(table, {}).get(row)
    return slide.epochs if slide is not None else None


def scaled_epochs(epochs, scale):
    """scaled_epochs(epochs, scale)

    ``scale`` times ``epochs``, rounded, at least 1.

    >>> scaled_epochs(1000, 0.02), scaled_epochs(150, 0.001), scaled_epochs(750, 1)
    (20, 1, 750)
    """
    return max(1, int(round(epochs * scale)))
