"""evaluate_file: a run judged on a labelled file, checked against numpy on the file itself.

The figures are recomputed here without the project's reader, net or metrics:
the CSV parsed with the csv module, net1's forward pass in numpy from the
run's weights.npz, the baseline from the synthetic faces the run trained on.
"""
import csv
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import sklearn.utils

from data_prep.keypoints import KEYPOINT_COLUMNS
from data_prep.preprocess import preprocess
from data_prep.synthetic import make_faces, write_kaggle_csv
from errors import DataError, UserError
from evaluation.evaluate_file import FILES, default_eval_folder, evaluate_file
from tests.conftest import shared_path
from tests.evaluation.tiny_run import N_VALID, ROWS

N_FACES = 24


@pytest.fixture(scope='module')
def labelled(tmp_path_factory):
    """A training.csv of 24 synthetic faces, 70% of them with only the 8
    sparse keypoints (empty cells elsewhere), as Kaggle's."""
    path = tmp_path_factory.mktemp('labelled') / 'faces.csv'
    write_kaggle_csv(str(path), N_FACES, seed=11)
    return str(path)


def parse_training_csv(path):
    """Keypoints (NaN where empty) and pixels / 255 of a training.csv."""
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    y = np.array([[float(r[c]) if r[c] else np.nan for c in KEYPOINT_COLUMNS]
                  for r in rows])
    X = np.array([[float(v) for v in r['Image'].split()] for r in rows]) / 255
    return y, X.astype(np.float32)


def net1_px(run, X):
    """net1's prediction in pixels, from weights.npz: rectify, then linear."""
    w = np.load(os.path.join(run, 'weights.npz'))
    hidden = np.maximum(X @ w['hidden.W'] + w['hidden.b'], 0)
    return (hidden @ w['output.W'] + w['output.b']) * 48.0 + 48.0


def tiny_run_training_mean():
    """The mean keypoints of the tiny run's training rows: its 200
    synthetic faces in the study's shuffle, less the first 40."""
    _, keypoints = make_faces(ROWS, seed=0)
    return sklearn.utils.shuffle(keypoints, random_state=42)[N_VALID:].mean(0)


def rmse(true, pred, axis=None):
    """RMSE over the labelled (finite) truths only."""
    labelled = np.isfinite(true)
    squared = np.where(labelled, (pred - np.nan_to_num(true)) ** 2, 0.0)
    return np.sqrt(squared.sum(axis=axis) / labelled.sum(axis=axis))


def test_rmse_and_baseline_match_numpy(tiny_run, labelled, tmp_path):
    result = evaluate_file(tiny_run, labelled, out=str(tmp_path / 'eval'))
    y_true, X = parse_training_csv(labelled)
    assert 0 < np.isfinite(y_true).sum() < y_true.size  # some are missing
    y_pred = net1_px(tiny_run, X)
    baseline = np.broadcast_to(tiny_run_training_mean(), y_true.shape)

    with open(str(tmp_path / 'eval' / 'evaluation.json')) as f:
        summary = json.load(f)
    assert summary['rmse_px'] == pytest.approx(rmse(y_true, y_pred), rel=1e-4)
    assert summary['baseline_rmse_px'] == pytest.approx(
        rmse(y_true, baseline), rel=1e-6)
    assert summary['data']['rows'] == N_FACES
    assert summary['data']['labelled_coordinates'] == np.isfinite(y_true).sum()
    assert summary['data']['complete_rows'] == round(N_FACES * 0.3)
    assert summary['baseline'] == ('the mean keypoints of the 160 rows the '
                                   'run trained on')
    per_column = rmse(y_true, y_pred, axis=0)
    for j, column in enumerate(KEYPOINT_COLUMNS):
        figures = summary['per_keypoint'][column]
        assert figures['rmse_px'] == pytest.approx(per_column[j], rel=1e-4)
        assert figures['n'] == np.isfinite(y_true[:, j]).sum()

    errors = pd.read_csv(str(tmp_path / 'eval' / 'errors.csv'), index_col=0)
    assert errors.loc['overall', 'rmse_px'] == pytest.approx(
        rmse(y_true, y_pred), abs=1e-4)
    assert errors.loc['nose_tip_y', 'baseline_rmse_px'] == pytest.approx(
        rmse(y_true, baseline, axis=0)[KEYPOINT_COLUMNS.index('nose_tip_y')],
        abs=1e-4)
    predictions = pd.read_csv(str(tmp_path / 'eval' / 'predictions.csv'))
    assert predictions['image_id'].tolist() == list(range(1, N_FACES + 1))
    assert np.abs(predictions[[c + '_pred' for c in KEYPOINT_COLUMNS]]
                  .to_numpy() - y_pred).max() < 1e-3
    assert result['table'].loc['overall', 'n'] == np.isfinite(y_true).sum()


def test_every_file_is_written(tiny_run, labelled, tmp_path):
    folder = evaluate_file(tiny_run, labelled, out=str(tmp_path / 'e'))['folder']
    assert sorted(os.listdir(folder)) == sorted(FILES)
    for name in ('worst16.png', 'keypoint_rmse.png'):
        assert os.path.getsize(os.path.join(folder, name)) > 10000
    assert '| **overall** |' in open(os.path.join(folder, 'errors.md')).read()


def test_the_run_s_own_preprocessing_is_applied(tiny_run, labelled, tmp_path):
    run = str(tmp_path / 'run')
    shutil.copytree(tiny_run, run)
    manifest_path = os.path.join(run, 'manifest.json')
    with open(manifest_path) as f:
        manifest = json.load(f)
    manifest['preprocess'] = 'stretch'
    with open(manifest_path, 'w') as f:
        json.dump(manifest, f)
    evaluate_file(run, labelled, out=str(tmp_path / 'eval'))
    y_true, X = parse_training_csv(labelled)
    stretched = preprocess(X.reshape(-1, 1, 96, 96), 'stretch').reshape(
        len(X), -1)
    assert not np.allclose(stretched, X)
    predictions = pd.read_csv(str(tmp_path / 'eval' / 'predictions.csv'))
    assert np.abs(predictions[[c + '_pred' for c in KEYPOINT_COLUMNS]]
                  .to_numpy() - net1_px(run, stretched)).max() < 1e-3


def test_default_folders_are_new_each_time(tiny_run, labelled, tmp_path):
    run = str(tmp_path / 'run')
    shutil.copytree(tiny_run, run)
    first = evaluate_file(run, labelled)['folder']
    assert first == os.path.join(run, 'eval-faces')
    written = open(os.path.join(first, 'evaluation.json')).read()
    second = evaluate_file(run, labelled)['folder']
    assert second == os.path.join(run, 'eval-faces-2')
    assert open(os.path.join(first, 'evaluation.json')).read() == written
    assert default_eval_folder(run, labelled) == os.path.join(run,
                                                              'eval-faces-3')


def test_a_folder_holding_training_csv(tiny_run, labelled, tmp_path):
    data = tmp_path / 'data'
    data.mkdir()
    shutil.copy(labelled, str(data / 'training.csv'))
    result = evaluate_file(tiny_run, str(data), out=str(tmp_path / 'eval'))
    y_true, X = parse_training_csv(labelled)
    assert result['summary']['rmse_px'] == pytest.approx(
        rmse(y_true, net1_px(tiny_run, X)), rel=1e-4)
    assert result['summary']['data']['path'] == str(data / 'training.csv')


def _bad_files(folder, labelled):
    write_kaggle_csv(str(folder / 'test.csv'), 3, seed=1, kind='test')
    lines = open(labelled).read().splitlines()
    (folder / 'short.csv').write_text(
        lines[0] + '\n' + lines[1].rsplit(' ', 1)[0] + '\n')
    (folder / 'picture.png').write_bytes(b'\x89PNG\r\n\x1a\n\x00\x00\xff\xfe')
    (folder / 'empty').mkdir()
    header = ','.join(KEYPOINT_COLUMNS + ('Image',))
    (folder / 'unlabelled.csv').write_text(
        header + '\n' + ',' * 30 + lines[1].rsplit(',', 1)[1] + '\n')


@pytest.mark.parametrize('name, error, message', [
    ('test.csv', DataError, 'wrong header, missing columns left_eye_center_x'),
    ('short.csv', DataError, 'Image has 9215 values, expected 9216'),
    ('picture.png', DataError, 'not a CSV file'),
    ('empty', DataError, 'no training data'),
    ('unlabelled.csv', UserError, 'holds no labelled keypoint'),
])
def test_files_of_the_wrong_kind_are_refused(tiny_run, labelled, tmp_path,
                                             name, error, message):
    _bad_files(tmp_path, labelled)
    with pytest.raises(error, match=message) as e:
        evaluate_file(tiny_run, str(tmp_path / name),
                      out=str(tmp_path / 'eval'))
    assert '\n' not in str(e.value)
    assert not os.path.exists(str(tmp_path / 'eval'))


def test_a_taken_out_folder_is_refused_and_kept(tiny_run, labelled, tmp_path):
    out = tmp_path / 'eval'
    out.mkdir()
    (out / 'notes.txt').write_text('mine')
    with pytest.raises(UserError, match='already holds files'):
        evaluate_file(tiny_run, labelled, out=str(out))
    assert os.listdir(str(out)) == ['notes.txt']


def test_real_faces_of_the_shared_file(tiny_run, tmp_path):
    path = shared_path('data', 'ytf_kfkd', 'training.csv')
    summary = evaluate_file(tiny_run, path, out=str(tmp_path / 'e'))['summary']
    assert summary['data']['rows'] == 3385
    assert summary['data']['labelled_coordinates'] == 3385 * 30
    # The tiny net trained on synthetic faces: worse than the baseline of
    # its own training rows, and both far from zero, on real faces.
    assert summary['rmse_px'] > summary['baseline_rmse_px'] > 1
    assert not summary['data']['is_the_run_s_own_data']


def test_a_sparse_run_is_judged_on_its_eight_columns(tiny_sparse_run, labelled,
                                                     tmp_path):
    from data_prep.keypoints import SPARSE_COLUMNS
    result = evaluate_file(tiny_sparse_run, labelled, out=str(tmp_path / 'e'))
    table = result['table']
    assert list(table.index) == list(SPARSE_COLUMNS) + ['overall']
    y_true, X = parse_training_csv(labelled)
    kept = [KEYPOINT_COLUMNS.index(c) for c in SPARSE_COLUMNS]
    y_pred = net1_px(tiny_sparse_run, X)  # 8 outputs, in SPARSE_COLUMNS order
    assert table.loc['overall', 'rmse_px'] == pytest.approx(
        rmse(y_true[:, kept], y_pred), rel=1e-4)
    assert result['summary']['data']['labelled_coordinates'] == \
        int(np.isfinite(y_true[:, kept]).sum())


def test_a_sparse_run_on_data_without_its_columns_is_refused(tiny_sparse_run,
                                                             tmp_path):
    from data_prep.keypoints import SPARSE_COLUMNS
    path = str(tmp_path / 'complete_elsewhere.csv')
    write_kaggle_csv(path, N_FACES, seed=11, complete_fraction=1.0)
    table = pd.read_csv(path)
    table[list(SPARSE_COLUMNS)] = np.nan  # the 8 columns the run predicts
    table.to_csv(path, index=False)
    with pytest.raises(UserError) as refused:
        evaluate_file(tiny_sparse_run, path, out=str(tmp_path / 'e'))
    assert str(refused.value) == (
        '%s labels none of the 8 keypoint columns %s predicts (%s, ...): '
        'nothing to evaluate on' % (path, tiny_sparse_run, SPARSE_COLUMNS[0]))
    assert not os.path.exists(str(tmp_path / 'e'))
