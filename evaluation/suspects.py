"""Rows whose labels the nets doubt: every row ranked by its out-of-fold error.

``python -m data_prep.review DATA --suspects CV_RUN`` is the command line.
A ``--cv K`` run judged each row once, by the one fold net that did not
train on it (the row was in that fold's validation block); its fold's
``valid_predictions.csv`` holds that net's keypoints for the row, so the
ranking needs no net to be loaded. A row whose labels are wrong is far from
what a net that never saw it predicts, so the worst rows are the ones to
look at first. By default a row's score is its worst keypoint's distance
in units of that keypoint's typical out-of-fold distance (one keypoint put
wrong stands out); ``by='rmse'`` ranks by the row's RMSE
(:func:`rank_rows`; on real faces the first finds about twice as many
corrupted rows, README). :func:`write_suspects` writes to a new folder::

    oof_errors.csv   every judged row, worst first: rank, row (0-based data
                     row), image_id, fold, score, rmse_px, worst_keypoint,
                     worst_px, auto_rules (what --clean auto says of it)
    suspects.csv     the first N lines of it: --clean-list reads its row
                     column (delete the lines of the rows to keep)
    suspects.png     those N faces, true (o) and predicted (x) keypoints,
                     the rows --clean auto flags marked "AUTO: rules"
"""
import os

import numpy as np
import pandas as pd

from data_prep import clean
from data_prep.cache import load_kaggle_arrays
from data_prep.kaggle_csv import find_data_file
from data_prep.keypoints import KEYPOINT_COLUMNS
from errors import UserError
from evaluation.metrics import image_rmse
from evaluation.pictures import face_grid
from run_folder import (VALID_PREDICTIONS, atomic_folder, atomic_path,
                        check_new_folder, read_manifest,
                        read_valid_predictions, run_path)
from training import cv

__all__ = ['DEFAULT_TOP', 'BY', 'out_of_fold', 'keypoint_distances',
           'rank_rows', 'write_suspects']

#: Faces on the picture (8 rows of 6) and lines of ``suspects.csv``.
DEFAULT_TOP = 48

#: How rows are ranked (:func:`rank_rows`), the default first.
BY = ('keypoint', 'rmse')


def out_of_fold(cv_run):
    """out_of_fold(cv_run)

    Each judged row's keypoints and the prediction of the fold net that
    held it out.

    Returns
    -------
    dict
        ``rows`` int64 (m,) 0-based data rows, ``folds`` int (m,),
        ``y_true``, ``y_pred`` float64 (m, 30) pixels, ``sha256`` of the
        data the folds trained on.

    Raises
    ------
    UserError
        Not a ``--cv`` folder, a fold without predictions, folds of
        different data, a row judged twice.
    """
    if not cv.is_cv_folder(cv_run):
        raise UserError('%s is not a --cv folder (no %s): suspects need '
                        'each row judged by a net that did not train on it'
                        % (cv_run, cv.CV_MANIFEST))
    n_folds = int(cv.read_cv_manifest(cv_run)['folds'])
    rows, folds, y_true, y_pred, digests = [], [], [], [], set()
    for k in range(1, n_folds + 1):
        folder = cv.fold_folder(cv_run, k)
        path = run_path(folder, VALID_PREDICTIONS)
        if not os.path.isfile(path):
            raise UserError('%s has no %s: train or resume the fold first '
                            '(run_experiment.py --resume %s)'
                            % (folder, VALID_PREDICTIONS, cv_run))
        digests.add((read_manifest(folder).get('data') or {}).get('sha256'))
        _, true, pred = read_valid_predictions(path)
        image_ids = pd.read_csv(path, usecols=['image_id'])['image_id']
        rows.append(image_ids.to_numpy(dtype=np.int64) - 1)
        folds.append(np.full(len(true), k))
        y_true.append(true)
        y_pred.append(pred)
    if len(digests) != 1:
        raise UserError('the folds of %s trained on different data' % cv_run)
    rows = np.concatenate(rows)
    if len(np.unique(rows)) != len(rows):
        raise UserError('%s judges some rows twice; not one --cv run'
                        % cv_run)
    return {'rows': rows, 'folds': np.concatenate(folds),
            'y_true': np.concatenate(y_true), 'y_pred': np.concatenate(y_pred),
            'sha256': digests.pop()}


def keypoint_distances(y_true, y_pred):
    """keypoint_distances(y_true, y_pred)

    Distance in pixels between each labelled keypoint and its prediction:
    float64 (n, 15), NaN where the keypoint is not labelled.

    >>> y = np.zeros((1, 30)); p = y.copy(); p[0, :2] = (3.0, 4.0)
    >>> keypoint_distances(y, p)[0, :2].tolist()
    [5.0, 0.0]
    """
    true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1, 2)
    pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1, 2)
    return np.sqrt(((true - pred) ** 2).sum(axis=2))


def rank_rows(y_true, y_pred, by='keypoint'):
    """rank_rows(y_true, y_pred, by='keypoint')

    Order of rows, the most doubtful first; a row with no labelled
    keypoint last.

    Parameters
    ----------
    y_true, y_pred : float (n, 30)
        Labelled (NaN where missing) and predicted keypoints, pixels.
    by : {'keypoint', 'rmse'}
        ``'keypoint'``: the row's worst keypoint, its distance from the
        prediction in units of that keypoint's RMS distance over all rows
        (an eyebrow end is always less sure than an eye centre; one
        keypoint put wrong stands out). ``'rmse'``: the row's RMSE over its
        labelled coordinates (``evaluation.metrics.image_rmse``).

    Returns
    -------
    order : int (n,)
    score : float64 (n,)
        Each row's score (in the rows' own order).

    Every left eye is about 4 px off; row 3's right eye, 2 px off, is the
    odd one:

    >>> y = np.zeros((4, 30)); p = y.copy(); p[:, 0] = 4.0
    >>> p[0, 0], p[3, 2] = 5.0, 2.0
    >>> rank_rows(y, p, by='rmse')[0].tolist()
    [0, 3, 1, 2]
    >>> rank_rows(y, p)[0].tolist()
    [3, 0, 1, 2]
    """
    if by not in BY:
        raise UserError('--by %s: choose one of %s' % (by, ', '.join(BY)))
    with np.errstate(invalid='ignore', divide='ignore'):
        if by == 'rmse':
            score = image_rmse(y_true, y_pred)
        else:
            d = keypoint_distances(y_true, y_pred)
            rms = np.sqrt(np.nanmean(d ** 2, axis=0))
            z = d / np.where(rms > 0, rms, np.nan)
            labelled = np.isfinite(z).any(axis=1)
            score = np.full(len(z), np.nan)
            score[labelled] = np.nanmax(z[labelled], axis=1)
    key = np.where(np.isfinite(score), -score, np.inf)
    return np.argsort(key, kind='stable'), score


def _worst_points(y_true, y_pred):
    """Each row's keypoint farthest from its prediction and the distance."""
    distance = keypoint_distances(y_true, y_pred)
    distance = np.where(np.isfinite(distance), distance, -1.0)
    point = distance.argmax(axis=1)
    return point, distance[np.arange(len(point)), point]


def write_suspects(data, cv_run, out, top=DEFAULT_TOP, by='keypoint',
                   log=print):
    """write_suspects(data, cv_run, out, top=DEFAULT_TOP, by='keypoint', log=print)

    Rank the rows of `data` the ``--cv`` run `cv_run` judged and write the
    review folder `out` (see the module's doc).

    Parameters
    ----------
    data : str
        The data folder or ``training.csv`` the run trained on (checked by
        its SHA-256).
    cv_run : str
        A ``--cv K`` parent folder.
    out : str
        A new or empty folder.
    top : int
        Rows in ``suspects.csv`` and the picture.
    by : {'keypoint', 'rmse'}
        The ranking (:func:`rank_rows`).

    Returns
    -------
    pandas.DataFrame
        ``oof_errors.csv``'s table.

    Raises
    ------
    UserError
        `out` taken, `top` below 1, `data` not the run's data, what
        :func:`out_of_fold` raises.
    """
    if int(top) < 1:
        raise UserError('--top %s: must be at least 1' % top)
    if by not in BY:
        raise UserError('--by %s: choose one of %s' % (by, ', '.join(BY)))
    check_new_folder(out, 'review', 'choose another --out, or remove it',
                     name='--out %s' % out)
    path = data if os.path.isfile(data) else find_data_file(data, 'training')
    oof = out_of_fold(cv_run)
    arrays = load_kaggle_arrays(path, 'training')
    if arrays['sha256'] != oof['sha256']:
        raise UserError('%s is not the data %s trained on (SHA-256 %s, the '
                        'run\'s %s)' % (path, cv_run, arrays['sha256'][:12],
                                        str(oof['sha256'])[:12]))
    images, keypoints = arrays['images'], arrays['keypoints']
    flags = {}
    for rule, found in clean.auto_flags(keypoints, images).items():
        for row in found:
            flags.setdefault(int(row), []).append(rule)
    order, score = rank_rows(oof['y_true'], oof['y_pred'], by)
    rmse = rank_rows(oof['y_true'], oof['y_pred'], 'rmse')[1]
    point, worst = _worst_points(oof['y_true'], oof['y_pred'])
    rows = oof['rows'][order]
    table = pd.DataFrame({
        'rank': np.arange(1, len(order) + 1), 'row': rows,
        'image_id': rows + 1, 'fold': oof['folds'][order],
        'score': np.round(score[order], 4),
        'rmse_px': np.round(rmse[order], 4),
        'worst_keypoint': [KEYPOINT_COLUMNS[2 * p][:-2] for p in point[order]],
        'worst_px': np.round(worst[order], 4),
        'auto_rules': [';'.join(flags.get(int(r), [])) for r in rows]})
    shown = table.head(int(top))
    picked = order[:len(shown)]
    titles = ['#%d row %d: %.1f px %s%s' % (
        line.rank, line.row, line.rmse_px, line.worst_keypoint[:14],
        '\nAUTO: ' + line.auto_rules.replace(';', ', ')
        if line.auto_rules else '') for line in shown.itertuples()]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with atomic_folder(out) as tmp:
        for name, frame in (('oof_errors.csv', table),
                            ('suspects.csv', shown)):
            with atomic_path(os.path.join(tmp, name)) as target:
                frame.to_csv(target, index=False)
        face_grid(images[shown['row'].to_numpy()] / 255.0,
                  oof['y_true'][picked], oof['y_pred'][picked],
                  os.path.join(tmp, 'suspects.png'), titles=titles, ncols=6,
                  suptitle='%s judged by %s out of fold: the %d worst of %d '
                  'rows\no labelled, x predicted by the fold net that did not '
                  'train on the row; AUTO: --clean auto flags it'
                  % (path, cv_run, len(shown), len(table)))
    log('%s: %d rows judged out of fold by %s, ranked by %s; the worst %d '
        '-> %s' % (path, len(table), cv_run, by, len(shown),
                   os.path.join(out, 'suspects.csv')))
    for line in shown.head(10).itertuples():
        log('  #%-3d row %-6d %7.2f px  worst %s %.1f px%s'
            % (line.rank, line.row, line.rmse_px, line.worst_keypoint,
               line.worst_px, '  AUTO: ' + line.auto_rules
               if line.auto_rules else ''))
    return table
