"""Trained nets label the keypoints a training file lacks, where they agree.

Usage::

    python -m evaluation.pseudo_label RUN_OR_CV [RUN_OR_CV ...] --data DIR|FILE --out FILE
        [--threshold PX] [--no-mirror]

Every run given (a ``--cv K`` parent stands for its K fold runs) predicts
every face of the file, and each also predicts the mirrored face, its
prediction mirrored back (the study's own flip, x -> 96 - x with left and
right swapped, as the nets trained on). A missing keypoint is filled with
the mean of those predictions only where they agree: every prediction lies
within ``--threshold`` pixels of their mean (:func:`agreement`). The file
is written in ``training.csv``'s format (every row, the labels it had
untouched) with, beside it:

``<stem>.provenance.csv``
    One line per filled keypoint: ``row`` (0-based data row), ``image_id``
    (row + 1), ``keypoint``, the ``x``, ``y`` written and the ``spread_px``
    of the predictions.
``<stem>.provenance.json``
    The source runs and data, the threshold, the counts. A run trained on
    the file (``run_experiment.py NET --data FILE --labels all``) copies
    it into its manifest (``data.derived_from``: :mod:`data_prep.derived`).

Why here: it uses trained runs (:mod:`evaluation.trained_net`), as
``predict.py submit`` does; ``training/`` stays below ``evaluation/``.
A user error prints ``error: <message>`` and exits 2; ``FILE`` must not
exist, so nothing earlier is replaced.
"""
import argparse
import csv
import math
import os
import sys

import numpy as np

from data_prep.augment import flip
from data_prep.cache import load_kaggle_arrays
from data_prep.derived import sidecar_path, write_derived
from data_prep.kaggle_csv import write_training_lines
from data_prep.keypoints import FLIP_PAIRS, KEYPOINT_COLUMNS
from errors import UserError, command_line
from evaluation.evaluate_file import load_labelled_file
from evaluation.trained_net import load_trained_net, predict_px
from run_folder import (FINISHED_STATUSES, atomic_open, manifest_columns,
                        read_manifest, run_status)
from training import cv

__all__ = ['DEFAULT_THRESHOLD', 'POINTS', 'source_runs', 'mirror_back',
           'predictions', 'agreement', 'fill', 'pseudo_label', 'parser', 'main']

#: Pixels within which every prediction must lie of the mean to fill a
#: keypoint: about the study's final net's RMSE (1.6 px), so that a filled
#: keypoint is as sure as a good net's. Measured on real faces (README,
#: "Beyond the study"): with net1 labellers of 50 epochs (5.7 px RMSE) the
#: spread did not predict the filled keypoints' error (5.3 to 5.7 px at
#: every threshold), and 2 px filled 6.5% of the missing keypoints.
DEFAULT_THRESHOLD = 2.0

#: The 15 keypoint names (the x column without ``_x``).
POINTS = tuple(c[:-2] for c in KEYPOINT_COLUMNS[::2])


def source_runs(paths):
    """source_runs(paths)

    The run folders `paths` name, a cross-validation parent replaced by
    its folds, checked to be finished runs that predict all 30 keypoint
    columns with one preprocessing.

    Returns
    -------
    runs : list of str
    preprocess : str

    Raises
    ------
    UserError
        Not a run or CV folder, a run not finished, a ``--labels sparse``
        run, runs of different preprocessings.
    """
    runs = []
    for path in paths:
        if cv.is_cv_folder(path):
            n_folds = int(cv.read_cv_manifest(path)['folds'])
            runs += [cv.fold_folder(path, k) for k in range(1, n_folds + 1)]
        else:
            runs.append(os.fspath(path))
    preprocessings = {}
    for run in runs:
        manifest = read_manifest(run)
        status = run_status(run)
        if status not in FINISHED_STATUSES:
            raise UserError('%s is %s; pseudo-labels come from finished runs'
                            % (run, status))
        if tuple(manifest_columns(manifest)) != KEYPOINT_COLUMNS:
            raise UserError('%s predicts %d keypoint columns; filling needs '
                            'runs that predict all 30 (not --labels sparse)'
                            % (run, len(manifest_columns(manifest))))
        preprocessings.setdefault(manifest.get('preprocess', 'none'),
                                  []).append(run)
    if len(preprocessings) > 1:
        raise UserError('the runs were trained on different preprocessings '
                        '(%s); give runs of one'
                        % ', '.join(sorted(preprocessings)))
    return runs, next(iter(preprocessings))


def mirror_back(y_px):
    """mirror_back(y_px)

    Keypoints predicted on mirrored faces, in the unmirrored face's frame:
    :func:`data_prep.augment.flip`'s mapping (the study's, x -> 96 - x,
    left and right swapped), which is its own inverse.

    >>> y = np.full((1, 30), 50.0); y[0, 0], y[0, 2] = 60.0, 30.0
    >>> back = mirror_back(y)
    >>> float(back[0, 0]), float(back[0, 2]), float(back[0, 1])
    (66.0, 36.0, 50.0)
    """
    # flip's 'faithful' mapping (x -> -x scaled) in float64 pixels: flip
    # itself works in float32, which would blur the fill by 1e-7 px.
    back = np.array(y_px, dtype=np.float64)
    back[:, 0::2] = 96.0 - back[:, 0::2]
    for left, right in FLIP_PAIRS:
        back[:, [left, right]] = back[:, [right, left]]
    return back


def agreement(predictions, threshold=DEFAULT_THRESHOLD):
    """agreement(predictions, threshold=DEFAULT_THRESHOLD)

    Where several predictions of the same faces agree.

    Parameters
    ----------
    predictions : float (m, n, 30)
        `m` predictions (nets, mirrored or not) of `n` faces, in pixels.
    threshold : float
        Pixels.

    Returns
    -------
    mean : float64 (n, 30)
        The mean prediction.
    spread : float64 (n, 15)
        Per face and keypoint, the largest distance in pixels of a
        prediction from the mean point (NaN if any prediction is missing).
    agree : bool (n, 15)
        ``spread <= threshold``.

    >>> p = np.zeros((3, 1, 30)); p[2, 0, 0] = 3.0  # one net 3 px off in x
    >>> mean, spread, agree = agreement(p, threshold=2.0)
    >>> round(float(mean[0, 0]), 3), round(float(spread[0, 0]), 3)
    (1.0, 2.0)
    >>> bool(agree[0, 0]), bool(agree[0, 1])
    (True, True)
    >>> bool(agreement(p, threshold=1.9)[2][0, 0])
    False
    """
    predictions = np.asarray(predictions, dtype=np.float64)
    if predictions.ndim != 3 or predictions.shape[2] != len(KEYPOINT_COLUMNS):
        raise ValueError('predictions must be (m, n, 30), not %s'
                         % (predictions.shape,))
    if float(threshold) <= 0:
        raise UserError('threshold=%s: must be above 0 pixels' % threshold)
    mean = predictions.mean(axis=0)
    points = predictions.reshape(predictions.shape[:2] + (-1, 2))
    distance = np.sqrt(((points - mean.reshape(mean.shape[0], -1, 2)) ** 2)
                       .sum(axis=3))
    spread = distance.max(axis=0)  # NaN wherever one prediction is NaN
    with np.errstate(invalid='ignore'):
        agree = spread <= float(threshold)
    return mean, spread, agree


def fill(keypoints, mean, agree):
    """fill(keypoints, mean, agree)

    `keypoints` (n, 30, pixels, NaN where missing) with each missing point
    whose predictions agree set to their mean; a labelled point is never
    changed.

    Returns
    -------
    filled : float64 (n, 30)
    where : bool (n, 15)
        The points filled.

    >>> y = np.full((2, 30), np.nan); y[0] = 40.0
    >>> mean = np.full((2, 30), 41.0)
    >>> agree = np.ones((2, 15), bool); agree[1, 1] = False
    >>> filled, where = fill(y, mean, agree)
    >>> float(filled[0, 0]), float(filled[1, 0]), bool(np.isnan(filled[1, 2]))
    (40.0, 41.0, True)
    >>> int(where.sum())
    14
    """
    keypoints = np.array(keypoints, dtype=np.float64)
    missing = np.isnan(keypoints.reshape(len(keypoints), -1, 2)).any(axis=2)
    where = missing & agree
    columns = np.repeat(where, 2, axis=1)
    keypoints[columns] = np.asarray(mean, dtype=np.float64)[columns]
    return keypoints, where


def predictions(runs, X, mirror=True, log=print):
    """predictions(runs, X, mirror=True, log=print)

    Every run's keypoints for the faces `X` (preprocessed as the runs'
    data) and, with `mirror`, its keypoints for the mirrored faces
    mirrored back (:func:`mirror_back`): float64 (m, n, 30) pixels, m = 2
    per run (1 without `mirror`), in that order.
    """
    found, mirrored = [], flip(X, None)[0] if mirror else None
    for run in runs:
        net, _ = load_trained_net(run)
        found.append(predict_px(net, X))
        if mirror:
            found.append(mirror_back(predict_px(net, mirrored)))
        log('  predicted with %s' % run)
    return np.stack(found)


def _write_provenance_csv(path, where, filled, spread):
    with atomic_open(path, newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['row', 'image_id', 'keypoint', 'x', 'y',
                         'spread_px'])
        for row, point in zip(*np.nonzero(where)):
            writer.writerow([int(row), int(row) + 1, POINTS[point],
                             '%.4f' % filled[row, 2 * point],
                             '%.4f' % filled[row, 2 * point + 1],
                             '%.4f' % spread[row, point]])


def pseudo_label(paths, data, out, threshold=DEFAULT_THRESHOLD, mirror=True,
                 log=print):
    """pseudo_label(paths, data, out, threshold=DEFAULT_THRESHOLD, mirror=True, log=print)

    Fill the missing keypoints of `data` where the runs agree and write
    `out` and its provenance (see the module's doc).

    Parameters
    ----------
    paths : sequence of str
        Run folders or cross-validation parents (:func:`source_runs`).
    data : str
        A ``training.csv``-format file or a folder holding one.
    out : str
        The file to write; must not exist.
    threshold : float
        Pixels (:func:`agreement`).
    mirror : bool
        Also use each net's prediction on the mirrored face.

    Returns
    -------
    dict
        What ``<stem>.provenance.json`` holds.

    Raises
    ------
    UserError
        A bad run (:func:`source_runs`), a bad file, `out` taken.
    """
    out = os.fspath(out)
    taken = [p for p in (out, sidecar_path(out)) if os.path.exists(p)]
    if taken:
        raise UserError('%s exists; choose another --out (an earlier file is '
                        'never replaced)' % taken[0])
    if not (math.isfinite(float(threshold)) and float(threshold) > 0):
        # nan would fill nothing and inf everything, both silently
        raise UserError('--threshold %s: must be above 0 pixels, and finite'
                        % threshold)
    if os.fspath(data) == 'synthetic':
        raise UserError('--data synthetic: pseudo-labels fill a file; write '
                        'one first (data_prep.synthetic.write_kaggle_csv)')
    runs, preprocess = source_runs(paths)
    dataset, _ = load_labelled_file(data, preprocess)
    arrays = load_kaggle_arrays(dataset.path, 'training')
    keypoints = arrays['keypoints']
    log('%s: %d rows, %d missing keypoints; %d runs%s'
        % (dataset.path, len(keypoints),
           int(np.isnan(keypoints[:, ::2]).sum()), len(runs),
           ' and their mirrored predictions' if mirror else ''))
    predicted = predictions(runs, dataset.X, mirror, log)
    mean, spread, agree = agreement(predicted, threshold)
    filled, where = fill(keypoints, mean, agree)
    missing = np.isnan(keypoints[:, ::2])
    record = {
        'made_by': 'evaluation.pseudo_label',
        'source_runs': [os.path.abspath(r) for r in runs],
        'source_data': {'path': os.path.abspath(dataset.path),
                        'sha256': dataset.sha256},
        'threshold_px': float(threshold), 'mirror': bool(mirror),
        'predictions_per_face': int(len(predicted)),
        'rows': int(len(keypoints)),
        'keypoints_missing': int(missing.sum()),
        'keypoints_filled': int(where.sum()),
        'rows_complete_before': int((~missing).all(axis=1).sum()),
        'rows_complete_after': int(np.isfinite(filled).all(axis=1).sum()),
        'filled_per_keypoint': {name: int(n) for name, n
                                in zip(POINTS, where.sum(axis=0))},
        'provenance_csv': os.path.basename(
            os.path.splitext(out)[0] + '.provenance.csv'),
    }
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    _write_provenance_csv(os.path.join(folder, record['provenance_csv']),
                          where, filled, spread)
    write_derived(out, record)
    with atomic_open(out, newline='') as f:  # last: a file means all three
        write_training_lines(f, arrays['images'], filled)
    log('filled %d of %d missing keypoints (threshold %.2f px); complete rows '
        '%d -> %d -> %s' % (record['keypoints_filled'],
                            record['keypoints_missing'], threshold,
                            record['rows_complete_before'],
                            record['rows_complete_after'], out))
    return record


def parser():
    """parser()

    The command line's ``argparse.ArgumentParser``.
    """
    p = argparse.ArgumentParser(
        prog='python -m evaluation.pseudo_label',
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('runs', metavar='RUN_OR_CV', nargs='+',
                   help='run folders or --cv parents (their folds) that '
                   'predict all 30 keypoint columns')
    p.add_argument('--data', required=True, metavar='DIR|FILE',
                   help='the training.csv-format file to fill (or a folder '
                   'holding training.csv)')
    p.add_argument('--out', required=True, metavar='FILE',
                   help='the filled file to write (must not exist); its '
                   'provenance is written beside it')
    p.add_argument('--threshold', type=float, default=DEFAULT_THRESHOLD,
                   metavar='PX', help='fill a keypoint only where every '
                   'prediction lies within PX pixels of their mean '
                   '(default %(default)s)')
    p.add_argument('--no-mirror', dest='mirror', action='store_false',
                   help="leave out each net's prediction on the mirrored "
                   'face')
    return p


def main(argv=None):
    """main(argv=None)

    Run the command line; returns the exit status (0, or 2 for a user error).
    """
    args = parser().parse_args(argv)

    def body():
        pseudo_label(args.runs, args.data, args.out, args.threshold,
                     args.mirror)
    return command_line(body)


if __name__ == '__main__':
    sys.exit(main())
