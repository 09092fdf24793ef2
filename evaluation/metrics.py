"""Errors of predicted keypoints, in pixels of the 96x96 image.

Kaggle scores the root mean squared error over every (image, column) pair
it asks for; the same figure per column says which keypoint is hard. The
baseline predicts the training rows' mean keypoints for every image, the
floor any net must beat. A keypoint missing from the truth (NaN) counts
nowhere. A net's losses are in the scaled units it trains on
(``data_prep.scaling``: (y - 48) / 48); :func:`rmse_px` and
:func:`validation_metrics` turn them into pixels, here only.

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
from data_prep.scaling import unscale_targets

#: Pixels per unit of the scaled targets (48: ``unscale_targets`` is
#: y * 48 + 48), so an MSE of scaled targets is (RMSE in px / 48) ** 2.
PX_PER_TARGET_UNIT = float(unscale_targets(1.0) - unscale_targets(0.0))


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


def rmse_px(mse):
    """rmse_px(mse)

    The RMSE in pixels of an MSE on scaled targets (nolearn's loss).

    >>> rmse_px(0.00107)  # the study's final solution
    1.570...
    """
    return float(np.sqrt(mse) * PX_PER_TARGET_UNIT)


def validation_metrics(y_valid, y_pred, y_train):
    """validation_metrics(y_valid, y_pred, y_train)

    The validation figures of a run's ``metrics.json``.

    Parameters
    ----------
    y_valid, y_pred : array (n, k)
        True and predicted targets of the validation rows, scaled as the
        net trains on them (``k`` columns: 30, or a sparse run's 8); NaN
        in `y_valid` where a keypoint is missing.
    y_train : array (m, k)
        Scaled targets of the training rows (NaN where missing); their
        mean is the baseline.

    Returns
    -------
    dict
        ``valid_mse`` (scaled, as nolearn logs the loss: the mean over the
        labelled coordinates), ``valid_rmse_px``, ``baseline_mse``,
        ``baseline_rmse_px`` (predicting the training rows' mean keypoints
        for every validation image), ``n_train``, ``n_valid``,
        ``valid_labelled`` (labelled validation coordinates, those the
        figures are over) and ``valid_coordinates`` (all of them).

    >>> m = validation_metrics([[0.0, 0.5]], [[0.0, 0.25]], [[0.0, 0.0]])
    >>> [round(m[k], 4) for k in ('valid_mse', 'valid_rmse_px', 'baseline_rmse_px')]
    [0.0313, 8.4853, 16.9706]
    """
    y_valid = np.asarray(y_valid)
    mse = overall_rmse(y_valid, y_pred) ** 2
    baseline = overall_rmse(y_valid, np.broadcast_to(mean_keypoints(y_train),
                                                     y_valid.shape)) ** 2
    return {'valid_mse': mse, 'valid_rmse_px': rmse_px(mse),
            'baseline_mse': baseline, 'baseline_rmse_px': rmse_px(baseline),
            'n_train': int(len(y_train)), 'n_valid': int(len(y_valid)),
            'valid_labelled': int(np.isfinite(y_valid).sum()),
            'valid_coordinates': int(y_valid.size)}


def evaluate(net, X, y, valid_rows):
    """evaluate(net, X, y, valid_rows)

    A trained net's predictions of its validation rows and the figures of
    ``metrics.json`` (:func:`validation_metrics`).

    Parameters
    ----------
    net : nolearn.lasagne.NeuralNet
        Trained (anything with ``predict(X)`` of scaled targets).
    X, y : ndarray
        Every row the net saw, shaped for it, and their scaled targets
        (NaN where missing: those count nowhere).
    valid_rows : array of int
        The rows it held out; the others are the training rows.

    Returns
    -------
    metrics : dict
    y_valid_px, y_pred_px : ndarray
        True and predicted keypoints of the validation rows, in pixels.
    """
    valid = np.zeros(len(y), dtype=bool)
    valid[valid_rows] = True
    y_valid, y_pred = y[valid], net.predict(X[valid])
    metrics = validation_metrics(y_valid, y_pred, y[~valid])
    return metrics, unscale_targets(y_valid), unscale_targets(y_pred)
