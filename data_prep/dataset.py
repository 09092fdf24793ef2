"""Loading a training or test set the way the study did.

The study (after Daniel Nouri's tutorial) kept the fully labelled rows of
Kaggle's ``training.csv`` (2140 of 7049), scaled pixels by /255 and targets
by (y - 48) / 48, and shuffled with ``sklearn.utils.shuffle(X, y,
random_state=42)``. :func:`load_dataset` does that, and can also keep every
row with a mask of the targets that exist, apply a contrast preprocessing,
or use synthetic faces instead of Kaggle's files. :func:`load_training_data`
is the training run's view of it: the complete rows in the study's shuffle,
checked for enough rows and, for a run that goes on, for the same file.
"""
import collections
import hashlib
import os

import numpy as np
import sklearn.utils

from errors import UserError
from data_prep.cache import load_kaggle_arrays
from data_prep.kaggle_csv import KINDS, find_data_file
from data_prep.preprocess import check_method, preprocess as apply_preprocess
from data_prep.scaling import scale_pixels, scale_targets
from data_prep.synthetic import kaggle_missing_mask, make_faces

LABELS = ('complete', 'all')

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
    'preprocess'])
Dataset.__doc__ = """Dataset(X, y, mask, image_ids, path, sha256, kind, labels, preprocess)

X : float32 (n, 1, 96, 96) in [0, 1] (after ``preprocess``).
y : float32 (n, 30) scaled (y - 48) / 48, 0 where missing; None for test.
mask : bool (n, 30), True where the target exists; None for test.
image_ids : int64 (n,): Kaggle's ImageId (test) or the 1-based data row
    of the file (training), following the rows through the shuffle.
path : the file read, or 'synthetic'.
sha256 : hex SHA-256 of the file (of the generated arrays if synthetic).
kind, labels, preprocess : as given to :func:`load_dataset`.
"""


def default_data_dir():
    """default_data_dir()

    ``$KFKD_DATA`` if set, else ``'data'``.
    """
    return os.environ.get('KFKD_DATA') or 'data'


def _synthetic_arrays(kind, labels, n):
    images, keypoints = make_faces(n, seed=SYNTHETIC_SEEDS[kind])
    if kind == 'test':
        keypoints = None
    elif labels == 'all':
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
                 use_cache=True):
    """load_dataset(data=None, kind='training', labels='complete', preprocess='none', shuffle_seed=42, n_synthetic=2140, cache_dir=None, use_cache=True)

    Load Kaggle's (or synthetic) faces ready for a net.

    Parameters
    ----------
    data : str or None
        A data folder holding ``<kind>.csv`` or ``<kind>.zip`` (default
        ``$KFKD_DATA`` or ``data/``), a path to such a file, or
        ``'synthetic'`` for faces generated in memory with a fixed seed.
    kind : {'training', 'test'}
    labels : {'complete', 'all'}
        ``'complete'``: only the rows with all 30 keypoints (the study's
        choice); ``'all'``: every row, missing targets set to 0 and marked
        False in ``mask``. For synthetic data, ``'complete'`` gives
        ``n_synthetic`` complete faces and ``'all'`` gives ``n_synthetic``
        faces with Kaggle's missing pattern (30% complete).
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

    Returns
    -------
    Dataset

    Raises
    ------
    UserError
        Unknown kind, labels or preprocess.
    DataError
        Missing or malformed data file.
    """
    if kind not in KINDS:
        raise UserError('unknown kind %r; valid: %s' % (kind,
                                                         ', '.join(KINDS)))
    if labels not in LABELS:
        raise UserError('unknown labels %r; valid: %s'
                        % (labels, ', '.join(LABELS)))
    check_method(preprocess)
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
    y = mask = None
    if kind == 'training':
        if labels == 'complete':
            rows = ~np.isnan(keypoints).any(axis=1)
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
                   preprocess=preprocess)


def check_data_options(labels='complete', limit=None):
    """check_data_options(labels='complete', limit=None)

    Refuse ``labels='all'`` (training uses complete rows, as the study did)
    and a `limit` too small to split.

    >>> check_data_options(limit=5)
    Traceback (most recent call last):
    ...
    errors.UserError: limit=5: need at least 10 rows to hold out 20% for validation
    """
    if labels != 'complete':
        raise UserError("labels=%r: training uses the rows that have all 30 "
                        "keypoints, as the study did; use labels='complete'"
                        % (labels,))
    if limit is not None and int(limit) < MIN_ROWS:
        raise UserError('limit=%s: need at least %d rows to hold out 20%% '
                        'for validation' % (limit, MIN_ROWS))


def load_training_data(data, preprocess='none', labels='complete',
                       limit=None, sha256=None):
    """load_training_data(data, preprocess='none', labels='complete', limit=None, sha256=None)

    The study's training rows, shuffled with :data:`SHUFFLE_SEED`, the first
    `limit` of them when given (options checked by
    :func:`check_data_options`).

    Parameters
    ----------
    data : str or None
        As :func:`load_dataset`'s.
    sha256 : str or None
        The SHA-256 the data must have (a run that goes on, or is judged,
        on the data it trained on); None accepts any.

    Returns
    -------
    dataset : Dataset
        As loaded (all rows).
    X, y : ndarray
        float32 ``(n, 1, 96, 96)`` in [0, 1] and ``(n, 30)`` scaled targets.

    Raises
    ------
    UserError
        Bad options, fewer than :data:`MIN_ROWS` rows, or another file than
        `sha256` names.
    DataError
        Missing or malformed data file.
    """
    check_data_options(labels, limit)
    kwargs = {}
    if data == 'synthetic' and limit is not None:
        kwargs['n_synthetic'] = int(limit)  # generate no more than we use
    dataset = load_dataset(data, kind='training', labels=labels,
                           preprocess=preprocess, shuffle_seed=SHUFFLE_SEED,
                           **kwargs)
    if sha256 and dataset.sha256 != sha256:
        raise UserError('%s is not the data the run used (SHA-256 %s, the run '
                        'used %s)' % (dataset.path, dataset.sha256[:12],
                                      sha256[:12]))
    X, y = dataset.X, dataset.y
    if limit is not None:
        X, y = X[:int(limit)], y[:int(limit)]
    if len(X) < MIN_ROWS:
        raise UserError('%s has only %d usable rows; need at least %d'
                        % (dataset.path, len(X), MIN_ROWS))
    return dataset, X, y
