"""evaluation.pseudo_label: the agreement rule, the filled file, its provenance, errors."""
import json
import os

import numpy as np
import pandas as pd
import pytest

import run_experiment
from data_prep.kaggle_csv import read_kaggle_arrays
from data_prep.synthetic import write_kaggle_csv
from evaluation import pseudo_label as pl
from evaluation.evaluate_file import load_labelled_file
from run_folder import read_manifest
from training.cv import fold_folder
from tests.evaluation.tiny_cv import FOLDS


def test_agreement_is_the_largest_distance_from_the_mean_point():
    p = np.full((4, 2, 30), 50.0)
    p[0, 0, 0:2] += (3.0, 4.0)  # face 0, left eye: one net 5 px off
    mean, spread, agree = pl.agreement(p, threshold=3.0)
    assert mean[0, 0:2] == pytest.approx([50.75, 51.0])
    # the outlier is 3.75 px from the mean, the others 1.25 px
    assert spread[0, 0] == pytest.approx(np.hypot(2.25, 3.0))
    assert not agree[0, 0] and agree[0, 1:].all() and agree[1].all()
    assert pl.agreement(p, threshold=3.76)[2][0, 0]


def test_a_missing_prediction_never_agrees():
    p = np.full((2, 1, 30), 40.0)
    p[1, 0, 5] = np.nan
    _, spread, agree = pl.agreement(p, threshold=100.0)
    assert np.isnan(spread[0, 2]) and not agree[0, 2] and agree[0, 3]


def test_mirror_back_swaps_sides_and_is_its_own_inverse():
    y = np.random.RandomState(0).uniform(10, 86, (3, 30))
    back = pl.mirror_back(y)
    left, right = 0, 2  # left_eye_center_x, right_eye_center_x
    assert back[:, left] == pytest.approx(96.0 - y[:, right])
    assert back[:, 1::2].sum() == pytest.approx(y[:, 1::2].sum())
    assert pl.mirror_back(back) == pytest.approx(y)


@pytest.fixture(scope='module')
def partial(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('pseudo') / 'partial.csv')
    write_kaggle_csv(path, 30, seed=9, complete_fraction=0.3)
    return path


def test_fills_only_missing_keypoints_where_the_nets_agree(
        tiny_cv, partial, tmp_path):
    _, parent = tiny_cv
    before = read_kaggle_arrays(partial, 'training')['keypoints']
    loose = pl.pseudo_label([parent], partial, str(tmp_path / 'loose.csv'),
                            threshold=1000.0, log=lambda line: None)
    filled = read_kaggle_arrays(str(tmp_path / 'loose.csv'),
                                'training')['keypoints']
    labelled = np.isfinite(before)
    assert filled[labelled] == pytest.approx(before[labelled])
    assert np.isfinite(filled).all()  # everything agrees within 1000 px
    assert loose['keypoints_filled'] == loose['keypoints_missing'] == int(
        np.isnan(before[:, ::2]).sum())
    # The value filled is the mean of every fold's two predictions.
    runs = [fold_folder(parent, k) for k in range(1, FOLDS + 1)]
    assert loose['source_runs'] == [os.path.abspath(r) for r in runs]
    dataset, _ = load_labelled_file(partial)
    mean = pl.predictions(runs, dataset.X, log=lambda line: None).mean(axis=0)
    assert filled[~labelled] == pytest.approx(mean[~labelled], abs=1e-6)

    tight = pl.pseudo_label([parent], partial, str(tmp_path / 'tight.csv'),
                            threshold=1.0, log=lambda line: None)
    provenance = pd.read_csv(str(tmp_path / 'tight.provenance.csv'))
    assert len(provenance) == tight['keypoints_filled'] < loose[
        'keypoints_filled']
    assert (provenance['spread_px'] <= 1.0).all()
    assert json.load(open(str(tmp_path / 'tight.provenance.json'))) == tight


def test_a_run_on_the_filled_file_names_its_source_runs(
        tiny_cv, partial, tmp_path):
    _, parent = tiny_cv
    out = str(tmp_path / 'filled.csv')
    assert pl.main([parent, '--data', partial, '--out', out,
                    '--threshold', '5']) == 0
    run = str(tmp_path / 'run')
    assert run_experiment.main(['net1', '--data', out, '--labels', 'all',
                                '--epochs', '1', '--out', run]) == 0
    derived = read_manifest(run)['data']['derived_from']
    assert derived['source_runs'][0] == os.path.abspath(fold_folder(parent, 1))
    assert derived['threshold_px'] == 5.0


@pytest.mark.parametrize('case, message', [
    ('taken', 'exists; choose another --out'),
    ('sparse', 'predicts 8 keypoint columns'),
    ('not_a_run', 'manifest'),
    ('threshold', '--threshold 0.0: must be above 0'),
    ('threshold_nan', '--threshold nan: must be above 0 pixels, and finite'),
    ('synthetic', '--data synthetic: pseudo-labels fill a file'),
])
def test_pseudo_label_errors_are_one_line(tiny_cv, tiny_sparse_run, partial,
                                          tmp_path, capsys, case, message):
    _, parent = tiny_cv
    out = tmp_path / 'out.csv'
    args = [parent, '--data', partial, '--out', str(out)]
    if case == 'taken':
        out.write_text('mine')
    elif case == 'sparse':
        args[0] = tiny_sparse_run
    elif case == 'not_a_run':
        args[0] = str(tmp_path)
    elif case == 'threshold':
        args += ['--threshold', '0']
    elif case == 'threshold_nan':
        args += ['--threshold', 'nan']
    else:
        args[2] = 'synthetic'
    assert pl.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err and err.count('\n') == 1
    assert sorted(os.listdir(str(tmp_path))) == (['out.csv'] if case == 'taken'
                                                 else [])
    if case == 'taken':
        assert out.read_text() == 'mine'
