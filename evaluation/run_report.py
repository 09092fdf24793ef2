"""The pictures and error table of a run folder.

:func:`write_run_report` is the one entry point: ``training/run.py`` calls
it when a run ends and ``predict.py show RUN`` calls it on demand. From the
run's ``valid_predictions.csv`` (true and predicted keypoints in pixels of
the validation rows, and each row's index in the run's shuffled data) and
the validation images, reloaded as the run loaded them (``manifest.json``:
data, preprocess, labels, cleaning, limit; checked by SHA-256), it writes::

    <run>/faces_valid.png     the first 16 validation faces, true and predicted
    <run>/worst16.png         the 16 validation faces with the largest RMSE
    <run>/keypoint_rmse.png   RMSE per keypoint, beside the mean baseline
    <run>/errors.csv          keypoint,rmse_px,baseline_rmse_px,n (+ overall)
    <run>/errors.md           the same as a Markdown table

The baseline predicts the mean keypoints of the run's training rows (the
rows not held out), as ``metrics.json``'s ``baseline_rmse_px``. Errors are
over the labelled coordinates of the columns the run predicts (its
manifest's ``columns``: 8 for a sparse run); the faces' titles count the
keypoints a face lacks, which are not drawn.
"""
import os

import numpy as np

from errors import UserError
from data_prep.dataset import (column_indices, expand_columns,
                               load_training_data)
from data_prep.scaling import unscale_targets
from evaluation.metrics import error_table
from evaluation.pictures import (face_grid, keypoint_rmse_chart,
                                 missing_points, worst_faces)
from run_folder import (REPORT_FILES, VALID_PREDICTIONS, atomic_open,
                        atomic_path, manifest_cleaning, manifest_columns,
                        read_manifest, read_valid_predictions, run_path)

#: Largest difference (px) tolerated between valid_predictions.csv's true
#: keypoints (written with 4 decimals) and the reloaded data's.
_SAME_DATA_PX = 0.01


def load_run_data(manifest, data=None):
    """load_run_data(manifest, data=None)

    The rows a run trained and validated on, as it loaded them.

    Parameters
    ----------
    manifest : dict
        The run's ``manifest.json``.
    data : str or None
        Where the data is now, when it moved; default: where the run read it.

    Returns
    -------
    X : float32 (n, 1, 96, 96)
        Images after the run's preprocessing.
    y_px : float64 (n, 30)
        Keypoints in pixels in Kaggle's 30 columns, NaN where missing and
        in the columns the run does not predict.

    Raises
    ------
    UserError
        The data cannot be read, is not the data the run used (SHA-256), or
        its cleaning drops other rows now.
    """
    info = manifest['data']
    _, X, y = load_training_data(data or info['path'],
                                 manifest.get('preprocess', 'none'),
                                 manifest.get('labels', 'complete'),
                                 info.get('limit'), info.get('sha256'),
                                 **manifest_cleaning(manifest))
    return X, expand_columns(unscale_targets(y.astype(np.float64)),
                             manifest_columns(manifest))


def training_rows(n_rows, valid_rows):
    """training_rows(n_rows, valid_rows)

    The rows a run trained on: of its `n_rows`, those it did not hold out.

    >>> training_rows(6, [2, 3]).tolist()
    [0, 1, 4, 5]
    """
    return np.setdiff1d(np.arange(n_rows), valid_rows)


def run_training_keypoints(run_folder, data=None):
    """run_training_keypoints(run_folder, data=None)

    The keypoints of the rows a run trained on, in pixels (NaN where
    missing): the rows it loaded (:func:`load_run_data`) but those of its
    ``valid_predictions.csv``. Their mean is the run's mean-keypoint
    baseline.

    Parameters
    ----------
    data : str or None
        Where the run's data is now, when it moved.

    Raises
    ------
    UserError
        Not a run folder, no ``valid_predictions.csv``, data missing or not
        the run's.
    """
    manifest = read_manifest(run_folder)
    rows, _, _ = read_valid_predictions(run_path(run_folder,
                                                 VALID_PREDICTIONS))
    _, y_px = load_run_data(manifest, data)
    return y_px[training_rows(len(y_px), rows)]


def errors_markdown(table, title):
    """errors_markdown(table, title)

    The error table as Markdown: one row per keypoint, then ``overall``.

    >>> import pandas as pd
    >>> t = pd.DataFrame({'rmse_px': [1.0, 1.0], 'baseline_rmse_px': [2.0, 2.0],
    ...                   'n': [5, 5]}, index=['nose_tip_x', 'overall'])
    >>> print(errors_markdown(t, 'net1'))
    # net1
    <BLANKLINE>
    | keypoint | RMSE (px) | mean-keypoint baseline (px) | n |
    |---|---:|---:|---:|
    | nose_tip_x | 1.00 | 2.00 | 5 |
    | **overall** | **1.00** | **2.00** | 5 |
    <BLANKLINE>
    """
    lines = ['# %s' % title, '',
             '| keypoint | RMSE (px) | mean-keypoint baseline (px) | n |',
             '|---|---:|---:|---:|']
    for name, row in table.iterrows():
        cells = ['%.2f' % row['rmse_px'], '%.2f' % row['baseline_rmse_px']]
        if name == 'overall':
            name, cells = '**overall**', ['**%s**' % c for c in cells]
        lines.append('| %s | %s | %s | %d |' % (name, cells[0], cells[1],
                                                row['n']))
    return '\n'.join(lines) + '\n'


def write_run_report(run_folder, data=None, loaded=None):
    """write_run_report(run_folder, data=None, loaded=None)

    Write the pictures and the error table of a run into its folder (see
    the module's doc).

    Parameters
    ----------
    run_folder : str
        A folder written by ``training/run.py``.
    data : str or None
        Where the run's data is now, when it moved.
    loaded : (X, y_px) or None
        The run's data as :func:`load_run_data` returns it, when the caller
        holds it already (``training/run.py`` at the end of a run); None
        reloads it.

    Returns
    -------
    dict
        ``name -> path`` of each file written, and ``'table'``: the error
        table (:func:`evaluation.metrics.error_table`).

    Raises
    ------
    UserError
        Not a run folder, no ``valid_predictions.csv``, data missing or not
        the run's.
    """
    manifest = read_manifest(run_folder)
    rows, y_true, y_pred = read_valid_predictions(
        run_path(run_folder, VALID_PREDICTIONS))
    X, y_px = loaded if loaded is not None else load_run_data(manifest, data)
    if rows.min() < 0 or rows.max() >= len(X):
        raise UserError('%s/valid_predictions.csv names row %d; the data has '
                        '%d rows' % (run_folder, rows.max(), len(X)))
    reloaded = y_px[rows]
    both = np.isfinite(reloaded) & np.isfinite(y_true)
    if (not np.array_equal(np.isfinite(reloaded), np.isfinite(y_true))
            or np.abs(reloaded[both] - y_true[both]).max(initial=0)
            > _SAME_DATA_PX):
        raise UserError('the reloaded data\'s keypoints differ from %s/'
                        'valid_predictions.csv: not the rows the run used'
                        % run_folder)
    columns = manifest_columns(manifest)
    kept = column_indices(columns)
    train = training_rows(len(X), rows)
    table = error_table(y_true[:, kept], y_pred[:, kept],
                        y_px[train][:, kept], columns=columns)
    images = X[rows]
    name = '%s (%s)' % (manifest.get('net', '?'),
                        os.path.basename(os.path.normpath(run_folder)))
    paths = {f: run_path(run_folder, f) for f in REPORT_FILES}

    shown = min(16, len(rows))
    missing = missing_points(y_true, y_pred)
    face_grid(images[:shown], y_true[:shown], y_pred[:shown],
              paths['faces_valid.png'],
              titles=['row %d%s' % (r, ', %d missing' % m if m else '')
                      for r, m in zip(rows[:shown], missing[:shown])],
              suptitle='%s: validation faces (o true, x predicted; red = '
              'subject\'s left, blue = right, green = centre)' % name)
    worst_faces(images, y_true, y_pred, paths['worst16.png'], rows=rows,
                name=name)
    keypoint_rmse_chart(table, paths['keypoint_rmse.png'],
                        title='%s: validation RMSE per keypoint (%d faces)'
                        % (name, len(rows)))
    with atomic_path(paths['errors.csv']) as tmp:
        table.to_csv(tmp, float_format='%.4f')
    with atomic_open(paths['errors.md']) as f:
        f.write(errors_markdown(
            table, '%s: validation error in pixels of 96' % name))
    paths['table'] = table
    return paths
