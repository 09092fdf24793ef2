"""Cross-validation: the old KFold layout, a fold's run folder, K folds and their summary."""
import csv
import json
import os
import shutil

import numpy as np
import pytest

import compat  # noqa: F401
from nolearn.lasagne import TrainSplit

from errors import UserError
from data_prep.dataset import load_dataset
from data_prep.synthetic import write_kaggle_csv
from training import cv
from training import run as runner
from training.folds import FoldSplit, fold_overrides, fold_rows

TINY_NET1 = {'hidden_num_units': 10}
LIMIT = 60
K = 3


def tiny_fold(out, fold=None, epochs=2, **kwargs):
    return runner.run('net1', epochs=epochs, data='synthetic', limit=LIMIT,
                      out=str(out), checkpoint_every=1,
                      net_overrides=TINY_NET1, command=['test'], fold=fold,
                      **kwargs)


def losses(folder):
    """(train, valid) loss of every epoch in history.csv, as written."""
    return [(r['train_loss'], r['valid_loss'])
            for r in read_csv(os.path.join(folder, 'history.csv'))]


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def valid_rows(folder):
    return [int(r['row']) for r in
            read_csv(os.path.join(folder, 'valid_predictions.csv'))]


@pytest.fixture(scope='module')
def parent(tmp_path_factory):
    return cv.run_cv('net1', K, out=str(tmp_path_factory.mktemp('cv') / 'p'),
                     epochs=2, data='synthetic', limit=LIMIT,
                     net_overrides=TINY_NET1, command=['test'],
                     log=lambda line: None)


# ------------------------------------------------------------------ folds

def test_fold_1_of_5_is_nolearn_s_train_split():
    X = np.arange(2140 * 2, dtype=np.float32).reshape(2140, 2)
    y = X[:, :1] * 2
    net = type('Net', (), {'regression': True})()
    ours = FoldSplit(1, 5)(X, y, net)
    theirs = TrainSplit(eval_size=0.2)(X, y, net)
    for a, b in zip(ours, theirs):
        assert np.array_equal(a, b)
    assert len(ours[1]) == 428


@pytest.mark.parametrize('n, n_folds', [(60, 3), (2140, 5), (23, 4)])
def test_folds_are_contiguous_blocks_that_partition_the_rows(n, n_folds):
    blocks = [fold_rows(n, (k, n_folds)) for k in range(1, n_folds + 1)]
    valid = np.concatenate([b[1] for b in blocks])
    assert valid.tolist() == list(range(n))  # in order, each row once
    sizes = [len(b[1]) for b in blocks]
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) == n
    assert max(sizes) - min(sizes) <= 1
    for train, rows in blocks:
        assert np.array_equal(np.sort(np.concatenate([train, rows])),
                              np.arange(n))
        assert np.array_equal(rows, np.arange(rows[0], rows[-1] + 1))
    assert fold_rows(23, (2, 4))[1].tolist() == list(range(6, 12))


@pytest.mark.parametrize('fold, message', [
    ((0, 5), r'fold=\(0, 5\)'), ((6, 5), r'fold=\(6, 5\)'),
    ((1, 1), r'fold=\(1, 1\)'), ('x', "expected a pair"),
])
def test_bad_folds_are_user_errors(fold, message):
    with pytest.raises(UserError, match=message):
        fold_rows(10, fold)


def test_more_folds_than_rows():
    with pytest.raises(UserError, match='11 folds of 10 rows'):
        fold_rows(10, (1, 11))


def test_a_fold_will_not_replace_a_train_split_of_the_net():
    with pytest.raises(UserError, match="replaces the net's train_split"):
        fold_overrides({'train_split': TrainSplit(0.1)}, (1, 3))


# ------------------------------------------------------------- one fold run

def test_fold_1_of_5_trains_exactly_as_the_default(tmp_path):
    default = tiny_fold(tmp_path / 'default')
    fold1 = tiny_fold(tmp_path / 'fold1', fold=(1, 5))
    assert losses(default) == losses(fold1)
    assert losses(fold1) != losses(tiny_fold(tmp_path / 'fold2', fold=(2, 5)))
    assert valid_rows(default) == valid_rows(fold1) == list(range(12))
    assert 'fold' not in read_json(os.path.join(default, 'manifest.json'))
    assert read_json(os.path.join(fold1, 'manifest.json'))['fold'] == [1, 5]


def test_a_fold_holds_out_its_block_and_its_figures_agree(tmp_path):
    folder = tiny_fold(tmp_path / 'f2', fold=(2, 3))
    manifest = read_json(os.path.join(folder, 'manifest.json'))
    assert manifest['fold'] == [2, 3]
    assert (manifest['data']['n_train'], manifest['data']['n_valid']) == (40, 20)
    assert valid_rows(folder) == list(range(20, 40))
    # Independently: the same shuffled faces, block 2 held out.
    faces = load_dataset('synthetic', n_synthetic=LIMIT, shuffle_seed=42)
    y_px = faces.y.astype(np.float64) * 48 + 48
    table = read_csv(os.path.join(folder, 'valid_predictions.csv'))
    true = np.array([[float(r[c]) for c in list(r)[2:32]] for r in table])
    pred = np.array([[float(r[c]) for c in list(r)[32:]] for r in table])
    assert np.abs(true - y_px[20:40]).max() < 1e-3
    mean = np.concatenate([y_px[:20], y_px[40:]]).mean(axis=0)
    metrics = read_json(os.path.join(folder, 'metrics.json'))
    assert metrics['baseline_rmse_px'] == pytest.approx(
        np.sqrt(((y_px[20:40] - mean) ** 2).mean()), rel=1e-5)
    assert metrics['valid_rmse_px'] == pytest.approx(
        np.sqrt(((pred - true) ** 2).mean()), abs=1e-3)
    assert (metrics['n_train'], metrics['n_valid']) == (40, 20)


def test_a_resumed_fold_repeats_the_uninterrupted_one(tmp_path):
    straight = tiny_fold(tmp_path / 'straight', fold=(3, 3), epochs=3)
    resumed = tiny_fold(tmp_path / 'resumed', fold=(3, 3), epochs=2)
    runner.resume(resumed, epochs=3, command=['test'])
    assert losses(resumed) == losses(straight) and len(losses(straight)) == 3
    assert valid_rows(resumed) == list(range(40, 60))
    assert read_json(os.path.join(resumed, 'manifest.json'))['fold'] == [3, 3]


# ---------------------------------------------------------------- K folds

def test_k_folds_write_every_file(parent):
    assert sorted(os.listdir(parent)) == [
        'cv.json', 'cv_curves.png', 'cv_summary.json', 'cv_summary.md',
        'fold1', 'fold2', 'fold3']
    for k in range(1, K + 1):
        folder = os.path.join(parent, 'fold%d' % k)
        manifest = read_json(os.path.join(folder, 'manifest.json'))
        assert (manifest['fold'], manifest['status']) == ([k, K], 'completed')
        assert valid_rows(folder) == list(range(20 * (k - 1), 20 * k))
    assert read_json(os.path.join(parent, 'cv.json'))['status'] == 'completed'
    assert cv.cv_status(parent) == 'completed'
    assert os.path.getsize(os.path.join(parent, 'cv_curves.png')) > 10000


def test_summary_is_the_mean_and_std_of_the_folds(parent):
    summary = read_json(os.path.join(parent, 'cv_summary.json'))
    metrics = [read_json(os.path.join(parent, 'fold%d' % k, 'metrics.json'))
               for k in range(1, K + 1)]
    assert (summary['folds'], summary['finished']) == (K, K)
    for name in ('train_loss', 'valid_loss', 'valid_rmse_px',
                 'baseline_rmse_px'):
        values = np.array([m[name] for m in metrics])
        assert summary['mean'][name] == pytest.approx(values.mean())
        assert summary['std'][name] == pytest.approx(values.std())
        assert summary['std'][name] > 0
    # Out of fold: every row's held-out prediction, pooled.
    tables = [read_csv(os.path.join(parent, 'fold%d' % k,
                                    'valid_predictions.csv'))
              for k in range(1, K + 1)]
    rows = [r for t in tables for r in t]
    assert len(rows) == LIMIT
    names = list(rows[0])
    true = np.array([[float(r[c]) for c in names[2:32]] for r in rows])
    pred = np.array([[float(r[c]) for c in names[32:]] for r in rows])
    assert summary['out_of_fold_rmse_px'] == pytest.approx(
        np.sqrt(((true - pred) ** 2).mean()), abs=1e-3)
    md = open(os.path.join(parent, 'cv_summary.md')).read()
    assert '| **mean ± std** | | | | | %.5f ± %.5f |' % (
        summary['mean']['train_loss'], summary['std']['train_loss']) in md
    assert md.count('| completed |') == K


def test_resume_keeps_finished_folds_and_trains_missing_ones(parent, tmp_path):
    copy = str(tmp_path / 'p')
    shutil.copytree(parent, copy)
    shutil.rmtree(os.path.join(copy, 'fold2'))
    kept = os.path.getmtime(os.path.join(copy, 'fold1', 'weights.npz'))
    log = []
    cv.resume_cv(copy, command=['test'], log=log.append)
    assert log[:2] == ['fold 1 of 3: completed, kept',
                       'fold 2 of 3: training net1']
    assert os.path.getmtime(os.path.join(copy, 'fold1', 'weights.npz')) == kept
    again = read_json(os.path.join(copy, 'cv_summary.json'))
    first = read_json(os.path.join(parent, 'cv_summary.json'))
    assert again['mean'] == pytest.approx(first['mean'])
    cv.resume_cv(copy, epochs=3, command=['test'], log=log.append)
    assert [read_json(os.path.join(copy, 'fold%d' % k, 'manifest.json'))
            ['epochs_run'] for k in range(1, K + 1)] == [3, 3, 3]
    assert read_json(os.path.join(copy, 'cv_summary.json'))['per_fold'][0][
        'epochs_run'] == 3


def test_ctrl_c_in_a_fold_stops_and_resume_finishes(tmp_path, monkeypatch):
    class CtrlC(runner.Checkpoint):
        def __call__(self, nn, train_history):
            super(CtrlC, self).__call__(nn, train_history)
            if nn.train_split.k == 2 and train_history[-1]['epoch'] == 1:
                raise KeyboardInterrupt()
    monkeypatch.setattr(runner, 'Checkpoint', CtrlC)
    folder = cv.run_cv('net1', K, out=str(tmp_path / 'p'), epochs=2,
                       data='synthetic', limit=LIMIT, net_overrides=TINY_NET1,
                       command=['test'], log=lambda line: None)
    assert not os.path.exists(os.path.join(folder, 'fold3'))
    assert cv.cv_status(folder) == 'interrupted'
    summary = read_json(os.path.join(folder, 'cv_summary.json'))
    assert summary['finished'] == 1
    assert [f['status'] for f in summary['per_fold']] == [
        'completed', 'interrupted', 'absent']
    monkeypatch.undo()
    cv.resume_cv(folder, command=['test'], log=lambda line: None)
    assert cv.cv_status(folder) == 'completed'
    assert read_json(os.path.join(folder, 'cv_summary.json'))['finished'] == K


@pytest.mark.parametrize('name, n_folds, kwargs, message', [
    ('net1', 1, {}, 'n_folds=1: cross-validation needs at least 2 folds'),
    ('net9', 3, {}, "unknown net 'net9'"),
    ('net1', 3, {'fold': (1, 3)}, 'sets fold for each fold itself'),
    ('net1', 3, {'data': 'nowhere'}, 'no training data'),
    ('net1', 3, {'net_overrides': {'train_split': TrainSplit(0.1)}},
     "replaces the net's train_split"),
])
def test_bad_cv_options_leave_no_folder(tmp_path, name, n_folds, kwargs,
                                        message):
    options = dict(epochs=1, data='synthetic', limit=LIMIT,
                   net_overrides=TINY_NET1)
    options.update(kwargs)
    with pytest.raises(UserError, match=message):
        cv.run_cv(name, n_folds, out=str(tmp_path / 'p'), log=lambda line: None,
                  **options)
    assert not os.path.exists(str(tmp_path / 'p'))


def test_a_taken_parent_is_refused_and_kept(parent):
    before = sorted(os.listdir(parent))
    with pytest.raises(UserError, match='already holds files'):
        cv.run_cv('net1', K, out=parent, data='synthetic')
    assert sorted(os.listdir(parent)) == before


# --------------------------------------------------- run_experiment.py --cv

def test_run_experiment_cv_5_writes_five_folds_and_the_summary(tmp_path,
                                                               capsys):
    import run_experiment
    out = str(tmp_path / 'net1-cv5')
    argv = ['net1', '--cv', '5', '--epochs', '2', '--limit', '60', '--data',
            'synthetic', '--out', out, '--batch-size', '16']
    assert run_experiment.main(argv) == 0
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    summary = read_json(os.path.join(out, 'cv_summary.json'))
    assert last == '%s -> %s' % (cv.summary_line(summary), out)
    assert last.startswith('net1: 5 of 5 folds finished; valid loss ')
    assert [f['n_valid'] for f in summary['per_fold']] == [12] * 5
    for k in range(1, 6):
        manifest = read_json(os.path.join(out, 'fold%d' % k, 'manifest.json'))
        assert manifest['fold'] == [k, 5] and manifest['batch_size'] == 16
        assert manifest['command'] == ['run_experiment.py'] + argv
    # --resume of the parent goes on with every fold (here: 3 epochs each).
    assert run_experiment.main(['--resume', out, '--epochs', '3']) == 0
    summary = read_json(os.path.join(out, 'cv_summary.json'))
    assert [f['epochs_run'] for f in summary['per_fold']] == [3] * 5


def test_run_experiment_cv_errors_are_one_line(tmp_path, capsys):
    import run_experiment
    assert run_experiment.main(['net1', '--cv', '1', '--data', 'synthetic',
                                '--out', str(tmp_path / 'p')]) == 2
    err = capsys.readouterr().err
    assert err == ('error: --cv 1: cross-validation needs at least 2 '
                   'folds\n')
    assert run_experiment.main(['--resume', str(tmp_path), '--cv', '3']) == 2
    assert "keeps the run's own --cv" in capsys.readouterr().err
    assert not os.path.exists(str(tmp_path / 'p'))


@pytest.mark.parametrize('n_folds, limit', [(100000, LIMIT), (11, 10)])
def test_more_folds_than_rows_leaves_no_folder(tmp_path, n_folds, limit):
    with pytest.raises(UserError, match='every fold needs a row'):
        cv.run_cv('net1', n_folds, out=str(tmp_path / 'p'), epochs=1,
                  data='synthetic', limit=limit, net_overrides=TINY_NET1,
                  log=lambda line: None)
    assert not os.path.exists(str(tmp_path / 'p'))


def test_a_fold_killed_before_its_first_checkpoint_is_trained_afresh(
        parent, tmp_path):
    copy = str(tmp_path / 'p')
    shutil.copytree(parent, copy)
    # What a kill -9 during fold 2's first epoch leaves: a manifest that says
    # 'running' and no checkpoint.
    fold2 = os.path.join(copy, 'fold2')
    for name in os.listdir(fold2):
        if name != 'manifest.json':
            path = os.path.join(fold2, name)
            (shutil.rmtree if os.path.isdir(path) else os.remove)(path)
    manifest = read_json(os.path.join(fold2, 'manifest.json'))
    manifest.update(status='running', epochs_run=0)
    with open(os.path.join(fold2, 'manifest.json'), 'w') as f:
        json.dump(manifest, f)
    log = []
    cv.resume_cv(copy, command=['test'], log=log.append)
    assert 'fold 2 of 3: running with no checkpoint; training it afresh' in log
    assert cv.cv_status(copy) == 'completed'
    assert read_json(os.path.join(fold2, 'manifest.json'))['epochs_run'] == 2


def test_resume_with_other_data_leaves_cv_json_as_it_was(parent, tmp_path):
    copy = str(tmp_path / 'p')
    shutil.copytree(parent, copy)
    other = tmp_path / 'training.csv'
    write_kaggle_csv(str(other), 80, seed=7, complete_fraction=1.0)
    before = open(os.path.join(copy, 'cv.json'), 'rb').read()
    with pytest.raises(UserError, match='not the data the run used'):
        cv.resume_cv(copy, epochs=3, data=str(other), command=['test'],
                     log=lambda line: None)
    assert open(os.path.join(copy, 'cv.json'), 'rb').read() == before
