"""Loading a training or test set the way the study did.

The study (after Daniel Nouri's tutorial) kept the fully labelled rows of
Kaggle's ``training.csv`` (2140 of 7049), scaled pixels by /255 and targets
by (y - 48) / 48, and shuffled with ``sklearn.utils.shuffle(X, y,
random_state=42)``. :func:`load_dataset` does that, and can also keep every
row with a mask of the targets that exist, apply a contrast preprocessing,
or use synthetic faces instead of Kaggle's files. :func:`load_training_data`
is the training run's view of it: the rows and columns of one label set
(:data:`LABELS`) in the study's shuffle, checked for enough rows and, for a
run that goes on, for the same file.

Both drop rows first, on every row of the file and before the label set
picks its rows, as ``data_prep.clean.select`` says (``clean='none'``, the
default, drops nothing: the study's runs as they really were); the
:class:`Dataset`'s ``cleaning`` records what was dropped and why.

The label sets (``labels``)::

    complete  the rows with all 30 keypoints (2140 of Kaggle's 7049), as
              the study trained: targets (n, 30)
    all       every row, NaN where a keypoint is missing: targets (n, 30)
              (a net trains on them with nets.recipe's masked loss)
    sparse    the rows with the 8 keypoints nearly every row has
              (data_prep.keypoints.SPARSE_COLUMNS): targets (n, 8)
"""
import collections
import hashlib
import os

import numpy as np
import sklearn.utils

from errors import UserError
from data_prep.clean import check_method as check_clean_method
from data_prep.clean import count_rules, select
from data_prep.cache import load_kaggle_arrays
from data_prep.kaggle_csv import KINDS, find_data_file
from data_prep.keypoints import KEYPOINT_COLUMNS, SPARSE_COLUMNS
from data_prep.preprocess import check_method, preprocess as apply_preprocess
from data_prep.scaling import scale_pixels, scale_targets
from data_prep.synthetic import kaggle_missing_mask, make_faces

#: The label sets and the columns (targets) each trains on, in order.
LABEL_COLUMNS = collections.OrderedDict([
    ('complete', KEYPOINT_COLUMNS),
    ('all', KEYPOINT_COLUMNS),
    ('sparse', SPARSE_COLUMNS),
])
LABELS = tuple(LABEL_COLUMNS)

#: Synthetic faces by default: as many as Kaggle's fully labelled rows.
DEFAULT_N_SYNTHETIC = 2140
#: The seed of :func:`data_prep.synthetic.make_faces` for each kind (a run's
#: manifest records it).
SYNTHETIC_SEEDS = {'training': 0, 'test': 1}

#: The study shuffled the rows once with ``random_state=42`` (Nouri's
#: tutorial); a training run's split never depends on its own seed.
SHUFFLE_SEED = 42

#: Below this many rows nolearn's 5-fold ``TrainSplit`` cannot split.
MIN_ROWS = 10

Dataset = collections.namedtuple('Dataset', [
    'X', 'y', 'mask', 'image_ids', 'path', 'sha256', 'kind', 'labels',
    'preprocess', 'cleaning'], defaults=(None,))
Dataset.__doc__ = """Dataset(X, y, mask, image_ids, path, sha256, kind, labels, preprocess,
cleaning=None)

X : float32 (n, 1, 96, 96) in [0, 1] (after ``preprocess``).
y : float32 (n, 30) scaled (y - 48) / 48, 0 where missing; None for test.
mask : bool (n, 30), True where the target exists; None for test.
image_ids : int64 (n,): Kaggle's ImageId (test) or the 1-based data row
    of the file (training), following the rows through the shuffle.
path : the file read, or 'synthetic'.
sha256 : hex SHA-256 of the file (of the generated arrays if synthetic).
kind, labels, preprocess : as given to :func:`load_dataset`.
cleaning : dict or None (test)
    What cleaning dropped (:func:`cleaning_record`).
"""


def default_data_dir():
    """default_data_dir()

    ``$KFKD_DATA`` if set, else ``'data'``.
    """
    return os.environ.get('KFKD_DATA') or 'data'


def label_columns(labels):
    """label_columns(labels)

    The keypoint columns a label set trains on, in Kaggle's order.

    >>> len(label_columns('all')), label_columns('sparse')[:2]
    (30, ('left_eye_center_x', 'left_eye_center_y'))
    >>> label_columns('half')
    Traceback (most recent call last):
    ...
    errors.UserError: unknown labels 'half'; valid: complete, all, sparse
    """
    if labels not in LABEL_COLUMNS:
        raise UserError('unknown labels %r; valid: %s'
                        % (labels, ', '.join(LABELS)))
    return LABEL_COLUMNS[labels]


def column_indices(columns):
    """column_indices(columns)

    Positions of `columns` among Kaggle's 30 (:data:`KEYPOINT_COLUMNS`).

    >>> column_indices(label_columns('sparse'))
    [0, 1, 2, 3, 20, 21, 28, 29]
    """
    return [KEYPOINT_COLUMNS.index(c) for c in columns]


def expand_columns(values, columns):
    """expand_columns(values, columns)

    Keypoints of some `columns` as all 30 of Kaggle's, NaN in the others:
    how a run that predicts fewer columns is read wherever keypoints are
    (n, 30) (pictures, errors, submissions).

    >>> y = expand_columns([[1.0, 2.0]], ('nose_tip_x', 'nose_tip_y'))
    >>> y.shape, y[0, 20:22].tolist(), int(np.isnan(y).sum())
    ((1, 30), [1.0, 2.0], 28)
    """
    values = np.asarray(values, dtype=np.float64)
    full = np.full((len(values), len(KEYPOINT_COLUMNS)), np.nan)
    full[:, column_indices(columns)] = values
    return full


def cleaning_record(method, clean_list, rows_in_file, dropped):
    """cleaning_record(method, clean_list, rows_in_file, dropped)

    What a run's manifest records of its cleaning: ``method``,
    ``clean_list`` (absolute path or None), ``rows_in_file``,
    ``rows_dropped``, ``counts`` (rows per rule,
    ``data_prep.clean.count_rules``) and ``dropped`` (one record per row of
    ``data_prep.clean.select``).
    """
    return {'method': method,
            'clean_list': (os.path.abspath(clean_list) if clean_list
                           else None),
            'rows_in_file': int(rows_in_file), 'rows_dropped': len(dropped),
            'counts': count_rules(dropped), 'dropped': dropped}


def describe_cleaning(record):
    """describe_cleaning(record)

    One line of a :func:`cleaning_record`, the count per rule.

    >>> describe_cleaning(cleaning_record('none', None, 40, []))
    'cleaning none: 0 of 40 rows dropped'
    >>> describe_cleaning(cleaning_record('auto', None, 40, [
    ...     {'rules': ['blank_image']}, {'rules': ['blank_image',
    ...     'duplicate_image']}]))
    'cleaning auto: 2 of 40 rows dropped (blank_image 2, duplicate_image 1)'
    """
    what = record['method'] + (' + --clean-list %s' % record['clean_list']
                               if record['clean_list'] else '')
    line = 'cleaning %s: %d of %d rows dropped' % (
        what, record['rows_dropped'], record['rows_in_file'])
    if record['counts']:
        line += ' (%s)' % ', '.join('%s %d' % item
                                    for item in record['counts'].items())
    return line


def _synthetic_arrays(kind, labels, n):
    images, keypoints = make_faces(n, seed=SYNTHETIC_SEEDS[kind])
    if kind == 'test':
        keypoints = None
    elif labels != 'complete':
        keypoints = np.where(kaggle_missing_mask(n, seed=0), keypoints,
                             np.nan)
    digest = hashlib.sha256(images.tobytes())
    if keypoints is not None:
        digest.update(keypoints.tobytes())
    return {'images': images, 'keypoints': keypoints,
            'image_ids': np.arange(1, n + 1, dtype=np.int64),
            'sha256': digest.hexdigest()}


def load_dataset(data=None, kind='training', labels='complete',
                 preprocess='none', shuffle_seed=42,
                 n_synthetic=DEFAULT_N_SYNTHETIC, cache_dir=None,
                 use_cache=True, clean='none', clean_list=None):
    """load_dataset(data=None, kind='training', labels='complete', preprocess='none',
    shuffle_seed=42, n_synthetic=2140, cache_dir=None, use_cache=True, clean='none',
    clean_list=None)

    Load Kaggle's (or synthetic) faces ready for a net.

    Parameters
    ----------
    data : str or None
        A data folder holding ``<kind>.csv`` or ``<kind>.zip`` (default
        ``$KFKD_DATA`` or ``data/``), a path to such a file, or
        ``'synthetic'`` for faces generated in memory with a fixed seed.
    kind : {'training', 'test'}
    labels : {'complete', 'all', 'sparse'}
        ``'complete'``: only the rows with all 30 keypoints (the study's
        choice); ``'all'``: every row; ``'sparse'``: the rows that have the
        8 :data:`data_prep.keypoints.SPARSE_COLUMNS`. Missing targets are
        set to 0 and marked False in ``mask`` (``y`` has all 30 columns for
        every label set). For synthetic data, ``'complete'`` gives
        ``n_synthetic`` complete faces and the others ``n_synthetic`` faces
        with Kaggle's missing pattern (30% complete, the rest the 8).
    preprocess : str
        One of :data:`data_prep.preprocess.PREPROCESS_METHODS`.
    shuffle_seed : int or None
        ``sklearn.utils.shuffle(..., random_state=shuffle_seed)`` of the
        training rows (the study used 42); None keeps the file's order.
        Test rows are never shuffled (their order is the submission's).
    n_synthetic : int
        Number of synthetic faces.
    cache_dir, use_cache
        See :func:`data_prep.cache.load_kaggle_arrays`.
    clean : {'none', 'study', 'auto'}
    clean_list : str or None
        Training rows to drop, by ``data_prep.clean.select``, on every row
        of the file before `labels` picks its rows (ignored for test).

    Returns
    -------
    Dataset

    Raises
    ------
    UserError
        Unknown kind, labels, preprocess or clean.
    DataError
        Missing or malformed data file; ``clean='study'`` on a file that
        is not Kaggle's; a bad clean list.
    """
    if kind not in KINDS:
        raise UserError('unknown kind %r; valid: %s' % (kind,
                                                        ', '.join(KINDS)))
    columns = label_columns(labels)
    check_method(preprocess)
    check_clean_method(clean)
    if data is None:
        data = default_data_dir()
    data = os.fspath(data)
    if data == 'synthetic':
        path = 'synthetic'
        arrays = _synthetic_arrays(kind, labels, n_synthetic)
    else:
        path = data if os.path.isfile(data) else find_data_file(data, kind)
        arrays = load_kaggle_arrays(path, kind, cache_dir=cache_dir,
                                    use_cache=use_cache)

    images, keypoints = arrays['images'], arrays['keypoints']
    image_ids = arrays['image_ids']
    y = mask = record = None
    if kind == 'training':
        # Cleaning sees every row of the file (its row numbers are the
        # file's), then the label set picks among the rows kept.
        keep, dropped = select(keypoints, images, method=clean,
                               clean_list=clean_list, source=path)
        record = cleaning_record(clean, clean_list, len(keypoints), dropped)
        if dropped:
            images, keypoints = images[keep], keypoints[keep]
            image_ids = image_ids[keep]
        if labels != 'all':
            rows = ~np.isnan(keypoints[:, column_indices(columns)]).any(
                axis=1)
            images, keypoints = images[rows], keypoints[rows]
            image_ids = image_ids[rows]
        mask = ~np.isnan(keypoints)
        y = np.nan_to_num(scale_targets(keypoints), nan=0.0)
    X = apply_preprocess(scale_pixels(images)[:, None], preprocess)
    if kind == 'training' and shuffle_seed is not None:
        X, y, mask, image_ids = sklearn.utils.shuffle(
            X, y, mask, image_ids, random_state=shuffle_seed)
    return Dataset(X=X, y=y, mask=mask, image_ids=image_ids, path=path,
                   sha256=arrays['sha256'], kind=kind, labels=labels,
                   preprocess=preprocess, cleaning=record)


def check_data_options(labels='complete', limit=None, clean='none'):
    """check_data_options(labels='complete', limit=None, clean='none')

    Refuse an unknown label set or cleaning method, and a `limit` too
    small to split.

    >>> check_data_options(limit=5)
    Traceback (most recent call last):
    ...
    errors.UserError: limit=5: need at least 10 rows to hold out 20% for validation
    """
    label_columns(labels)
    check_clean_method(clean)
    if limit is not None and int(limit) < MIN_ROWS:
        raise UserError('limit=%s: need at least %d rows to hold out 20%% '
                        'for validation' % (limit, MIN_ROWS))


def training_targets(dataset):
    """training_targets(dataset)

    The targets a net of ``dataset.labels`` trains on: float32 ``(n, k)``
    of :func:`label_columns`, scaled, NaN where a keypoint is missing (the
    masked loss and every metric skip NaN). For ``'complete'`` this is
    ``dataset.y`` itself.
    """
    columns = label_columns(dataset.labels)
    if dataset.labels == 'complete':
        return dataset.y
    indices = column_indices(columns)
    return np.where(dataset.mask[:, indices], dataset.y[:, indices],
                    np.float32(np.nan)).astype(np.float32)


def load_training_data(data, preprocess='none', labels='complete',
                       limit=None, sha256=None, clean='none',
                       clean_list=None, dropped_rows=None):
    """load_training_data(data, preprocess='none', labels='complete', limit=None, sha256=None,
    clean='none', clean_list=None, dropped_rows=None)

    A training run's rows: cleaned, those of the label set `labels`,
    shuffled with :data:`SHUFFLE_SEED`, the first `limit` of them when
    given (options checked by :func:`check_data_options`).

    Parameters
    ----------
    data : str or None
        As :func:`load_dataset`'s.
    sha256 : str or None
        The SHA-256 the data must have (a run that goes on, or is judged,
        on the data it trained on); None accepts any.
    clean, clean_list
        As :func:`load_dataset`'s.
    dropped_rows : list of int or None
        The rows (0-based data rows) the cleaning must drop: those a run
        that goes on dropped before (its manifest's); None accepts any.

    Returns
    -------
    dataset : Dataset
        As loaded (every row of the label set, after cleaning).
    X : float32 ``(n, 1, 96, 96)`` in [0, 1]
    y : float32 ``(n, k)``
        The scaled targets of :func:`label_columns` (``k`` = 30, or 8 for
        ``'sparse'``), NaN where missing (:func:`training_targets`).

    Raises
    ------
    UserError
        Bad options, fewer than :data:`MIN_ROWS` rows, another file than
        `sha256` names, or cleaning that drops other rows than
        `dropped_rows`.
    DataError
        Missing or malformed data file or clean list.
    """
    check_data_options(labels, limit, clean)
    kwargs = {}
    if data == 'synthetic' and limit is not None:
        kwargs['n_synthetic'] = int(limit)  # generate no more than we use
    dataset = load_dataset(data, kind='training', labels=labels,
                           preprocess=preprocess, shuffle_seed=SHUFFLE_SEED,
                           clean=clean, clean_list=clean_list, **kwargs)
    if sha256 and dataset.sha256 != sha256:
        raise UserError('%s is not the data the run used (SHA-256 %s, the run '
                        'used %s)' % (dataset.path, dataset.sha256[:12],
                                      sha256[:12]))
    if dropped_rows is not None:
        now = [record['row'] for record in dataset.cleaning['dropped']]
        if now != sorted(int(row) for row in dropped_rows):
            raise UserError(
                'cleaning %s drops %d rows of %s now, the run dropped %d '
                '(has the clean list changed?)' % (
                    clean, len(now), dataset.path, len(dropped_rows)))
    X, y = dataset.X, training_targets(dataset)
    if limit is not None:
        X, y = X[:int(limit)], y[:int(limit)]
    if len(X) < MIN_ROWS:
        raise UserError('%s has only %d usable rows; need at least %d'
                        % (dataset.path, len(X), MIN_ROWS))
    if not np.isfinite(y).any():
        # labels='all' keeps rows without keypoints: a file with none at
        # all would train on nothing and still end 'completed'.
        raise UserError('%s has no keypoint in its %d rows: nothing to '
                        'train on (labels=%s)' % (dataset.path, len(X),
                                                  labels))
    return dataset, X, y
