"""Smoke runs of the tables on synthetic faces: tiny epoch scale, a data subset.

Every table runs end to end (conv tables on one or two rows in the fast
suite, all rows under ``slow``) and writes each row's run folder, table.md,
table.csv, curves.png and the pictures; finished rows are not run again; an
interrupted row resumes; parallel rows run in their own processes.
"""
import csv
import json
import os
import shutil

import pytest

from errors import UserError
from experiments.report import write_report
from experiments.runner import row_status, run_table
from experiments.summary import COLUMNS
from experiments.tables import TABLES
from training.run import run

LIMIT = 20      # synthetic faces: 16 train / 4 valid
TINY = 1e-6     # every row trains 1 epoch


def _run(results, table, rows=None, jobs=1, scale=TINY):
    log = []
    statuses = run_table(table, str(results), epochs_scale=scale, jobs=jobs,
                         data='synthetic', limit=LIMIT, rows=rows,
                         log=log.append)
    return statuses, log


def _table_csv(results, table):
    with open(os.path.join(str(results), table, 'table.csv'),
              newline='') as f:
        return list(csv.DictReader(f))


def _check_outputs(results, table, rows):
    folder = os.path.join(str(results), table)
    for name in ('table.md', 'table.csv', 'curves.png', 'settings.json'):
        assert os.path.getsize(os.path.join(folder, name)) > 0, name
    for row in rows:
        for name in ('manifest.json', 'weights.npz', 'history.csv',
                     'loss.png', 'valid_predictions.csv', 'metrics.json'):
            assert os.path.isfile(os.path.join(folder, row, name)), (row, name)
        assert row_status(os.path.join(folder, row)) == 'completed'
    records = {r['row']: r for r in _table_csv(results, table)}
    assert list(records) == list(TABLES[table].rows)
    assert tuple(_table_csv(results, table)[0]) == COLUMNS
    for row in rows:
        record = records[row]
        assert record['epochs run'] == '1'
        assert float(record['our val loss']) > 0
        assert float(record['our val RMSE px']) > 0
        assert record['data set'] == 'synthetic, 16 train / 4 valid (limit 20)'
    md = open(os.path.join(folder, 'table.md')).read()
    assert '**This run: epoch scale 1e-06**' in md
    assert '**data: synthetic** (first 20 shuffled rows only)' in md
    return records


def test_preprocessing_every_row(tmp_path):
    statuses, _ = _run(tmp_path, 'preprocessing')
    assert statuses == {r: 'completed' for r in TABLES['preprocessing'].rows}
    records = _check_outputs(tmp_path, 'preprocessing',
                             TABLES['preprocessing'].rows)
    assert records['none']['slide val loss'] == '0.00244'
    assert records['adaptive']['slide val loss'] == ''
    folder = tmp_path / 'preprocessing'
    assert (folder / 'faces.png').stat().st_size > 0
    assert (folder / 'first_layer.png').stat().st_size > 0
    manifest = json.loads((folder / 'equalize' / 'manifest.json').read_text())
    assert manifest['preprocess'] == 'equalize'
    assert manifest['net_overrides'] == {'hidden_num_units': 500}
    assert manifest['epochs_requested'] == 1


def test_finished_rows_are_not_run_again(tmp_path):
    _run(tmp_path, 'preprocessing', rows=['none'])
    weights = tmp_path / 'preprocessing' / 'none' / 'weights.npz'
    before = weights.stat().st_mtime_ns
    statuses, log = _run(tmp_path, 'preprocessing', rows=['none'])
    assert statuses == {'none': 'completed'}
    assert log == ['preprocessing/none: completed, not run again']
    assert weights.stat().st_mtime_ns == before


def test_other_settings_are_refused_and_nothing_is_lost(tmp_path):
    _run(tmp_path, 'preprocessing', rows=['none'])
    weights = tmp_path / 'preprocessing' / 'none' / 'weights.npz'
    before = weights.stat().st_mtime_ns
    with pytest.raises(UserError, match='epochs_scale 1e-06 \\(now 0.5\\)'):
        _run(tmp_path, 'preprocessing', rows=['none'], scale=0.5)
    assert weights.stat().st_mtime_ns == before


def test_interrupted_row_resumes_and_broken_row_is_moved_aside(tmp_path):
    folder = tmp_path / 'hidden_units' / '100'
    run('net1', epochs=1, data='synthetic', limit=LIMIT, out=str(folder),
        net_overrides={'hidden_num_units': 100}, checkpoint_every=1)
    manifest = json.loads((folder / 'manifest.json').read_text())
    manifest['status'] = 'interrupted'
    (folder / 'manifest.json').write_text(json.dumps(manifest))
    broken = tmp_path / 'hidden_units' / '200'
    broken.mkdir()
    (broken / 'history.csv').write_text('epoch\n')
    # 0.002 x 1000 = 2 epochs: the interrupted row trains its second.
    statuses, log = _run(tmp_path, 'hidden_units', rows=['100', '200'],
                         scale=0.002)
    assert statuses == {'100': 'completed', '200': 'completed'}
    assert 'hidden_units/100: interrupted, resuming' in log
    assert len((folder / 'history.csv').read_text().splitlines()) == 3
    aside = [p for p in os.listdir(str(tmp_path / 'hidden_units'))
             if p.startswith('200.partial-')]
    assert len(aside) == 1
    assert (tmp_path / 'hidden_units' / aside[0] / 'history.csv').exists()


def test_hidden_units_in_parallel_processes(tmp_path):
    statuses, log = _run(tmp_path, 'hidden_units', rows=['100', '1000'],
                         jobs=2)
    assert statuses == {'100': 'completed', '1000': 'completed'}
    assert any('2 rows in 2 processes (OMP_NUM_THREADS=' in line
               for line in log)
    _check_outputs(tmp_path, 'hidden_units', ['100', '1000'])
    assert (tmp_path / 'hidden_units' / 'logs' / '1000.log').exists()
    manifest = json.loads(
        (tmp_path / 'hidden_units' / '1000' / 'manifest.json').read_text())
    assert manifest['net_overrides'] == {'hidden_num_units': 1000}
    assert manifest['theano']['OMP_NUM_THREADS'] is not None


def test_conv_table_tiny(tmp_path):
    statuses, _ = _run(tmp_path, 'conv1_filter_size', rows=['3x3'])
    assert statuses == {'3x3': 'completed'}
    records = _check_outputs(tmp_path, 'conv1_filter_size', ['3x3'])
    assert records['12x12']['epochs run'] == 'not run'
    assert records['3x3']['slide train loss'] == '0.00294'
    assert (tmp_path / 'conv1_filter_size' / 'first_layer.png').exists()


def test_dct_row_trains_on_augmented_copies(tmp_path):
    statuses, _ = _run(tmp_path, 'dct_augmentation', rows=['lpf5'])
    assert statuses == {'lpf5': 'completed'}
    metrics = json.loads((tmp_path / 'dct_augmentation' / 'lpf5'
                          / 'metrics.json').read_text())
    # validation stays the 4 original faces; the baseline uses the 16 originals
    assert (metrics['n_train'], metrics['n_valid']) == (16, 4)
    records = {r['row']: r for r in _table_csv(tmp_path, 'dct_augmentation')}
    assert records['lpf5']['slide val loss'] == 'slightly worse'


def test_report_gathers_finished_tables(tmp_path):
    path, tables = write_report(str(tmp_path))
    assert tables == []
    assert 'No table has a finished row yet' in open(path).read()
    _run(tmp_path, 'dropout', rows=['0.1'])
    path, tables = write_report(str(tmp_path))
    assert tables == ['dropout']
    text = open(path).read()
    assert '## Dropout rate of a single-hidden-layer net (`dropout`)' in text
    assert '(dropout/curves.png)' in text and '(dropout/faces.png)' in text
    assert '| 0.1 | 0.00140 | 0.00224 |' in text


@pytest.mark.slow
@pytest.mark.parametrize('table', list(TABLES))
def test_every_table_every_row(tmp_path, table):
    statuses, _ = _run(tmp_path, table)
    assert set(statuses.values()) == {'completed'}
    _check_outputs(tmp_path, table, TABLES[table].rows)


def test_convnet_comparison_draws_the_study_s_logs(tmp_path):
    from tests.conftest import shared_path
    shared_path('data', 'w207_logs', 'w207final_net1.csv')
    statuses, _ = _run(tmp_path, 'convnet_comparison', rows=['net1'])
    assert statuses == {'net1': 'completed'}
    records = _check_outputs(tmp_path, 'convnet_comparison', ['net1'])
    assert records['net2']['epochs run'] == 'not run'
    assert records['net5']['slide val loss'] == 'better than Net6'
    assert records['net1']['slide s/epoch'] == '0.07'
    md = open(str(tmp_path / 'convnet_comparison' / 'table.md')).read()
    assert '# Comparison of Different ConvNets (`convnet_comparison`)' in md
    assert "dashed: the study's own log of that row" in md
    manifest = json.loads((tmp_path / 'convnet_comparison' / 'net1'
                           / 'manifest.json').read_text())
    assert manifest['net'] == 'net1' and manifest['net_overrides'] == {}


def test_cv_rows_are_mean_and_std_over_their_folds(tmp_path):
    from experiments.__main__ import list_tables
    from experiments.summary import CV_COLUMNS
    log = []
    statuses = run_table('preprocessing', str(tmp_path), epochs_scale=TINY,
                         data='synthetic', limit=LIMIT, rows=['none', 'stretch'],
                         log=log.append, cv=2)
    assert statuses == {'none': 'completed', 'stretch': 'completed'}
    folder = tmp_path / 'preprocessing'
    settings = json.loads((folder / 'settings.json').read_text())
    assert settings['cv'] == 2
    records = {r['row']: r for r in _table_csv(tmp_path, 'preprocessing')}
    assert tuple(_table_csv(tmp_path, 'preprocessing')[0]) == CV_COLUMNS
    md = open(str(folder / 'table.md')).read()
    assert '**Cross-validation: each row trained 2 times**' in md
    for row in ('none', 'stretch'):
        parent = folder / row
        assert sorted(p for p in os.listdir(str(parent))
                      if p.startswith('fold')) == ['fold1', 'fold2']
        metrics = [json.loads((parent / f / 'metrics.json').read_text())
                   for f in ('fold1', 'fold2')]
        valid = [m['valid_loss'] for m in metrics]
        rmse = [m['valid_rmse_px'] for m in metrics]
        record = records[row]
        assert float(record['our val loss']) == pytest.approx(
            sum(valid) / 2, abs=1e-5)
        assert float(record['our val loss std']) == pytest.approx(
            abs(valid[0] - valid[1]) / 2, abs=1e-5)
        assert float(record['our val RMSE px']) == pytest.approx(
            sum(rmse) / 2, abs=0.01)
        assert float(record['our val RMSE px std']) == pytest.approx(
            abs(rmse[0] - rmse[1]) / 2, abs=0.01)
        assert (record['folds'], record['epochs run']) == ('2', '1')
        assert record['data set'] == ('synthetic, 10 train / 10 valid '
                                      '(limit 20); 2 folds')
        assert '| %s ± %s |' % (record['our val loss'],
                                record['our val loss std']) in md
        fold2 = json.loads((parent / 'fold2' / 'manifest.json').read_text())
        assert fold2['fold'] == [2, 2] and fold2['preprocess'] == row
    assert records['equalize']['epochs run'] == 'not run'
    assert list_tables(str(tmp_path))[0].split()[:2] == ['preprocessing', '2/4']
    # Finished: not run again; without --cv the table is refused.
    weights = folder / 'none' / 'fold1' / 'weights.npz'
    before = weights.stat().st_mtime_ns
    again = []
    run_table('preprocessing', str(tmp_path), epochs_scale=TINY,
              data='synthetic', limit=LIMIT, rows=['none'], log=again.append,
              cv=2)
    assert again[0] == 'preprocessing/none: completed, not run again'
    with pytest.raises(UserError, match=r'cv 2 \(now None\)'):
        _run(tmp_path, 'preprocessing', rows=['none'])
    assert weights.stat().st_mtime_ns == before


def test_an_interrupted_cv_row_goes_on_with_its_folds(tmp_path):
    from training import cv
    folder = tmp_path / 'preprocessing' / 'none'
    cv.run_cv('net1', 2, out=str(folder), epochs=1, data='synthetic',
              limit=LIMIT, net_overrides={'hidden_num_units': 500},
              log=lambda line: None)
    shutil.rmtree(str(folder / 'fold2'))
    log = []
    statuses = run_table('preprocessing', str(tmp_path), epochs_scale=TINY,
                         data='synthetic', limit=LIMIT, rows=['none'],
                         log=log.append, cv=2)
    assert statuses == {'none': 'completed'}
    assert 'preprocessing/none: interrupted, going on with its folds' in log
    assert 'fold 1 of 2: completed, kept' in log
    assert (folder / 'fold2' / 'weights.npz').exists()


def test_a_row_killed_after_its_last_epoch_is_finished_on_rerun(tmp_path):
    statuses, _ = _run(tmp_path, 'hidden_units', rows=['100'])
    folder = tmp_path / 'hidden_units' / '100'
    # What a kill after the last epoch's checkpoint leaves: 'running', no
    # metrics or pictures.
    manifest = json.loads((folder / 'manifest.json').read_text())
    manifest['status'] = 'running'
    (folder / 'manifest.json').write_text(json.dumps(manifest))
    for name in ('metrics.json', 'worst16.png'):
        (folder / name).unlink()
    history = (folder / 'history.csv').read_text()
    for _ in range(2):  # and again: a finished row is not run again
        statuses, log = _run(tmp_path, 'hidden_units', rows=['100'])
        assert statuses == {'100': 'completed'}
    assert (folder / 'history.csv').read_text() == history
    assert (folder / 'metrics.json').is_file() and (folder / 'worst16.png').is_file()
    assert log == ['hidden_units/100: completed, not run again'] + log[1:]
