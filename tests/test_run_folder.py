"""run_folder: the run folder's names, formats, statuses and its one atomic write."""
import datetime
import doctest
import json
import os
import re

import numpy as np
import pytest

import run_folder as rf
from data_prep.keypoints import KEYPOINT_COLUMNS
from errors import UserError


def test_docstring_examples():
    result = doctest.testmod(rf, optionflags=doctest.ELLIPSIS
                             | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_every_file_of_the_layout_has_a_path_and_no_other():
    assert rf.run_path('run', rf.MANIFEST) == os.path.join('run', 'manifest.json')
    for name in ('faces_valid.png', 'errors.md', 'checkpoint', 'weights.npz'):
        assert rf.run_path('run', name) == os.path.join('run', name)
    with pytest.raises(ValueError, match='not a file of a run folder'):
        rf.run_path('run', 'submission.csv')


# ------------------------------------------------------------ atomic writes

def test_atomic_path_replaces_only_when_the_writer_succeeds(tmp_path):
    target = tmp_path / 'errors.csv'
    target.write_text('earlier\n')
    with pytest.raises(RuntimeError):
        with rf.atomic_path(str(target)) as tmp:
            assert tmp.endswith('.csv') and os.path.dirname(tmp) == str(tmp_path)
            with open(tmp, 'w') as f:
                f.write('half')
            raise RuntimeError('disk full')
    assert target.read_text() == 'earlier\n'
    assert os.listdir(str(tmp_path)) == ['errors.csv']  # no temporary left
    with rf.atomic_path(str(target), fsync=True) as tmp:
        with open(tmp, 'w') as f:
            f.write('new\n')
        assert target.read_text() == 'earlier\n'
    assert target.read_text() == 'new\n'
    assert os.listdir(str(tmp_path)) == ['errors.csv']


def test_two_temporaries_of_one_path_differ(tmp_path):
    target = str(tmp_path / 'a.json')
    with rf.atomic_path(target) as first, rf.atomic_path(target) as second:
        assert first != second
        for tmp in (first, second):
            with open(tmp, 'w') as f:
                f.write(tmp)
    assert open(target).read() == first  # the outer block ends last


def test_atomic_open_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / 'weights.npz'
    with rf.atomic_open(str(target), 'wb') as f:
        np.savez(f, a=np.arange(3))
    with pytest.raises(KeyboardInterrupt):
        with rf.atomic_open(str(target), 'wb') as f:
            f.write(b'PK truncated')
            raise KeyboardInterrupt()
    with np.load(str(target)) as npz:
        assert list(npz['a']) == [0, 1, 2]
    assert os.listdir(str(tmp_path)) == ['weights.npz']


def test_atomic_folder_swaps_whole_folders(tmp_path):
    final = str(tmp_path / 'checkpoint')
    for epoch in (1, 2):
        with rf.atomic_folder(final) as tmp:
            with open(os.path.join(tmp, 'history.json'), 'w') as f:
                f.write(str(epoch))
    assert sorted(os.listdir(str(tmp_path))) == ['checkpoint']
    assert open(os.path.join(final, 'history.json')).read() == '2'
    with pytest.raises(RuntimeError):
        with rf.atomic_folder(final) as tmp:
            open(os.path.join(tmp, 'history.json'), 'w').close()
            raise RuntimeError('killed half-way')
    assert sorted(os.listdir(str(tmp_path))) == ['checkpoint']
    assert open(os.path.join(final, 'history.json')).read() == '2'


# --------------------------------------------------------------------- JSON

def test_json_is_strict_and_keeps_the_format(tmp_path):
    path = str(tmp_path / 'metrics.json')
    rf.write_json(path, {'valid_loss': float('nan'), 'n': np.int64(3),
                         'mse': np.float32(0.5), 'shape': (3, 3),
                         'inf': [np.inf], 'w': np.arange(2)})
    text = open(path).read()
    assert text.endswith('}\n') and '\n  "n": 3,' in text
    loaded = json.loads(text, parse_constant=lambda c: pytest.fail(c))
    assert loaded == {'valid_loss': None, 'n': 3, 'mse': 0.5,
                      'shape': [3, 3], 'inf': [None], 'w': [0, 1]}
    assert rf.read_json(path) == loaded


def test_unreadable_json_is_a_run_folder_error(tmp_path):
    with pytest.raises(rf.RunFolderError, match='cannot read'):
        rf.read_json(str(tmp_path / 'absent.json'))
    (tmp_path / 'bad.json').write_text('{"status": ')
    with pytest.raises(rf.RunFolderError, match='bad.json is not readable JSON'):
        rf.read_json(str(tmp_path / 'bad.json'))
    assert issubclass(rf.RunFolderError, UserError)


# ------------------------------------------------------ manifest, statuses

def test_read_manifest_has_one_contract(tmp_path):
    with pytest.raises(rf.RunFolderError, match='not a run folder'):
        rf.read_manifest(str(tmp_path))
    (tmp_path / 'manifest.json').write_text('{"net": ')
    with pytest.raises(rf.RunFolderError, match='not readable JSON'):
        rf.read_manifest(str(tmp_path))
    (tmp_path / 'manifest.json').write_text('["net6"]')
    with pytest.raises(rf.RunFolderError, match='not a JSON object'):
        rf.read_manifest(str(tmp_path))
    rf.write_manifest(str(tmp_path), {'net': 'net6', 'status': 'running'})
    assert rf.read_manifest(str(tmp_path)) == {'net': 'net6',
                                               'status': 'running'}


def test_run_status(tmp_path):
    folder = tmp_path / 'row'
    assert rf.run_status(str(folder)) == 'absent'
    folder.mkdir()
    assert rf.run_status(str(folder)) == 'absent'
    (folder / 'history.csv').write_text('epoch\n')
    assert rf.run_status(str(folder)) == 'broken'
    (folder / 'manifest.json').write_text('not json')
    assert rf.run_status(str(folder)) == 'broken'
    rf.write_manifest(str(folder), {'net': 'net1'})
    assert rf.run_status(str(folder)) == 'broken'
    for status in rf.STATUSES:
        rf.write_manifest(str(folder), {'status': status})
        assert rf.run_status(str(folder)) == status
    assert set(rf.FINISHED_STATUSES) < set(rf.STATUSES)


def test_manifest_net_overrides_are_tuples_again(tmp_path):
    rf.write_manifest(str(tmp_path), {'net_overrides': {
        'conv1_filter_size': (3, 3), 'hidden_num_units': 10}})
    overrides = rf.manifest_net_overrides(rf.read_manifest(str(tmp_path)))
    assert overrides == {'conv1_filter_size': (3, 3), 'hidden_num_units': 10}
    assert rf.manifest_net_overrides({'net_overrides': None}) == {}


# ----------------------------------------------------------------- history

TRAIN_HISTORY = [
    {'epoch': 1, 'train_loss': np.float32(0.25), 'valid_loss': 0.125,
     'dur': 1.5, 'train_loss_best': True},
    {'epoch': 2, 'train_loss': 0.1, 'valid_loss': 0.0, 'dur': np.float64(2)},
]


def test_history_csv_round_trip(tmp_path):
    path = str(tmp_path / 'history.csv')
    rf.write_history_csv(TRAIN_HISTORY, path)
    lines = open(path).read().splitlines()
    assert lines == ['epoch,train_loss,valid_loss,train_over_valid,dur_s',
                     '1,0.25,0.125,2,1.5', '2,0.1,0,nan,2']
    rows = rf.read_history_csv(path)
    assert [r['epoch'] for r in rows] == [1, 2]
    assert rows[0]['train_over_valid'] == 2.0
    assert np.isnan(rows[1]['train_over_valid'])


def test_bad_history_csv_is_a_run_folder_error(tmp_path):
    path = tmp_path / 'log.csv'
    path.write_text('epoch,loss\n1,x\n')
    with pytest.raises(rf.RunFolderError, match='not a readable history CSV'):
        rf.read_history_csv(str(path))
    with pytest.raises(rf.RunFolderError, match='not a readable history CSV'):
        rf.read_history_csv(str(tmp_path / 'absent.csv'))


def test_checkpoint_history_keeps_nan_and_every_key(tmp_path):
    history = TRAIN_HISTORY + [{'epoch': 3, 'train_loss': np.float32('nan'),
                                'valid_loss': float('nan'), 'dur': 1.0}]
    rf.write_checkpoint_history(str(tmp_path), history)
    text = (tmp_path / 'history.json').read_text()
    assert text.startswith('{"epoch": 3, "history": [{"epoch": 1, ')
    back = rf.read_checkpoint_history(str(tmp_path))
    assert back[0] == {'epoch': 1, 'train_loss': 0.25, 'valid_loss': 0.125,
                       'dur': 1.5, 'train_loss_best': True}
    assert np.isnan(back[2]['train_loss']) and np.isnan(back[2]['valid_loss'])
    (tmp_path / 'history.json').write_text('{"epoch": 1}')
    with pytest.raises(rf.RunFolderError, match='not a readable checkpoint'):
        rf.read_checkpoint_history(str(tmp_path))


def test_find_checkpoint_prefers_the_newest_complete_one(tmp_path):
    run = str(tmp_path)
    assert rf.find_checkpoint(run) is None
    os.makedirs(os.path.join(run, 'checkpoint'))  # no history: incomplete
    assert rf.find_checkpoint(run) is None
    rf.write_checkpoint_history(os.path.join(run, 'checkpoint'), [])
    os.makedirs(os.path.join(run, 'checkpoint.old'))
    rf.write_checkpoint_history(os.path.join(run, 'checkpoint.old'), [])
    assert rf.find_checkpoint(run) == os.path.join(run, 'checkpoint')


# ---------------------------------------------------- predictions, metrics

def test_valid_predictions_round_trip(tmp_path):
    path = str(tmp_path / 'valid_predictions.csv')
    y_true = np.full((2, 30), 48.0)
    y_true[1, 3] = np.nan
    y_pred = np.arange(60, dtype=np.float64).reshape(2, 30) / 3
    rf.write_valid_predictions(path, np.array([0, 1]), np.array([7, 9]),
                               y_true, y_pred)
    header = open(path).readline().strip().split(',')
    assert header == (['row', 'image_id'] + list(KEYPOINT_COLUMNS)
                      + ['%s_pred' % c for c in KEYPOINT_COLUMNS])
    assert open(path).read().splitlines()[1].startswith('0,7,48.0000,')
    rows, true, pred = rf.read_valid_predictions(path)
    assert list(rows) == [0, 1] and np.isnan(true[1, 3])
    np.testing.assert_allclose(pred, y_pred, atol=1e-4)


def test_valid_predictions_of_a_sparse_run(tmp_path):
    path = str(tmp_path / 'valid_predictions.csv')
    columns = ('nose_tip_x', 'nose_tip_y')
    rf.write_valid_predictions(path, np.array([3]), np.array([8]),
                               np.array([[50.0, np.nan]]),
                               np.array([[51.0, 52.0]]), columns)
    assert open(path).readline().strip() == \
        'row,image_id,nose_tip_x,nose_tip_y,nose_tip_x_pred,nose_tip_y_pred'
    rows, true, pred = rf.read_valid_predictions(path)
    assert true.shape == pred.shape == (1, 30)
    nose = KEYPOINT_COLUMNS.index('nose_tip_x')
    assert true[0, nose] == 50.0 and np.isnan(true[0, nose + 1])
    assert pred[0, nose:nose + 2].tolist() == [51.0, 52.0]
    assert np.isnan(np.delete(pred[0], [nose, nose + 1])).all()


def test_manifest_columns_and_cleaning():
    assert rf.manifest_columns({}) == KEYPOINT_COLUMNS
    assert rf.manifest_columns({'columns': ['nose_tip_x']}) == ('nose_tip_x',)
    assert rf.manifest_cleaning({'cleaning': {
        'method': 'study', 'clean_list': '/x/drop.txt',
        'dropped': [{'row': 1747}, {'row': 1877}]}}) == {
        'clean': 'study', 'clean_list': '/x/drop.txt',
        'dropped_rows': [1747, 1877]}


def test_bad_valid_predictions_are_run_folder_errors(tmp_path):
    path = tmp_path / 'valid_predictions.csv'
    with pytest.raises(rf.RunFolderError, match='not a readable'):
        rf.read_valid_predictions(str(path))
    path.write_text('row,image_id\n0,1\n')
    with pytest.raises(rf.RunFolderError, match='lacks column'):
        rf.read_valid_predictions(str(path))
    path.write_text('row,image_id,nose_tip_x\n0,1,3.0\n')
    with pytest.raises(rf.RunFolderError, match='lacks column nose_tip_x_pred'):
        rf.read_valid_predictions(str(path))


def test_metrics_round_trip(tmp_path):
    rf.write_metrics(str(tmp_path), {'valid_rmse_px': 1.5, 'valid_mse': np.nan})
    assert rf.read_metrics(str(tmp_path)) == {'valid_rmse_px': 1.5,
                                              'valid_mse': None}


# ------------------------------------------------------------------ folders

def test_new_run_folders(tmp_path):
    when = datetime.datetime(2016, 4, 1, 9, 5, 0)
    first = rf.default_run_folder('net6', str(tmp_path), when)
    rf.check_new_run_folder(first)  # absent: fine
    os.makedirs(first)
    rf.check_new_run_folder(first)  # empty: fine
    assert rf.default_run_folder('net6', str(tmp_path), when) == first + '-2'
    open(os.path.join(first, 'weights.npz'), 'w').close()
    with pytest.raises(UserError, match='already holds files'):
        rf.check_new_run_folder(first)
    with pytest.raises(UserError, match='is a file'):
        rf.check_new_run_folder(os.path.join(first, 'weights.npz'))


# --------------------------------------------------------------- provenance

def test_package_versions_follow_the_requirements(tmp_path):
    requirements = tmp_path / 'requirements.txt'
    requirements.write_text('# pins\nnumpy==1.23.5\nno-such-package-kfkd==1\n')
    versions = rf.package_versions(str(requirements))
    assert versions == {'numpy': np.__version__, 'no-such-package-kfkd': None}
    assert set(rf.package_versions(str(tmp_path / 'absent'))) == set(rf.STACK)


def test_git_state(tmp_path):
    assert rf.git_state(str(tmp_path)) == {'commit': 'unknown', 'dirty': None}
    state = rf.git_state()
    assert state['commit'] == 'unknown' or len(state['commit']) == 40


def test_provenance_and_time():
    record = rf.provenance()
    assert list(record) == ['python', 'platform', 'packages', 'theano', 'git']
    assert {'floatX', 'blas.ldflags', 'openmp', 'device', 'THEANO_FLAGS',
            'OMP_NUM_THREADS'} <= set(record['theano'])
    assert record['packages']['Theano'] == '1.0.5'
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d',
                        rf.now())


def test_a_file_that_is_not_a_history_is_refused_without_quoting_it(tmp_path):
    path = tmp_path / 'training.csv'
    pixels = ' '.join(['128'] * 9216)
    path.write_text('left_eye_center_x,Image\n66.0,%s\n' % pixels)
    with pytest.raises(rf.RunFolderError) as refused:
        rf.read_history_csv(str(path))
    assert str(refused.value) == (
        '%s is not a readable history CSV (no epoch, train_loss, valid_loss '
        'column; a history has epoch,train_loss,valid_loss,train_over_valid,'
        'dur_s)' % path)
