"""A trained run judged on any labelled file in Kaggle's ``training.csv`` format.

:func:`evaluate_file` predicts every face of the file with the run's net and
its own preprocessing (``manifest.json``'s ``preprocess``), and scores the
labelled coordinates only (an empty cell, NaN, counts nowhere:
:mod:`evaluation.metrics`). The baseline predicts, for every face, the mean
keypoints of the rows the run trained on (its own data and split, reloaded
as it loaded them: :func:`evaluation.run_report.run_training_keypoints`).
It writes a new folder, by default ``<run>/eval-<file's stem>`` (``-2``,
``-3``... when taken; an earlier evaluation is never overwritten)::

    evaluation.json    overall RMSE and baseline in pixels, per keypoint,
                       the file (path, SHA-256, rows) and the run
    errors.csv         keypoint,rmse_px,baseline_rmse_px,n (+ overall)
    errors.md          the same as a Markdown table
    predictions.csv    row (0-based, in the file's order), image_id (the
                       1-based data row), true and predicted keypoints
    keypoint_rmse.png  RMSE per keypoint beside the baseline
    worst16.png        the 16 faces with the largest RMSE

The folder is filled aside and renamed into place, so a failure leaves
none. ``predict.py evaluate RUN --data FILE`` is the command line.
"""
import os

import numpy as np

from data_prep.dataset import column_indices, load_dataset
from data_prep.keypoints import KEYPOINT_COLUMNS
from data_prep.scaling import unscale_targets
from errors import UserError
from evaluation.metrics import error_table
from evaluation.pictures import keypoint_rmse_chart, worst_faces
from evaluation.run_report import errors_markdown, run_training_keypoints
from evaluation.trained_net import load_trained_net, predict_px
from run_folder import (atomic_folder, atomic_open, atomic_path, check_new_folder,
                        free_folder, manifest_columns, read_manifest, write_json,
                        write_valid_predictions)

__all__ = ['FILES', 'default_eval_folder', 'load_labelled_file',
           'evaluate_file']

#: The files of an evaluation folder.
FILES = ('evaluation.json', 'errors.csv', 'errors.md', 'predictions.csv',
         'keypoint_rmse.png', 'worst16.png')


def default_eval_folder(run_folder, data_path):
    """default_eval_folder(run_folder, data_path)

    ``<run>/eval-<stem of the data file>``, with ``-2``, ``-3``... appended
    when that folder already exists.

    >>> default_eval_folder('runs/net6-x', 'data/training.zip')
    'runs/net6-x/eval-training'
    """
    stem = os.path.splitext(os.path.basename(os.fspath(data_path)))[0]
    return free_folder(os.path.join(os.fspath(run_folder), 'eval-%s' % stem))


def load_labelled_file(data, preprocess='none'):
    """load_labelled_file(data, preprocess='none')

    Every row of a labelled file, in the file's order, as a net sees it.

    Parameters
    ----------
    data : str
        A ``training.csv``-format file (or its zip), a folder holding one,
        or ``'synthetic'``; read by ``data_prep.dataset.load_dataset``.
    preprocess : str
        The run's preprocessing.

    Returns
    -------
    dataset : data_prep.dataset.Dataset
    y_px : float64 (n, 30)
        Keypoints in pixels, NaN where the file leaves them empty.

    Raises
    ------
    DataError
        Missing, malformed or not a ``training.csv``-format file (a
        ``test.csv``, a wrong pixel count, not a CSV); one line.
    UserError
        A file without a single labelled keypoint.
    """
    dataset = load_dataset(data, kind='training', labels='all',
                           preprocess=preprocess, shuffle_seed=None)
    y_px = np.where(dataset.mask, unscale_targets(dataset.y.astype(np.float64)),
                    np.nan)
    if not np.isfinite(y_px).any():
        raise UserError('%s holds no labelled keypoint to evaluate on'
                        % dataset.path)
    return dataset, y_px


def evaluate_file(run_folder, data, out=None, run_data=None):
    """evaluate_file(run_folder, data, out=None, run_data=None)

    Judge the run on a labelled file and write the evaluation folder (see
    the module's doc).

    Parameters
    ----------
    run_folder : str
        A folder written by ``training/run.py``.
    data : str
        The labelled file, or a folder holding ``training.csv`` (or
        ``training.zip``).
    out : str or None
        The folder to write; must not exist or be empty. None:
        :func:`default_eval_folder`.
    run_data : str or None
        Where the run's own training data is now, when it moved (for the
        baseline).

    Returns
    -------
    dict
        ``folder`` (written), ``table`` (``evaluation.metrics.error_table``)
        and ``summary`` (what ``evaluation.json`` holds).

    Raises
    ------
    UserError
        Not a run folder, a file of the wrong kind or shape, the run's data
        missing or changed, a taken ``out``.
    """
    manifest = read_manifest(run_folder)
    if out is not None:
        check_new_folder(out, 'evaluation', 'choose another folder',
                         name='--out %s' % out)
    preprocess = manifest.get('preprocess', 'none')
    dataset, y_true = load_labelled_file(data, preprocess)
    y_train = run_training_keypoints(run_folder, run_data)
    net, _ = load_trained_net(run_folder)
    y_pred = predict_px(net, dataset.X)
    if y_pred.shape != y_true.shape:
        raise UserError('%s predicts %d values per face; evaluate compares '
                        'all %d keypoint coordinates'
                        % (run_folder, y_pred.shape[1], len(KEYPOINT_COLUMNS)))
    # A --labels sparse run is judged on the 8 columns it predicts.
    columns = manifest_columns(manifest)
    kept = column_indices(columns)
    if not np.isfinite(y_true[:, kept]).any():
        raise UserError('%s labels none of the %d keypoint columns %s '
                        'predicts (%s, ...): nothing to evaluate on'
                        % (dataset.path, len(columns), run_folder, columns[0]))
    table = error_table(y_true[:, kept], y_pred[:, kept], y_train[:, kept],
                        columns=columns)
    folder = out or default_eval_folder(run_folder, dataset.path)
    name = '%s (%s)' % (manifest.get('net', '?'),
                        os.path.basename(os.path.normpath(run_folder)))
    overall = table.loc['overall']
    summary = {
        'run': os.path.abspath(run_folder), 'net': manifest.get('net'),
        'preprocess': preprocess,
        'data': {'path': (dataset.path if dataset.path == 'synthetic'
                          else os.path.abspath(dataset.path)),
                 'sha256': dataset.sha256, 'rows': int(len(y_true)),
                 'labelled_coordinates': int(np.isfinite(y_true[:, kept]).sum()),
                 'complete_rows': int(np.isfinite(y_true).all(axis=1).sum()),
                 'is_the_run_s_own_data': dataset.sha256
                 == (manifest.get('data') or {}).get('sha256')},
        'rmse_px': float(overall['rmse_px']),
        'baseline_rmse_px': float(overall['baseline_rmse_px']),
        'baseline': 'the mean keypoints of the %d rows the run trained on'
                    % len(y_train),
        'per_keypoint': {column: {'rmse_px': float(row['rmse_px']),
                                  'baseline_rmse_px':
                                      float(row['baseline_rmse_px']),
                                  'n': int(row['n'])}
                         for column, row in table.drop(index='overall')
                         .iterrows()},
    }
    os.makedirs(os.path.dirname(os.path.abspath(folder)), exist_ok=True)
    with atomic_folder(folder) as tmp:
        paths = {f: os.path.join(tmp, f) for f in FILES}
        write_json(paths['evaluation.json'], summary)
        with atomic_path(paths['errors.csv']) as path:
            table.to_csv(path, float_format='%.4f')
        with atomic_open(paths['errors.md']) as f:
            f.write(errors_markdown(table, '%s on %s: RMSE in pixels of 96'
                                    % (name, os.path.basename(dataset.path))))
        write_valid_predictions(paths['predictions.csv'],
                                np.arange(len(y_true)), dataset.image_ids,
                                y_true, y_pred)
        keypoint_rmse_chart(table, paths['keypoint_rmse.png'],
                            title='%s on %s: RMSE per keypoint (%d faces)'
                            % (name, os.path.basename(dataset.path),
                               len(y_true)))
        worst_faces(dataset.X, y_true, y_pred, paths['worst16.png'],
                    rows=dataset.image_ids,
                    name='%s on %s (data rows)'
                    % (name, os.path.basename(dataset.path)))
    return {'folder': folder, 'table': table, 'summary': summary}
