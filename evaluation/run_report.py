"""The pictures and error table of a run folder.

:func:`write_run_report` is the one entry point: ``training/run.py`` calls
it when a run ends and ``predict.py show RUN`` calls it on demand. From the
run's ``valid_predictions.csv`` (true and predicted keypoints in pixels of
the validation rows, and each row's index in the run's shuffled data) and
the validation images, reloaded as the run loaded them (``manifest.json``:
data, preprocess, labels, limit; checked by SHA-256), it writes::

    <run>/faces_valid.png     the first 16 validation faces, true and predicted
    <run>/worst16.png         the 16 validation faces with the largest RMSE
    <run>/keypoint_rmse.png   RMSE per keypoint, beside the mean baseline
    <run>/errors.csv          keypoint,rmse_px,baseline_rmse_px,n (+ overall)
    <run>/errors.md           the same as a Markdown table

The baseline predicts the mean keypoints of the run's training rows (the
rows not held out), as ``metrics.json``'s ``baseline_rmse_px``.
"""
import os

import numpy as np
import pandas as pd

from errors import UserError
from data_prep.keypoints import KEYPOINT_COLUMNS
from data_prep.scaling import unscale_targets
from evaluation.metrics import error_table
from evaluation.pictures import face_grid, keypoint_rmse_chart, worst_faces

REPORT_FILES = ('faces_valid.png', 'worst16.png', 'keypoint_rmse.png',
                'errors.csv', 'errors.md')

#: Largest difference (px) tolerated between valid_predictions.csv's true
#: keypoints (written with 4 decimals) and the reloaded data's.
_SAME_DATA_PX = 0.01


def read_valid_predictions(path):
    """read_valid_predictions(path)

    A run's ``valid_predictions.csv``.

    Returns
    -------
    rows : int64 (n,)
        Each validation face's index in the run's shuffled data.
    y_true, y_pred : float64 (n, 30)
        Keypoints in pixels (NaN where the truth is missing).

    Raises
    ------
    UserError
        Missing file or columns.
    """
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise UserError('%s is not a readable valid_predictions.csv (%s)'
                        % (path, e))
    wanted = (['row'] + list(KEYPOINT_COLUMNS)
              + ['%s_pred' % c for c in KEYPOINT_COLUMNS])
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise UserError('%s lacks column %s' % (path, ', '.join(missing[:3])))
    if len(table) == 0:
        raise UserError('%s has no rows' % path)
    return (table['row'].to_numpy(dtype=np.int64),
            table[list(KEYPOINT_COLUMNS)].to_numpy(dtype=np.float64),
            table[wanted[31:]].to_numpy(dtype=np.float64))


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
        Keypoints in pixels (NaN where missing).

    Raises
    ------
    UserError
        The data cannot be read, or is not the data the run used (SHA-256).
    """
    from training.run import load_training_data
    info = manifest['data']
    dataset, X, y = load_training_data(data or info['path'],
                                       manifest.get('preprocess', 'none'),
                                       manifest.get('labels', 'complete'),
                                       info.get('limit'))
    if info.get('sha256') and dataset.sha256 != info['sha256']:
        raise UserError('%s is not the data the run used (SHA-256 %s, the run '
                        'used %s)' % (dataset.path, dataset.sha256[:12],
                                      info['sha256'][:12]))
    y_px = unscale_targets(y.astype(np.float64))
    if dataset.mask is not None:
        y_px = np.where(dataset.mask[:len(y_px)], y_px, np.nan)
    return X, y_px


def _write_text(text, path):
    tmp = '%s.tmp-%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


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
    from training.run import read_manifest
    manifest = read_manifest(run_folder)
    rows, y_true, y_pred = read_valid_predictions(
        os.path.join(run_folder, 'valid_predictions.csv'))
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
    training_rows = np.setdiff1d(np.arange(len(X)), rows)
    table = error_table(y_true, y_pred, y_px[training_rows])
    images = X[rows]
    name = '%s (%s)' % (manifest.get('net', '?'),
                        os.path.basename(os.path.normpath(run_folder)))
    paths = {f: os.path.join(run_folder, f) for f in REPORT_FILES}

    shown = min(16, len(rows))
    face_grid(images[:shown], y_true[:shown], y_pred[:shown],
              paths['faces_valid.png'],
              titles=['row %d' % r for r in rows[:shown]],
              suptitle='%s: validation faces (o true, x predicted; red = '
              'subject\'s left, blue = right, green = centre)' % name)
    worst_faces(images, y_true, y_pred, paths['worst16.png'], rows=rows,
                name=name)
    keypoint_rmse_chart(table, paths['keypoint_rmse.png'],
                        title='%s: validation RMSE per keypoint (%d faces)'
                        % (name, len(rows)))
    tmp = '%s.tmp-%d' % (paths['errors.csv'], os.getpid())
    table.to_csv(tmp, float_format='%.4f')
    os.replace(tmp, paths['errors.csv'])
    _write_text(errors_markdown(
        table, '%s: validation error in pixels of 96' % name),
        paths['errors.md'])
    paths['table'] = table
    return paths
