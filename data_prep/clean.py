"""Which rows of a ``training.csv`` to drop before training, and why.

Three methods (``--clean none|study|auto``) and a list a person wrote
(``--clean-list FILE``), combined by :func:`select`, which returns the rows
kept and one record per row dropped (its row, the rules that dropped it and
the values they looked at), for the run's manifest: nothing is dropped
silently.

Rows are numbered as pandas numbers them: ``row`` is the 0-based data row of
the file (the header is not a row; file line = row + 2), ``image_id`` =
row + 1 is the 1-based data row that :class:`data_prep.dataset.Dataset` and
``valid_predictions.csv`` carry.

``none`` (the default)
    Drops nothing: the 2016 runs as they really were. The study's notebook
    listed 15 wrongly labelled rows of Kaggle's ``training.csv``,
    ``bad_train_data = [6492, 6493, 2321, 3296, 5556, 1877, 2289, 2199,
    4263, 4828, 2194, 1907, 4490, 2090, 1747]`` (pandas labels, i.e. 0-based
    data rows), but called ``df.drop(ignore)`` without keeping the result,
    so every run of the study trained on all of them.
``study``
    Drops those 15 rows, as the study meant to (rule ``study_bad_row``).
    The numbers mean something only in Kaggle's own file, so any other file
    is refused: it must have Kaggle's 7049 rows, 2140 of them with all 30
    keypoints (its SHA-256 is not known to us, so these are the checks).
``auto``
    Rows found by the rules of :data:`AUTO_RULES`, each named, with its
    threshold a named constant below: exact duplicate images (the first is
    kept), keypoints in an impossible arrangement, blank or nearly uniform
    images.

Keypoints are pixels as read from the CSV (``float (n, 30)``, NaN where
missing, Kaggle's column order); images are the ``uint8`` grey levels as read
(``(n, 9216)`` or ``(n, 96, 96)``). A rule that needs a missing keypoint
does not judge that row. "Left" is the subject's left, the larger x.

>>> from data_prep.synthetic import make_faces
>>> images, keypoints = make_faces(4, seed=0)
>>> keypoints[2, [0, 2]] = keypoints[2, [2, 0]]  # swap the eye centres' x
>>> keep, dropped = select(keypoints, images, method='auto')
>>> keep.tolist()
[0, 1, 3]
>>> dropped[0]['row'], dropped[0]['image_id'], dropped[0]['rules']
(2, 3, ['left_eye_not_on_right'])
>>> select(keypoints, images, method='none')[0].tolist()
[0, 1, 2, 3]
"""
import collections
import csv
import hashlib
import io
import re

import numpy as np

from errors import DataError, UserError
from data_prep.keypoints import KEYPOINT_COLUMNS, N_PIXELS

__all__ = ['METHODS', 'STUDY_BAD_ROWS', 'AUTO_RULES', 'check_method',
           'check_kaggle_training',
           'study_flags', 'auto_flags', 'read_clean_list', 'select',
           'count_rules']

METHODS = ('none', 'study', 'auto')

#: The study's ``bad_train_data``: 0-based data rows of Kaggle's
#: training.csv it meant to drop (and, by a bug, never did).
STUDY_BAD_ROWS = (6492, 6493, 2321, 3296, 5556, 1877, 2289, 2199, 4263,
                  4828, 2194, 1907, 4490, 2090, 1747)

#: Kaggle's training.csv: its data rows and the rows with all 30 keypoints
#: (the 2140 that Daniel Nouri's tutorial and the study trained on).
KAGGLE_TRAINING_ROWS = 7049
KAGGLE_COMPLETE_ROWS = 2140

#: Two copies of an image are "conflicting" when a keypoint both have
#: differs by more than this: below a pixel is labelling precision, above
#: it the two labels disagree on where the point is.
DUPLICATE_LABEL_TOLERANCE_PX = 1.0

#: Pixel standard deviation (grey levels) below which an image is blank:
#: one grey level plus a little noise. Faces have about 48; the least
#: contrasted of the 3385 real faces has 12.4.
BLANK_STD = 3.0

#: Below this (and at least :data:`BLANK_STD`) an image is nearly uniform:
#: features would differ from their surroundings by a few grey levels only.
NEARLY_UNIFORM_STD = 8.0

#: An image is mostly flat when this share of its pixels lies within
#: :data:`FLAT_BAND` grey levels of one another (padding, a blank region
#: covering most of the frame). Real faces reach at most 0.49, synthetic
#: ones 0.42.
FLAT_SHARE = 0.6
FLAT_BAND = 5  # grey levels: JPEG noise spreads a flat area over a few

#: The rules of ``auto``, in the order they are applied, with what each
#: finds. A row can be dropped by several.
AUTO_RULES = collections.OrderedDict([
    ('duplicate_image', 'the same pixels as an earlier row, with the same '
     'keypoints (within %g px); the earlier row is kept'
     % DUPLICATE_LABEL_TOLERANCE_PX),
    ('duplicate_conflicting_labels', 'the same pixels as an earlier row, '
     'but a keypoint both label differs by more than %g px; the earlier row '
     'is kept' % DUPLICATE_LABEL_TOLERANCE_PX),
    ('left_eye_not_on_right', "the subject's left eye centre is not right "
     "of the right one in the image (x not larger)"),
    ('eyes_below_nose', 'the nose tip is not below the middle of the eye '
     'centres'),
    ('mouth_above_nose', 'a lip centre (top or bottom) is not below the '
     'nose tip'),
    ('top_lip_below_bottom_lip', 'the top lip centre is not above the '
     'bottom lip centre'),
    ('keypoint_off_its_side', "a keypoint of the subject's left side is not "
     "right of the right eye centre, or one of the right side not left of "
     "the left eye centre (judged only when the eyes are in order)"),
    ('blank_image', 'pixel standard deviation below %g grey levels'
     % BLANK_STD),
    ('nearly_uniform_image', 'pixel standard deviation from %g to below %g '
     'grey levels' % (BLANK_STD, NEARLY_UNIFORM_STD)),
    ('mostly_flat_image', 'at least %d%% of the pixels within %d grey '
     'levels of one another (not blank)' % (100 * FLAT_SHARE, FLAT_BAND)),
])

_COLUMN = {name: i for i, name in enumerate(KEYPOINT_COLUMNS)}
_BLOCK_ROWS = 512  # images converted to float at once (bounds memory)


def _round(value):
    return round(float(value), 2)


def _check_arrays(keypoints, images):
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 2 or keypoints.shape[1] != len(KEYPOINT_COLUMNS):
        raise ValueError('keypoints must be (n, %d), not %s'
                         % (len(KEYPOINT_COLUMNS), keypoints.shape))
    if images is not None:
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise ValueError('images must be uint8 grey levels as read from '
                             'the CSV, not %s' % images.dtype)
        images = images.reshape(len(images), -1)
        if images.shape != (len(keypoints), N_PIXELS):
            raise ValueError('images must be (%d, %d), not %s' % (
                len(keypoints), N_PIXELS, images.shape))
    return keypoints, images


def check_method(method):
    """check_method(method)

    Refuse a method not in :data:`METHODS` (a one-line :class:`UserError`).

    >>> check_method('auto')
    >>> check_method('tidy')
    Traceback (most recent call last):
    ...
    errors.UserError: unknown --clean 'tidy'; valid: none, study, auto
    """
    if method not in METHODS:
        raise UserError('unknown --clean %r; valid: %s' % (
            method, ', '.join(METHODS)))


def check_kaggle_training(keypoints, source='the data'):
    """check_kaggle_training(keypoints, source='the data')

    Refuse a file that is not Kaggle's training.csv, where the study's row
    numbers mean nothing.

    Parameters
    ----------
    keypoints : float (n, 30)
        All rows of the file, NaN where missing.
    source : str
        The file's name, for the message.

    Raises
    ------
    DataError
        Not 7049 rows of 30 keypoints with 2140 complete.

    >>> import numpy as np
    >>> check_kaggle_training(np.zeros((3385, 30)), 'training.csv')
    Traceback (most recent call last):
    ...
    errors.DataError: training.csv: --clean study drops 15 rows of Kaggle's own training.csv ...
    """
    keypoints = np.asarray(keypoints)
    n = len(keypoints)
    complete = (int(np.isfinite(keypoints).all(axis=1).sum())
                if keypoints.ndim == 2 else 0)
    if (keypoints.shape[1:] != (len(KEYPOINT_COLUMNS),)
            or n != KAGGLE_TRAINING_ROWS or complete != KAGGLE_COMPLETE_ROWS):
        raise DataError(
            "%s: --clean study drops 15 rows of Kaggle's own training.csv "
            "(%d rows, %d with all 30 keypoints); this file has %d rows, %d "
            "complete, so the study's row numbers mean nothing in it (use "
            "--clean auto or --clean-list FILE)" % (
                source, KAGGLE_TRAINING_ROWS, KAGGLE_COMPLETE_ROWS, n,
                complete))


def study_flags(keypoints, source='the data'):
    """study_flags(keypoints, source='the data')

    ``{row: {}}`` for the study's 15 rows, after
    :func:`check_kaggle_training`.
    """
    check_kaggle_training(keypoints, source)
    return {row: {} for row in sorted(STUDY_BAD_ROWS)}


# ------------------------------------------------------------ the auto rules

def _column(keypoints, name):
    return keypoints[:, _COLUMN[name]]


def _values(keypoints, row, names):
    return {name: _round(keypoints[row, _COLUMN[name]]) for name in names}


def _duplicates(keypoints, images):
    """Both duplicate rules: {rule: {row: values}}."""
    same, conflicting = {}, {}
    first_of = {}
    for row in range(len(images)):
        key = hashlib.blake2b(images[row].tobytes(), digest_size=16).digest()
        first = first_of.setdefault(key, row)
        if first == row or not np.array_equal(images[first], images[row]):
            continue
        both = np.isfinite(keypoints[first]) & np.isfinite(keypoints[row])
        difference = np.abs(keypoints[row] - keypoints[first])
        difference[~both] = 0.0
        worst = int(np.argmax(difference))
        if difference[worst] > DUPLICATE_LABEL_TOLERANCE_PX:
            conflicting[row] = {
                'duplicate_of': first,
                'max_difference_px': _round(difference[worst]),
                'max_difference_column': KEYPOINT_COLUMNS[worst]}
        else:
            same[row] = {'duplicate_of': first}
    return {'duplicate_image': same, 'duplicate_conflicting_labels':
            conflicting}


def _flagged(keypoints, bad, names):
    return {int(row): _values(keypoints, row, names)
            for row in np.flatnonzero(bad)}


def _eyes_below_nose(keypoints):
    eyes_y = keypoints[:, [_COLUMN['left_eye_center_y'],
                           _COLUMN['right_eye_center_y']]]
    n_eyes = np.isfinite(eyes_y).sum(axis=1)
    # The middle of the eye centres present (one, when Kaggle lacks the
    # other); a row with neither is not judged.
    middle = np.where(n_eyes > 0, np.nansum(eyes_y, axis=1)
                      / np.maximum(n_eyes, 1), np.nan)
    nose_y = _column(keypoints, 'nose_tip_y')
    found = {}
    for row in np.flatnonzero(nose_y <= middle):
        found[int(row)] = {'nose_tip_y': _round(nose_y[row]),
                           'eye_centres_middle_y': _round(middle[row])}
    return found


def _mouth_above_nose(keypoints):
    nose_y = _column(keypoints, 'nose_tip_y')
    lips = ('mouth_center_top_lip_y', 'mouth_center_bottom_lip_y')
    found = {}
    for name in lips:
        for row in np.flatnonzero(_column(keypoints, name) <= nose_y):
            found.setdefault(int(row), _values(keypoints, row,
                                               ['nose_tip_y']))
            found[int(row)].update(_values(keypoints, row, [name]))
    return found


# keypoint_off_its_side: a left-side keypoint must lie right of the right eye
# centre, a right-side one left of the left eye centre, i.e. at most half the
# distance between the eye centres past the face's middle. The limit is the
# other eye, not a tuned number: the real faces of ../shared/data/ytf_kfkd,
# turned up to profile, cross the middle by at most 0.31 of that distance
# (an inner eyebrow end). These are the x columns of each side's keypoints,
# but the eye centre that is the other side's limit.
_LEFT_SIDE = tuple(c for c in KEYPOINT_COLUMNS if c.endswith('_x') and (
    c.startswith('left_') or c.startswith('mouth_left_'))
    and c != 'left_eye_center_x')
_RIGHT_SIDE = tuple(c for c in KEYPOINT_COLUMNS if c.endswith('_x') and (
    c.startswith('right_') or c.startswith('mouth_right_'))
    and c != 'right_eye_center_x')


def _keypoint_off_its_side(keypoints):
    left_eye = _column(keypoints, 'left_eye_center_x')
    right_eye = _column(keypoints, 'right_eye_center_x')
    in_order = left_eye > right_eye  # else left_eye_not_on_right says it
    found = {}
    for names, limit, wrong in (
            (_LEFT_SIDE, 'right_eye_center_x', np.less_equal),
            (_RIGHT_SIDE, 'left_eye_center_x', np.greater_equal)):
        for name in names:
            bad = in_order & wrong(_column(keypoints, name),
                                   _column(keypoints, limit))
            for row in np.flatnonzero(bad):
                found.setdefault(int(row), {})
                found[int(row)].update(_values(keypoints, row,
                                               [name, limit]))
    return found


def _image_rules(images):
    """The three image rules: {rule: {row: values}}."""
    blank, uniform, flat = {}, {}, {}
    for start in range(0, len(images), _BLOCK_ROWS):
        block = images[start:start + _BLOCK_ROWS]
        std = block.std(axis=1, dtype=np.float64)
        # Grey-level histogram of each row: one bincount over row offsets.
        m = len(block)
        counts = np.bincount(
            (block.astype(np.int64) + 256 * np.arange(m)[:, None]).ravel(),
            minlength=256 * m).reshape(m, 256)
        window = np.cumsum(np.pad(counts, ((0, 0), (1, 0))), axis=1)
        in_band = window[:, FLAT_BAND:] - window[:, :-FLAT_BAND]
        share = in_band.max(axis=1) / float(N_PIXELS)
        level = in_band.argmax(axis=1)
        for i in range(m):
            row = start + i
            if std[i] < BLANK_STD:
                blank[row] = {'pixel_std': _round(std[i])}
                continue
            if std[i] < NEARLY_UNIFORM_STD:
                uniform[row] = {'pixel_std': _round(std[i])}
            if share[i] >= FLAT_SHARE:
                flat[row] = {'flat_share': _round(share[i]),
                             'flat_levels': '%d-%d' % (
                                 level[i], level[i] + FLAT_BAND - 1)}
    return {'blank_image': blank, 'nearly_uniform_image': uniform,
            'mostly_flat_image': flat}


def auto_flags(keypoints, images):
    """auto_flags(keypoints, images)

    Every row each rule of :data:`AUTO_RULES` finds.

    Parameters
    ----------
    keypoints : float (n, 30)
        Pixels, NaN where missing.
    images : uint8 (n, 9216) or (n, 96, 96)

    Returns
    -------
    collections.OrderedDict
        rule -> {row: values}: every rule of :data:`AUTO_RULES`, in order,
        each with the rows it finds (possibly none) and, per row, the
        values it judged (pixels, grey levels, the row duplicated).

    >>> from data_prep.synthetic import make_faces
    >>> images, keypoints = make_faces(3, seed=0)
    >>> images[2] = images[0]
    >>> flags = auto_flags(keypoints, images)
    >>> flags['duplicate_conflicting_labels']
    {2: {'duplicate_of': 0, 'max_difference_px': ..., 'max_difference_column': ...}}
    >>> sum(len(rows) for rows in flags.values())
    1
    """
    keypoints, images = _check_arrays(keypoints, images)

    def k(name):
        return _column(keypoints, name)

    found = collections.OrderedDict()
    found.update(_duplicates(keypoints, images))
    found['left_eye_not_on_right'] = _flagged(
        keypoints, k('left_eye_center_x') <= k('right_eye_center_x'),
        ['left_eye_center_x', 'right_eye_center_x'])
    found['eyes_below_nose'] = _eyes_below_nose(keypoints)
    found['mouth_above_nose'] = _mouth_above_nose(keypoints)
    found['top_lip_below_bottom_lip'] = _flagged(
        keypoints,
        k('mouth_center_top_lip_y') >= k('mouth_center_bottom_lip_y'),
        ['mouth_center_top_lip_y', 'mouth_center_bottom_lip_y'])
    found['keypoint_off_its_side'] = _keypoint_off_its_side(keypoints)
    found.update(_image_rules(images))
    assert list(found) == list(AUTO_RULES)
    return found


# ------------------------------------------------------------ the clean list

def read_clean_list(path, n_rows):
    """read_clean_list(path, n_rows)

    The rows a person listed to drop.

    The file is text: one row number per line (0-based data rows, the
    ``row`` column of :mod:`data_prep.review`'s CSV); blank lines and lines
    starting with ``#`` are ignored. It may also be a CSV whose first line
    is a header with a ``row`` column (such as the review's own CSV, with
    the rows to keep deleted): then that column is read and the others are
    ignored.

    Parameters
    ----------
    path : str
    n_rows : int
        Data rows of the training file: every row listed must be below.

    Returns
    -------
    dict
        row -> ``{'clean_list_line': line}`` (the file's 1-based line).

    Raises
    ------
    DataError
        One line naming the file, the line and the problem: not a row
        number, a row past the file's last, a row listed twice, an
        unreadable file.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, 'drop.txt')
    >>> _ = open(path, 'w').write('# blurry\\n12\\n\\n7\\n')
    >>> read_clean_list(path, 20)
    {7: {'clean_list_line': 4}, 12: {'clean_list_line': 2}}
    >>> _ = open(path, 'w').write('12\\n25\\n')
    >>> read_clean_list(path, 20)
    Traceback (most recent call last):
    ...
    errors.DataError: ...drop.txt line 2: row 25 is past the last data row (19) of the ...file
    """
    try:
        with open(path, 'rb') as handle:
            raw = handle.read()
    except OSError as e:
        raise DataError('--clean-list %s: cannot be read (%s)' % (
            path, e.strerror or e))
    try:
        text = raw.decode('utf-8-sig')
    except UnicodeDecodeError:
        raise DataError('--clean-list %s: not a text file of row numbers'
                        % path)
    rows, column, header = {}, None, False
    for number, fields in enumerate(csv.reader(io.StringIO(text)), 1):
        if not fields or not ''.join(fields).strip():
            continue
        if fields[0].lstrip().startswith('#'):
            continue
        if column is None:
            names = [f.strip().lower() for f in fields]
            header = 'row' in names
            column = names.index('row') if header else 0
            if header:
                continue
        if not header and len(fields) > 1:
            raise DataError('%s line %d: %r holds more than a row number '
                            '(one row number a line, or a CSV with a row '
                            'column)' % (path, number, ','.join(fields)))
        field = fields[column].strip() if column < len(fields) else ''
        if not re.fullmatch(r'\d+', field):
            raise DataError('%s line %d: %r is not a row number (0-based '
                            'data rows of the training file, as the review '
                            'CSV\'s row column)' % (path, number, field))
        row = int(field)
        if row >= n_rows:
            raise DataError('%s line %d: row %d is past the last data row '
                            '(%d) of the training file' % (
                                path, number, row, n_rows - 1))
        if row in rows:
            raise DataError('%s line %d: row %d is listed twice (first on '
                            'line %d)' % (path, number, row,
                                          rows[row]['clean_list_line']))
        rows[row] = {'clean_list_line': number}
    return dict(sorted(rows.items()))


# --------------------------------------------------------------- selection

def select(keypoints, images, method='none', clean_list=None,
           source='the data'):
    """select(keypoints, images, method='none', clean_list=None, source='the data')

    The rows to keep and a record of each row dropped.

    Parameters
    ----------
    keypoints : float (n, 30)
        Every row of the training file (before any selection of complete
        rows), pixels, NaN where missing.
    images : uint8 (n, 9216) or (n, 96, 96), or None
        The same rows' grey levels; only ``auto`` reads them (None will do
        for the others).
    method : {'none', 'study', 'auto'}
        See the module's description.
    clean_list : str or None
        A file of rows to drop besides (see :func:`read_clean_list`).
    source : str
        The data file's name, for messages.

    Returns
    -------
    keep : int64 (m,)
        The rows kept, ascending: ``images[keep]``, ``keypoints[keep]``.
    dropped : list of dict
        One per dropped row, ascending: ``row`` (0-based data row),
        ``image_id`` (row + 1), ``rules`` (the names that dropped it:
        those of :data:`AUTO_RULES`, ``study_bad_row``, ``clean_list``) and
        ``values`` (what they judged: numbers and names, JSON-ready).

    Raises
    ------
    UserError
        Unknown method.
    DataError
        ``study`` on a file that is not Kaggle's training.csv; a bad
        clean list.
    """
    check_method(method)
    keypoints, images = _check_arrays(
        keypoints, images if method == 'auto' else None)
    flags = collections.OrderedDict()
    if method == 'study':
        flags['study_bad_row'] = study_flags(keypoints, source)
    elif method == 'auto':
        flags.update(auto_flags(keypoints, images))
    if clean_list is not None:
        flags['clean_list'] = read_clean_list(clean_list, len(keypoints))
    records = {}
    for rule, rows in flags.items():
        for row, values in rows.items():
            record = records.setdefault(row, {
                'row': int(row), 'image_id': int(row) + 1, 'rules': [],
                'values': {}})
            record['rules'].append(rule)
            record['values'].update(values)
    dropped = [records[row] for row in sorted(records)]
    keep = np.setdiff1d(np.arange(len(keypoints), dtype=np.int64),
                        np.array(sorted(records), dtype=np.int64))
    return keep, dropped


def count_rules(dropped):
    """count_rules(dropped)

    ``{rule: rows}`` of :func:`select`'s records, in the order first met.

    >>> count_rules([{'rules': ['blank_image']},
    ...              {'rules': ['blank_image', 'duplicate_image']}])
    {'blank_image': 2, 'duplicate_image': 1}
    """
    counts = collections.OrderedDict()
    for record in dropped:
        for rule in record['rules']:
            counts[rule] = counts.get(rule, 0) + 1
    return dict(counts)
