#!/usr/bin/env python
"""The study's "further improvements" measured on real faces: labelling and bad labels.

Usage::

    python bench/next_steps.py labelling SOURCE [--net net1] [--epochs N] [--seeds 1 2 3]
        [--work DIR]
    python bench/next_steps.py bad-labels SOURCE [--net net1] [--epochs N] [--work DIR]

``SOURCE`` is a complete training file (``../shared/data/ytf_kfkd/training.csv``).

``labelling``: 20% of the rows (seed 0) are kept aside as ``test.csv``; of
the rest, 70% lose their non-sparse keypoints (Kaggle's pattern:
``train.csv``). A ``--cv 5`` run on ``train.csv``'s complete rows labels
the blanked rows (``evaluation.pseudo_label``, default threshold:
``pseudo.csv``); the filled keypoints are scored against the truth that was
blanked, at several thresholds. Then ``--net`` trains with each seed on (a)
the complete rows, (b) ``--labels all``, (c) ``pseudo.csv`` with ``--labels
all``, the same epochs, and each is scored on ``test.csv``. Prints the
tables (mean +- std over the seeds, numpy's ddof 0).

``bad-labels``: 3% of the rows (seed 0) are corrupted the ways a labeller
errs (eyes swapped left for right, one keypoint moved 8-15 px, every
keypoint shifted 2-4 px, a mouth point put on the nose tip:
``corrupted.csv``, the rows and kinds in ``corrupted_rows.csv``); a ``--cv
5`` run of ``--net`` on it ranks the rows (``evaluation.suspects``) and
the recall of the corrupted rows within the worst 3%, 5% and 10% is printed
beside ``--clean auto``'s on the same file.

Everything goes under ``--work`` (default ``results/next_steps``); runs
already finished there are reused, so an interrupted measurement goes on.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data_prep import clean  # noqa: E402
from data_prep.cache import load_kaggle_arrays  # noqa: E402
from data_prep.kaggle_csv import write_training_lines  # noqa: E402
from data_prep.keypoints import KEYPOINT_COLUMNS, SPARSE_INDICES  # noqa: E402
from evaluation.evaluate_file import load_labelled_file  # noqa: E402
from evaluation.metrics import overall_rmse  # noqa: E402
from evaluation.pseudo_label import (DEFAULT_THRESHOLD, agreement,  # noqa: E402
                                     predictions, pseudo_label, source_runs)
from evaluation.suspects import (BY, out_of_fold, rank_rows,  # noqa: E402
                                 write_suspects)
from evaluation.trained_net import load_trained_net, predict_px  # noqa: E402
from run_folder import atomic_open, run_status  # noqa: E402
from training import cv  # noqa: E402
from training.run import run  # noqa: E402

THRESHOLDS = (1.0, 1.5, 2.0, 3.0, 4.0, np.inf)
KINDS = ('eyes_swapped', 'one_point_moved', 'all_shifted', 'mouth_on_nose')
_NON_SPARSE = [i for i in range(len(KEYPOINT_COLUMNS)) if i not in SPARSE_INDICES]


def _write(path, images, keypoints):
    if not os.path.exists(path):
        with atomic_open(path, newline='') as f:
            write_training_lines(f, images, keypoints)
    return path


def make_labelling_files(source, work, test_fraction=0.2, blank_fraction=0.7,
                         seed=0):
    """make_labelling_files(source, work, test_fraction=0.2, blank_fraction=0.7, seed=0)

    ``test.csv``, ``train.csv`` (blanked) and ``train_truth.csv`` (the same
    rows unblanked) in `work`; returns their paths.
    """
    arrays = load_kaggle_arrays(source, 'training')
    images, keypoints = arrays['images'], arrays['keypoints']
    keypoints = keypoints[np.isfinite(keypoints).all(axis=1)]
    images = images[np.isfinite(arrays['keypoints']).all(axis=1)]
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(keypoints))
    n_test = int(round(test_fraction * len(order)))
    test, train = order[:n_test], np.sort(order[n_test:])
    blanked = keypoints[train].copy()
    rows = rng.rand(len(train)) < blank_fraction
    blanked[np.ix_(rows, _NON_SPARSE)] = np.nan
    os.makedirs(work, exist_ok=True)
    return (_write(os.path.join(work, 'test.csv'), images[np.sort(test)],
                   keypoints[np.sort(test)]),
            _write(os.path.join(work, 'train.csv'), images[train], blanked),
            _write(os.path.join(work, 'train_truth.csv'), images[train],
                   keypoints[train]))


def _train(folder, net, epochs, data, labels, seed, n_folds=None):
    """Train (or reuse a finished) run or --cv parent."""
    done = (cv.cv_status(folder) if n_folds else run_status(folder))
    if done == 'completed':
        return folder
    keywords = dict(epochs=epochs, data=data, labels=labels, seed=seed,
                    out=folder, command=['bench/next_steps.py'])
    if n_folds:
        return cv.run_cv(net, n_folds, **keywords)
    return run(net, **keywords)


def _test_rmse(folder, test):
    net, manifest = load_trained_net(folder)
    dataset, y_true = load_labelled_file(test, manifest.get('preprocess',
                                                            'none'))
    return overall_rmse(y_true, predict_px(net, dataset.X))


def _mean_std(values):
    return '%.3f +- %.3f' % (np.mean(values), np.std(values))


def labelling(source, net='net1', epochs=100, seeds=(1, 2, 3),
              work='results/next_steps', n_folds=5,
              threshold=DEFAULT_THRESHOLD):
    """labelling(source, net='net1', epochs=100, seeds=(1, 2, 3), work='results/next_steps',
    n_folds=5, threshold=DEFAULT_THRESHOLD)

    The labelling measurement (see the module's doc); prints its tables.
    """
    work = os.path.join(work, 'labelling')
    test, train, truth = make_labelling_files(source, work)
    tag = '%s-e%d' % (net, epochs)
    labeller = _train(os.path.join(work, tag + '-cv%d' % n_folds), net,
                      epochs, train, 'complete', 42, n_folds)
    suffix = '' if threshold == DEFAULT_THRESHOLD else '-t%g' % threshold
    pseudo = os.path.join(work, tag + '-pseudo%s.csv' % suffix)
    if not os.path.exists(pseudo):
        pseudo_label([labeller], train, pseudo, threshold)

    # The filled keypoints against the truth that was blanked.
    runs, preprocess = source_runs([labeller])
    dataset, y_blank = load_labelled_file(train, preprocess)
    _, y_truth = load_labelled_file(truth, preprocess)
    predicted = predictions(runs, dataset.X, True, log=lambda line: None)
    missing = np.isnan(y_blank[:, ::2])
    print('\n%s --cv %d (%d epochs) labels %d missing keypoints of %s'
          % (net, n_folds, epochs, int(missing.sum()), train))
    print('| threshold px | filled | RMSE of filled px | filled, no mirror | RMSE, no mirror |')
    print('|---|---|---|---|---|')
    for t in THRESHOLDS:
        cells = []
        for used in (predicted, predicted[0::2]):  # [0::2]: unmirrored only
            mean, _, agree = agreement(used, t if np.isfinite(t) else 1e9)
            where = np.repeat(missing & agree, 2, axis=1)
            cells += ['%.1f%%' % (100.0 * (missing & agree).sum()
                                  / missing.sum()),
                      '%.2f' % overall_rmse(np.where(where, y_truth, np.nan),
                                            np.where(where, mean, np.nan))]
        print('| %s | %s |' % ('%.1f' % t if np.isfinite(t) else 'none',
                               ' | '.join(cells)))

    conditions = (('(a) complete rows', train, 'complete'),
                  ('(b) --labels all', train, 'all'),
                  ('(c) complete + pseudo-labelled (%g px)' % threshold,
                   pseudo, 'all'))
    results = {}
    for name, data, labels in conditions:
        for seed in seeds:
            folder = os.path.join(work, '%s-%s-%s%s-s%d' % (
                tag, name[1], labels, suffix if name[1] == 'c' else '', seed))
            _train(folder, net, epochs, data, labels, seed)
            results.setdefault(name, []).append(_test_rmse(folder, test))
            print('%s seed %d: test RMSE %.3f px' % (name, seed,
                                                     results[name][-1]))
    print('\n%s, %d epochs, seeds %s: RMSE on %s in px'
          % (net, epochs, ' '.join(map(str, seeds)), test))
    print('| training data | test RMSE px |')
    print('|---|---|')
    for name, _, _ in conditions:
        print('| %s | %s |' % (name, _mean_std(results[name])))
    return results


def corrupt(keypoints, fraction=0.03, seed=0):
    """corrupt(keypoints, fraction=0.03, seed=0)

    A copy of `keypoints` (n, 30 px) with `fraction` of the rows corrupted,
    the :data:`KINDS` in turn.

    Returns
    -------
    corrupted : float64 (n, 30)
    rows : int (m,)
    kinds : list of str (m,)

    >>> y = np.tile(np.linspace(20, 70, 30), (100, 1))
    >>> bad, rows, kinds = corrupt(y)
    >>> len(rows), kinds[:2], int((bad != y).any(axis=1).sum())
    (3, ['eyes_swapped', 'one_point_moved'], 3)
    """
    rng = np.random.RandomState(seed)
    keypoints = np.array(keypoints, dtype=np.float64)
    rows = np.sort(rng.choice(len(keypoints), int(round(fraction * len(
        keypoints))), replace=False))
    kinds = [KINDS[i % len(KINDS)] for i in range(len(rows))]
    index = {c: i for i, c in enumerate(KEYPOINT_COLUMNS)}
    for row, kind in zip(rows, kinds):
        y = keypoints[row]
        if kind == 'eyes_swapped':
            for c in KEYPOINT_COLUMNS:
                if c.startswith('left_eye'):
                    a, b = index[c], index[c.replace('left', 'right', 1)]
                    y[a], y[b] = y[b], y[a]
        elif kind == 'one_point_moved':
            point = rng.randint(15)
            angle, distance = rng.uniform(0, 2 * np.pi), rng.uniform(8, 15)
            y[2 * point] += distance * np.cos(angle)
            y[2 * point + 1] += distance * np.sin(angle)
        elif kind == 'all_shifted':
            angle, distance = rng.uniform(0, 2 * np.pi), rng.uniform(2, 4)
            y[0::2] += distance * np.cos(angle)
            y[1::2] += distance * np.sin(angle)
        else:
            mouth = [c for c in KEYPOINT_COLUMNS
                     if c.startswith('mouth') and c.endswith('_x')]
            c = mouth[rng.randint(len(mouth))]
            y[index[c]] = y[index['nose_tip_x']]
            y[index[c] + 1] = y[index['nose_tip_y']]
        keypoints[row] = np.clip(y, 0, 95.99)
    return keypoints, rows, kinds


def bad_labels(source, net='net1', epochs=100, work='results/next_steps',
               n_folds=5):
    """bad_labels(source, net='net1', epochs=100, work='results/next_steps', n_folds=5)

    The bad-label measurement (see the module's doc); prints its table.
    """
    work = os.path.join(work, 'bad_labels')
    os.makedirs(work, exist_ok=True)
    arrays = load_kaggle_arrays(source, 'training')
    keypoints, rows, kinds = corrupt(arrays['keypoints'])
    data = _write(os.path.join(work, 'corrupted.csv'), arrays['images'],
                  keypoints)
    with atomic_open(os.path.join(work, 'corrupted_rows.csv')) as f:
        f.write('row,kind\n' + ''.join('%d,%s\n' % r for r in zip(rows, kinds)))
    parent = _train(os.path.join(work, '%s-e%d-cv%d' % (net, epochs, n_folds)),
                    net, epochs, data, 'complete', 42, n_folds)
    out = os.path.join(work, '%s-e%d-suspects' % (net, epochs))
    if not os.path.isdir(out):
        write_suspects(data, parent, out)
    oof = out_of_fold(parent)
    rankings = {by: oof['rows'][rank_rows(oof['y_true'], oof['y_pred'], by)[0]]
                for by in BY}
    flagged = set()
    for found in clean.auto_flags(keypoints, arrays['images']).values():
        flagged.update(int(r) for r in found)
    bad = dict(zip(rows.tolist(), kinds))
    print('\n%d of %d rows corrupted (%s); %s --cv %d, %d epochs'
          % (len(bad), len(keypoints), ', '.join(
              '%s %d' % (k, kinds.count(k)) for k in KINDS), net, n_folds,
             epochs))
    print('| recall of corrupted rows | %s |' % ' | '.join(KINDS + ('all',)))
    print('|---|%s' % ('---|' * (len(KINDS) + 1)))
    for by in BY:
        for share in (0.03, 0.05, 0.10):
            ranked = rankings[by]
            top = set(ranked[:int(round(share * len(ranked)))].tolist())
            print('| --suspects --by %s, worst %d%% (%d rows) | %s |' % (
                by, 100 * share, len(top), _recalls(bad, top)))
    print('| --clean auto (%d rows flagged) | %s |' % (
        len(flagged), _recalls(bad, flagged)))


def _recalls(bad, found):
    cells = []
    for kind in KINDS + ('all',):
        rows = [r for r, k in bad.items() if kind in ('all', k)]
        cells.append('%d/%d' % (sum(r in found for r in rows), len(rows)))
    return ' | '.join(cells)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('what', choices=('labelling', 'bad-labels'))
    p.add_argument('source')
    p.add_argument('--net', default='net1')
    p.add_argument('--epochs', type=int, default=100)
    p.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    p.add_argument('--work', default='results/next_steps')
    p.add_argument('--threshold', type=float, default=DEFAULT_THRESHOLD,
                   help='labelling: the pseudo-labels\' threshold in px')
    args = p.parse_args(argv)
    if args.what == 'labelling':
        labelling(args.source, args.net, args.epochs, args.seeds, args.work,
                  threshold=args.threshold)
    else:
        bad_labels(args.source, args.net, args.epochs, args.work)


if __name__ == '__main__':
    main()
