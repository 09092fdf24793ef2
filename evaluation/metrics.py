"""Errors of predicted keypoints, in pixels of the 96x96 image.

Kaggle scores the root mean squared error over every (image, column) pair
it asks for; the same figure per column says which keypoint is hard. The
baseline predicts the training rows' mean keypoints for every image, the
floor any net must beat. A keypoint missing from the truth (NaN) counts
nowhere.

>>> y_true = np.array([[10.0, 20.0], [14.0, np.nan]])
>>> y_pred = np.array([[13.0, 24.0], [10.0, 50.0]])
>>> keypoint_rmse(y_true, y_pred)
array([3.53553391, 4.        ])
>>> round(overall_rmse(y_true, y_pred), 4)
3.6968
>>> image_rmse(y_true, y_pred)
array([3.53553391, 4.        ])
"""
import numpy as np
import pandas as pd

from data_prep.keypoints import KEYPOINT_COLUMNS


def _squared_errors(y_true, y_pred):
    """float64 squared errors, NaN where the truth is missing."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError('true and predicted keypoints differ in shape: %s '
                         'and %s' % (y_true.shape, y_pred.shape))
    return (y_pred - y_true) ** 2


def _rmse(squared, axis=None):
    counts = np.sum(np.isfinite(squared), axis=axis)
    sums = np.nansum(squared, axis=axis)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.sqrt(sums / counts)


def keypoint_rmse(y_true, y_pred):
    """keypoint_rmse(y_true, y_pred)

    RMSE of each column (keypoint coordinate) over the images.

    Parameters
    ----------
    y_true, y_pred : array (n, k)
        Keypoints in pixels; NaN in ``y_true`` where a keypoint is missing.

    Returns
    -------
    float64 array (k,); NaN for a column no image has.
    """
    return _rmse(_squared_errors(y_true, y_pred), axis=0)


def overall_rmse(y_true, y_pred):
    """overall_rmse(y_true, y_pred)

    RMSE over every present (image, column) pair, as Kaggle scores.
    """
    return float(_rmse(_squared_errors(y_true, y_pred)))


def image_rmse(y_true, y_pred):
    """image_rmse(y_true, y_pred)

    RMSE of each image over its present columns: float64 (n,).
    """
    return _rmse(_squared_errors(y_true, y_pred), axis=1)


def mean_keypoints(y_train):
    """mean_keypoints(y_train)

    The baseline's prediction: each column's mean over the training rows
    that have it, float64 (k,).

    >>> mean_keypoints([[1.0, np.nan], [3.0, 5.0]])
    array([2., 5.])
    """
    return np.nanmean(np.asarray(y_train, dtype=np.float64), axis=0)


def error_table(y_true, y_pred, y_train, columns=KEYPOINT_COLUMNS):
    """error_table(y_true, y_pred, y_train, columns=KEYPOINT_COLUMNS)

    RMSE per column and overall, beside the mean-keypoint baseline.

    Parameters
    ----------
    y_true, y_pred : array (n, k)
        Validation keypoints in pixels, true (NaN where missing) and
        predicted.
    y_train : array (m, k)
        Training keypoints in pixels; their mean is the baseline.
    columns : sequence of str
        Names of the k columns.

    Returns
    -------
    pandas.DataFrame
        Index: the columns, then ``overall``; columns ``rmse_px``,
        ``baseline_rmse_px``, ``n`` (how many images have that keypoint).

    >>> table = error_table([[1.0, 2.0]], [[1.0, 4.0]], [[0.0, 2.0]],
    ...                     columns=('a_x', 'a_y'))
    >>> table.loc['overall', 'rmse_px'], table.loc['a_x', 'baseline_rmse_px']
    (1.4142135623730951, 1.0)
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    baseline = np.broadcast_to(mean_keypoints(y_train), y_true.shape)
    table = pd.DataFrame({
        'rmse_px': keypoint_rmse(y_true, y_pred),
        'baseline_rmse_px': keypoint_rmse(y_true, baseline),
        'n': np.isfinite(y_true).sum(axis=0),
    }, index=pd.Index(list(columns), name='keypoint'))
    table.loc['overall'] = [overall_rmse(y_true, y_pred),
                            overall_rmse(y_true, baseline),
                            int(np.isfinite(y_true).sum())]
    table['n'] = table['n'].astype(int)
    return table
