"""Kaggle submissions: predictions of ``test.csv`` through ``IdLookupTable.csv``.

Kaggle does not take all 30 keypoints of its 1783 test images: its
``IdLookupTable.csv`` (27124 rows of ``RowId,ImageId,FeatureName,Location``,
CRLF line endings, ``Location`` empty) names the (image, keypoint) pairs it
scores. A submission is ``RowId,Location`` for exactly those rows, in
RowId order, like ``SampleSubmission.csv``; Location is in pixels and is
clipped to [0, 96], where every keypoint lies.

:func:`write_submission` checks the finished table against the lookup
table before it writes anything, and writes through a temporary file, so a
file Kaggle would reject is never written and never replaces an earlier
one.

Two runs can share a submission, as the study separated its two label sets:
:func:`choose_runs` gives each test image to the run with the fewest
columns that predicts every feature the image's lookup rows ask for (a
``--labels sparse`` run answers the images that ask for its 8 only, a
30-column run the rest), :func:`combine_predictions` takes each image's
keypoints from its run, and :func:`write_answered_by` writes which run
answered which image beside the submission (the submission itself stays
``RowId,Location``).
"""
import csv
import os

import numpy as np
import pandas as pd

from errors import DataError, UserError
from data_prep.keypoints import KEYPOINT_COLUMNS, SIDE
from run_folder import atomic_open, atomic_path

LOOKUP_COLUMNS = ('RowId', 'ImageId', 'FeatureName')
SUBMISSION_COLUMNS = ('RowId', 'Location')

#: Rows of Kaggle's own lookup table (for messages; any size is accepted).
KAGGLE_ROWS = 27124


def read_lookup_table(path):
    """read_lookup_table(path)

    Read and check an ``IdLookupTable.csv`` (CRLF or LF line endings).

    Returns
    -------
    pandas.DataFrame
        ``RowId``, ``ImageId`` (int64) and ``FeatureName`` (str), in file
        order.

    Raises
    ------
    DataError
        Missing file or columns; a RowId that is not 1, 2, 3, ... in order;
        an ImageId that is not a positive integer; a FeatureName that is not
        one of Kaggle's 30 keypoint columns. The message names the line
        (header = line 1).
    """
    if not os.path.isfile(path):
        raise DataError('%s: no such file (Kaggle\'s IdLookupTable.csv is '
                        'needed to make a submission)' % path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError,
            UnicodeDecodeError) as e:
        raise DataError('%s: not a readable CSV (%s)' % (
            path, str(e).strip().splitlines()[-1] if str(e).strip() else e))
    table.columns = [c.strip() for c in table.columns]
    missing = [c for c in LOOKUP_COLUMNS if c not in table.columns]
    if missing:
        raise DataError('%s line 1: missing column %s (Kaggle\'s '
                        'IdLookupTable.csv has RowId,ImageId,FeatureName,'
                        'Location)' % (path, ', '.join(missing)))
    if len(table) == 0:
        raise DataError('%s: no rows after the header' % path)
    table = table[list(LOOKUP_COLUMNS)].apply(lambda s: s.str.strip())
    for column in ('RowId', 'ImageId'):
        ok = table[column].str.fullmatch(r'\d+').to_numpy()
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise DataError('%s line %d: %s is %r, not a positive integer'
                            % (path, row + 2, column, table[column].iloc[row]))
        table[column] = table[column].astype(np.int64)
    expected = np.arange(1, len(table) + 1)
    wrong = np.flatnonzero(table['RowId'].to_numpy() != expected)
    if wrong.size:
        row = int(wrong[0])
        raise DataError('%s line %d: RowId is %d, expected %d (RowIds must '
                        'run 1, 2, 3, ... in order)'
                        % (path, row + 2, table['RowId'].iloc[row],
                           expected[row]))
    known = table['FeatureName'].isin(KEYPOINT_COLUMNS).to_numpy()
    if not known.all():
        row = int(np.flatnonzero(~known)[0])
        raise DataError('%s line %d: FeatureName %r is not one of Kaggle\'s '
                        '30 keypoint columns' % (
                            path, row + 2, table['FeatureName'].iloc[row]))
    return table.reset_index(drop=True)


def make_submission(lookup, image_ids, y_pred_px):
    """make_submission(lookup, image_ids, y_pred_px)

    The ``RowId,Location`` table Kaggle takes.

    Parameters
    ----------
    lookup : pandas.DataFrame
        From :func:`read_lookup_table`.
    image_ids : array (n,)
        Kaggle's ImageId of each predicted image (``test.csv``'s column).
    y_pred_px : array (n, 30)
        Predicted keypoints in pixels, Kaggle's column order.

    Returns
    -------
    pandas.DataFrame
        ``RowId`` and ``Location`` (clipped to [0, 96]), one row per lookup
        row, in its order.

    Raises
    ------
    DataError
        The lookup table asks for an ImageId that was not predicted.

    >>> lookup = pd.DataFrame({'RowId': [1, 2], 'ImageId': [7, 7],
    ...                        'FeatureName': ['nose_tip_y', 'left_eye_center_x']})
    >>> y = np.zeros((1, 30)); y[0, 21] = 99.5; y[0, 0] = 66.25
    >>> make_submission(lookup, [7], y)
       RowId  Location
    0      1     96.00
    1      2     66.25
    """
    image_ids = np.asarray(image_ids, dtype=np.int64)
    y_pred_px = np.asarray(y_pred_px, dtype=np.float64)
    if y_pred_px.shape != (len(image_ids), len(KEYPOINT_COLUMNS)):
        raise ValueError('predictions have shape %s, expected (%d, %d)'
                         % (y_pred_px.shape, len(image_ids),
                            len(KEYPOINT_COLUMNS)))
    position = pd.Series(np.arange(len(image_ids)), index=image_ids)
    if not position.index.is_unique:
        duplicated = position.index[position.index.duplicated()][0]
        raise DataError('test images: ImageId %d appears more than once'
                        % duplicated)
    wanted = lookup['ImageId'].to_numpy()
    absent = ~np.isin(wanted, image_ids)
    if absent.any():
        missing = np.unique(wanted[absent])
        raise DataError('the lookup table asks for %d ImageId(s) the test '
                        'images lack (first: %d); is it the test.csv that '
                        'goes with this IdLookupTable.csv?'
                        % (len(missing), missing[0]))
    rows = position.loc[wanted].to_numpy()
    columns = pd.Index(KEYPOINT_COLUMNS).get_indexer(lookup['FeatureName'])
    location = np.clip(y_pred_px[rows, columns], 0.0, float(SIDE))
    return pd.DataFrame({'RowId': lookup['RowId'].to_numpy(),
                         'Location': location})


def check_submission(submission, lookup):
    """check_submission(submission, lookup)

    Refuse a submission Kaggle would reject: raise :class:`errors.UserError`
    unless it has exactly the columns ``RowId,Location``, one row per
    lookup row with the same RowIds in the same order, and every Location a
    finite number in [0, 96].
    """
    if tuple(submission.columns) != SUBMISSION_COLUMNS:
        raise UserError('submission has columns %s, Kaggle expects %s'
                        % (','.join(map(str, submission.columns)),
                           ','.join(SUBMISSION_COLUMNS)))
    if len(submission) != len(lookup):
        raise UserError('submission has %d rows, the lookup table %d'
                        % (len(submission), len(lookup)))
    row_ids = submission['RowId'].to_numpy()
    wrong = np.flatnonzero(row_ids != lookup['RowId'].to_numpy())
    if wrong.size:
        raise UserError('submission row %d has RowId %s, the lookup table %s'
                        % (wrong[0] + 1, row_ids[wrong[0]],
                           lookup['RowId'].iloc[wrong[0]]))
    location = pd.to_numeric(submission['Location'], errors='coerce')
    location = location.to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(location) | (location < 0)
                         | (location > SIDE))
    if bad.size:
        raise UserError('submission RowId %s has Location %r, not a number '
                        'in [0, %d]' % (row_ids[bad[0]],
                                        submission['Location'].iloc[bad[0]],
                                        SIDE))


def write_submission(submission, lookup, path):
    """write_submission(submission, lookup, path)

    Check ``submission`` (:func:`check_submission`) and write it to
    ``path`` as ``RowId,Location`` lines (``\\n`` endings, Location with 4
    decimals, like Kaggle's sample). The file is written beside ``path``
    under a temporary name, read back and checked again, and only then
    renamed to ``path``: a failure leaves any earlier file untouched.
    """
    check_submission(submission, lookup)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError('cannot write %s: folder %s does not exist'
                        % (path, folder))
    with atomic_path(path) as tmp:
        submission.to_csv(tmp, index=False, float_format='%.4f',
                          lineterminator='\n')
        check_submission(pd.read_csv(tmp), lookup)


def choose_runs(lookup, run_columns):
    """choose_runs(lookup, run_columns)

    Which run answers each image of the lookup table.

    Parameters
    ----------
    lookup : pandas.DataFrame
        From :func:`read_lookup_table`.
    run_columns : sequence of sequences of str
        The keypoint columns each run predicts, in the order the runs were
        given.

    Returns
    -------
    pandas.Series
        ImageId (ascending) -> index of the run that answers it: of the
        runs that predict every feature the image's rows ask for, the one
        with the fewest columns (the first given, of equals).

    Raises
    ------
    DataError
        An image asks for a feature no run predicts.

    >>> lookup = pd.DataFrame({'RowId': [1, 2, 3], 'ImageId': [1, 1, 2],
    ...     'FeatureName': ['nose_tip_x', 'left_eye_inner_corner_x',
    ...                     'nose_tip_y']})
    >>> choose_runs(lookup, [KEYPOINT_COLUMNS, ('nose_tip_x', 'nose_tip_y')])
    ImageId
    1    0
    2    1
    dtype: int64
    """
    images = lookup['ImageId'].to_numpy()
    order = sorted(range(len(run_columns)),
                   key=lambda i: (len(run_columns[i]), i))
    choice = pd.Series(-1, index=pd.Index(np.unique(images), name='ImageId'),
                       dtype=np.int64)
    for run in order:
        predicted = lookup['FeatureName'].isin(run_columns[run]).to_numpy()
        covered = pd.Series(predicted).groupby(images).all()
        take = covered.index[covered.to_numpy() & (choice[covered.index]
                                                   < 0).to_numpy()]
        choice[take] = run
    if (choice < 0).any():
        image = int(choice.index[(choice < 0).to_numpy()][0])
        asked = lookup.loc[lookup['ImageId'] == image, 'FeatureName']
        absent = [f for f in asked
                  if not any(f in columns for columns in run_columns)]
        raise DataError('the lookup table asks for %d image(s) no run can '
                        'answer (first: ImageId %d asks for %s, which no run '
                        'predicts); give a run that predicts all 30 '
                        'keypoints' % (int((choice < 0).sum()), image,
                                       absent[0]))
    return choice


def combine_predictions(image_ids, predictions, choice):
    """combine_predictions(image_ids, predictions, choice)

    Each test image's keypoints from the run that answers it.

    Parameters
    ----------
    image_ids : array (n,)
        Kaggle's ImageId of each predicted image.
    predictions : sequence of arrays (n, 30)
        Each run's keypoints in pixels for those images (NaN in a column
        the run does not predict).
    choice : pandas.Series
        From :func:`choose_runs`; an image it does not name (not asked for)
        takes the first run's.

    Returns
    -------
    float64 (n, 30)

    >>> a, b = np.zeros((2, 30)), np.ones((2, 30))
    >>> y = combine_predictions([5, 6], [a, b], pd.Series([1], index=[6]))
    >>> y[:, 0].tolist()
    [0.0, 1.0]
    """
    image_ids = np.asarray(image_ids, dtype=np.int64)
    runs = choice.reindex(image_ids).fillna(0).to_numpy(dtype=np.int64)
    stacked = np.stack([np.asarray(p, dtype=np.float64) for p in predictions])
    return stacked[runs, np.arange(len(image_ids))]


def answered_by_path(submission_path):
    """answered_by_path(submission_path)

    Where :func:`write_answered_by` writes, beside the submission.

    >>> answered_by_path('runs/net6/submission.csv')
    'runs/net6/submission_runs.csv'
    """
    return os.path.splitext(submission_path)[0] + '_runs.csv'


def write_answered_by(path, lookup, choice, runs):
    """write_answered_by(path, lookup, choice, runs)

    ``ImageId,run,rows``: for each image of the lookup table, the run that
    answered it (its folder as given) and how many lookup rows that is,
    atomically.

    Parameters
    ----------
    lookup : pandas.DataFrame
    choice : pandas.Series
        From :func:`choose_runs`.
    runs : sequence of str
        The runs' folders, in :func:`choose_runs`'s order.
    """
    rows = lookup.groupby('ImageId').size()
    with atomic_open(path, newline='') as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(['ImageId', 'run', 'rows'])
        for image, run in choice.items():
            writer.writerow([int(image), runs[run], int(rows[image])])
