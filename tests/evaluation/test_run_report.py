import json
import os
import shutil

import numpy as np

import matplotlib.image
import pandas as pd
import pytest

from errors import UserError
from data_prep.keypoints import KEYPOINT_COLUMNS, SPARSE_COLUMNS
from evaluation.run_report import write_run_report
from run_folder import REPORT_FILES, read_valid_predictions
from tests.evaluation.tiny_run import N_VALID


@pytest.fixture(scope='module')
def report(tiny_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp('report') / 'run'
    shutil.copytree(tiny_run, folder)
    return folder, write_run_report(str(folder))


def test_report_writes_its_files_into_the_run_folder(report):
    folder, written = report
    for name in REPORT_FILES:
        assert (folder / name).is_file()
        assert written[name] == str(folder / name)
    for name in ('faces_valid.png', 'worst16.png', 'keypoint_rmse.png'):
        height, width = matplotlib.image.imread(str(folder / name)).shape[:2]
        assert height > 300 and width > 300


def test_errors_table_agrees_with_metrics_json(report):
    folder, _ = report
    metrics = json.loads((folder / 'metrics.json').read_text())
    table = pd.read_csv(folder / 'errors.csv', index_col='keypoint')
    assert list(table.index) == list(KEYPOINT_COLUMNS) + ['overall']
    assert table.loc['overall', 'rmse_px'] == pytest.approx(
        metrics['valid_rmse_px'], abs=1e-3)
    assert table.loc['overall', 'baseline_rmse_px'] == pytest.approx(
        metrics['baseline_rmse_px'], abs=1e-3)
    assert (table['n'].iloc[:30] == N_VALID).all()
    markdown = (folder / 'errors.md').read_text()
    assert markdown.count('\n| ') == 32  # header, 30 keypoints, overall
    assert '| **overall** | **%.2f** |' % table.loc['overall', 'rmse_px'] \
        in markdown


def test_valid_predictions_are_read_as_written(tiny_run):
    rows, y_true, y_pred = read_valid_predictions(
        '%s/valid_predictions.csv' % tiny_run)
    assert list(rows) == list(range(N_VALID))
    assert y_true.shape == y_pred.shape == (N_VALID, 30)


def test_other_data_is_refused(tiny_run, tmp_path):
    folder = tmp_path / 'run'
    shutil.copytree(tiny_run, folder)
    manifest = json.loads((folder / 'manifest.json').read_text())
    manifest['data']['sha256'] = 'f' * 64
    (folder / 'manifest.json').write_text(json.dumps(manifest))
    (folder / 'errors.csv').unlink()  # written when the run ended
    with pytest.raises(UserError, match='not the data the run used'):
        write_run_report(str(folder))
    assert not (folder / 'errors.csv').exists()


def test_no_valid_predictions_is_a_user_error(tiny_run, tmp_path):
    folder = tmp_path / 'run'
    shutil.copytree(tiny_run, folder)
    (folder / 'valid_predictions.csv').unlink()
    with pytest.raises(UserError, match='valid_predictions.csv'):
        write_run_report(str(folder))
    with pytest.raises(UserError, match='not a run folder'):
        write_run_report(str(tmp_path))


def test_sparse_run_s_report_is_over_its_eight_columns(tiny_sparse_run,
                                                       tmp_path):
    folder = tmp_path / 'run'
    shutil.copytree(tiny_sparse_run, folder)
    table = write_run_report(str(folder))['table']
    assert list(table.index) == list(SPARSE_COLUMNS) + ['overall']
    assert (table['n'].iloc[:8] == N_VALID).all()
    metrics = json.loads((folder / 'metrics.json').read_text())
    assert table.loc['overall', 'rmse_px'] == pytest.approx(
        metrics['valid_rmse_px'], abs=1e-3)


def test_report_titles_count_the_missing_keypoints(tmp_path, monkeypatch):
    """A labels='all' run: faces lacking keypoints say how many."""
    from evaluation import pictures, run_report
    from tests.evaluation.tiny_run import ROWS
    from training.run import run
    folder = run('net1', epochs=1, data='synthetic', limit=ROWS, labels='all',
                 net_overrides={'hidden_num_units': 10},
                 out=str(tmp_path / 'all'), command=['tests'])

    def face_grid(images, y_true, y_pred, path, titles=None, **kwargs):
        drawn[os.path.basename(path)] = titles
    drawn = {}
    monkeypatch.setattr(run_report, 'face_grid', face_grid)
    monkeypatch.setattr(pictures, 'face_grid', face_grid)
    write_run_report(folder)
    titles = drawn
    rows, y_true, _ = read_valid_predictions(
        os.path.join(folder, 'valid_predictions.csv'))
    lacking = (~np.isfinite(y_true[:, ::2])).sum(axis=1)
    assert titles['faces_valid.png'] == [
        'row %d%s' % (r, ', %d missing' % m if m else '')
        for r, m in zip(rows[:16], lacking[:16])]
    assert any(', 11 missing' in t for t in titles['faces_valid.png'])
    assert any(t.endswith(' px, 11 missing') for t in titles['worst16.png'])
