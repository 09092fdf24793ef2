"""training.run: one tiny training run writes a complete, truthful run folder."""
import csv
import datetime
import json
import os

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

import compat  # noqa: F401
from errors import UserError
from data_prep.dataset import load_dataset
from data_prep.keypoints import KEYPOINT_COLUMNS
from nets import build_net
from run_folder import default_run_folder
from training import run as runner
from training.weights import load_weights

TINY_NET1 = {'hidden_num_units': 10}
LIMIT = 200


def tiny_run(out, epochs=3, seed=42, **kwargs):
    return runner.run('net1', epochs=epochs, data='synthetic', limit=LIMIT,
                      out=str(out), seed=seed, checkpoint_every=2,
                      net_overrides=TINY_NET1, command=['test'], **kwargs)


def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp('runs') / 'net1')


@pytest.fixture(scope='module')
def data():
    dataset = load_dataset('synthetic', labels='complete', shuffle_seed=42,
                           n_synthetic=LIMIT)
    return dataset.X[:LIMIT], dataset.y[:LIMIT], dataset.image_ids[:LIMIT]


def test_run_folder_holds_every_file(folder):
    assert sorted(os.listdir(folder)) == [
        'checkpoint', 'errors.csv', 'errors.md', 'faces_valid.png',
        'history.csv', 'keypoint_rmse.png', 'loss.png', 'manifest.json',
        'metrics.json', 'valid_predictions.csv', 'weights.npz', 'worst16.png']


def test_run_report_agrees_with_metrics(folder):
    errors = pd.read_csv(os.path.join(folder, 'errors.csv'), index_col=0)
    with open(os.path.join(folder, 'metrics.json')) as f:
        metrics = json.load(f)
    assert errors.loc['overall', 'rmse_px'] == pytest.approx(
        metrics['valid_rmse_px'], abs=1e-3)
    assert errors.loc['overall', 'baseline_rmse_px'] == pytest.approx(
        metrics['baseline_rmse_px'], abs=1e-3)


def test_history_csv_has_the_study_logs_columns(folder):
    with open(os.path.join(folder, 'history.csv')) as f:
        assert f.readline().strip() == \
            'epoch,train_loss,valid_loss,train_over_valid,dur_s'
    rows = read_csv(os.path.join(folder, 'history.csv'))
    assert [int(r['epoch']) for r in rows] == [1, 2, 3]
    for r in rows:
        train, valid = float(r['train_loss']), float(r['valid_loss'])
        assert 0 < train < 1 and 0 < valid < 1
        assert float(r['train_over_valid']) == pytest.approx(train / valid,
                                                             rel=1e-6)
        assert float(r['dur_s']) >= 0


def test_weights_load_into_the_same_net(folder):
    net = build_net('net1', **TINY_NET1)
    net.initialize_layers()
    load_weights(net, os.path.join(folder, 'weights.npz'), 'net1')
    with np.load(os.path.join(folder, 'weights.npz'), allow_pickle=False) as npz:
        np.testing.assert_array_equal(net.layers_['output'].W.get_value(),
                                      npz['output.W'])


def test_valid_predictions_are_the_first_fifth_in_pixels(folder, data):
    rows = read_csv(os.path.join(folder, 'valid_predictions.csv'))
    assert len(rows) == LIMIT // 5  # TrainSplit(eval_size=0.2): first 20%
    assert list(rows[0]) == (['row', 'image_id'] + list(KEYPOINT_COLUMNS)
                             + ['%s_pred' % c for c in KEYPOINT_COLUMNS])
    assert [int(r['row']) for r in rows] == list(range(LIMIT // 5))
    _, y, image_ids = data
    assert [int(r['image_id']) for r in rows] == list(image_ids[:LIMIT // 5])
    true_px = np.array([[float(r[c]) for c in KEYPOINT_COLUMNS] for r in rows])
    np.testing.assert_allclose(true_px, y[:LIMIT // 5] * 48 + 48, atol=1e-3)
    pred_px = np.array([[float(r[c + '_pred']) for c in KEYPOINT_COLUMNS]
                        for r in rows])
    assert np.all(np.isfinite(pred_px)) and not np.allclose(pred_px, true_px)


def test_metrics_agree_with_predictions_and_history(folder, data):
    metrics = json.load(open(os.path.join(folder, 'metrics.json')))
    history = read_csv(os.path.join(folder, 'history.csv'))
    assert metrics['epochs_run'] == 3 and metrics['status'] == 'completed'
    assert metrics['valid_loss'] == pytest.approx(float(history[-1]['valid_loss']))
    # nolearn's valid loss is the MSE of the predictions on scaled targets.
    assert metrics['valid_mse'] == pytest.approx(metrics['valid_loss'], rel=1e-4)
    rows = read_csv(os.path.join(folder, 'valid_predictions.csv'))
    err = np.array([[float(r[c + '_pred']) - float(r[c]) for c in KEYPOINT_COLUMNS]
                    for r in rows])
    assert metrics['valid_rmse_px'] == pytest.approx(
        np.sqrt(np.mean(err ** 2)), rel=1e-3)
    assert metrics['valid_rmse_px'] == pytest.approx(
        np.sqrt(metrics['valid_mse']) * 48)
    _, y, _ = data
    n_valid = LIMIT // 5
    baseline = np.sqrt(np.mean((y[n_valid:].mean(axis=0) - y[:n_valid]) ** 2)) * 48
    assert metrics['baseline_rmse_px'] == pytest.approx(baseline, rel=1e-5)
    assert (metrics['n_train'], metrics['n_valid']) == (LIMIT - n_valid, n_valid)
    assert metrics['seconds_per_epoch_median'] > 0


def test_manifest_records_what_ran(folder):
    m = json.load(open(os.path.join(folder, 'manifest.json')))
    assert m['net'] == 'net1' and m['net_overrides'] == TINY_NET1
    assert m['status'] == 'completed'
    assert (m['epochs_requested'], m['epochs_run']) == (3, 3)
    assert m['params'] == 9216 * 10 + 10 + 10 * 30 + 30
    assert m['seed'] == 42 and m['command'] == ['test']
    assert m['data']['path'] == 'synthetic' and len(m['data']['sha256']) == 64
    assert m['data']['synthetic_seed'] is not None
    assert (m['data']['n_train'], m['data']['n_valid']) == (160, 40)
    assert m['packages']['Theano'] == '1.0.5'
    assert m['packages']['nolearn'] == '0.6.1'
    assert m['theano']['floatX'] == 'float32'
    assert {'blas.ldflags', 'openmp', 'device', 'THEANO_FLAGS'} <= set(m['theano'])
    assert m['git']['commit'] == 'unknown' or len(m['git']['commit']) == 40
    assert m['started'] <= m['ended'] and m['seconds_per_epoch'] > 0
    assert m['preprocess'] == 'none' and m['batch_size'] == 128


def test_loss_png_is_a_picture(folder):
    image = matplotlib.image.imread(os.path.join(folder, 'loss.png'))
    assert image.shape[:2] == (450, 700)
    assert image.std() > 0.05  # not a blank canvas


def test_same_seed_same_history_other_seed_differs(tmp_path, folder):
    again = read_csv(os.path.join(tiny_run(tmp_path / 'again'), 'history.csv'))
    first = read_csv(os.path.join(folder, 'history.csv'))
    other = read_csv(os.path.join(tiny_run(tmp_path / 'seed7', seed=7),
                                  'history.csv'))
    losses = lambda rows: [(r['train_loss'], r['valid_loss']) for r in rows]  # noqa: E731
    assert losses(again) == losses(first)
    assert losses(other) != losses(first)


def test_existing_run_folder_is_refused_and_kept(tmp_path, folder):
    before = {name: os.path.getmtime(os.path.join(folder, name))
              for name in os.listdir(folder)}
    with pytest.raises(UserError, match='already holds files'):
        tiny_run(folder)
    assert before == {name: os.path.getmtime(os.path.join(folder, name))
                      for name in os.listdir(folder)}


def test_ctrl_c_leaves_a_complete_interrupted_run(tmp_path, monkeypatch):
    class CtrlC(runner.Checkpoint):
        def __call__(self, nn, train_history):
            super(CtrlC, self).__call__(nn, train_history)
            if train_history[-1]['epoch'] == 2:
                raise KeyboardInterrupt()
    monkeypatch.setattr(runner, 'Checkpoint', CtrlC)
    folder = tiny_run(tmp_path / 'run', epochs=4)
    assert {'history.csv', 'weights.npz', 'metrics.json', 'loss.png',
            'valid_predictions.csv', 'manifest.json'} <= set(os.listdir(folder))
    assert len(read_csv(os.path.join(folder, 'history.csv'))) == 2
    manifest = json.load(open(os.path.join(folder, 'manifest.json')))
    assert (manifest['status'], manifest['epochs_run']) == ('interrupted', 2)
    monkeypatch.undo()
    runner.resume(folder)
    assert len(read_csv(os.path.join(folder, 'history.csv'))) == 4


def test_non_finite_loss_is_reported_as_such(tmp_path):
    folder = runner.run('net1', epochs=5, data='synthetic', limit=LIMIT,
                        out=str(tmp_path / 'nan'), command=['test'],
                        net_overrides=dict(TINY_NET1, update_learning_rate=1e4))
    manifest = json.load(open(os.path.join(folder, 'manifest.json')))
    assert manifest['status'] == 'stopped-nonfinite'
    assert manifest['epochs_run'] < 5
    with open(os.path.join(folder, 'metrics.json')) as f:
        metrics = json.load(f, parse_constant=lambda c: pytest.fail(
            'metrics.json holds %s: not strict JSON' % c))
    assert metrics['status'] == 'stopped-nonfinite'


@pytest.mark.parametrize('kwargs, message', [
    (dict(labels='all'), "labels='all'"),
    (dict(limit=5), 'limit=5'),
    (dict(checkpoint_every=0), 'checkpoint_every=0'),
    (dict(epochs=0), 'epochs=0'),
    (dict(batch_size=0), 'batch_size=0'),
])
def test_bad_options_are_user_errors_and_write_nothing(tmp_path, kwargs, message):
    options = dict(epochs=2, data='synthetic', limit=LIMIT,
                   out=str(tmp_path / 'run'), net_overrides=TINY_NET1)
    options.update(kwargs)
    with pytest.raises(UserError, match=message):
        runner.run('net1', **options)
    assert not os.path.exists(str(tmp_path / 'run'))


def test_default_run_folder_never_reuses_a_name(tmp_path):
    when = datetime.datetime(2016, 4, 1, 9, 5, 0)
    first = default_run_folder('net6', str(tmp_path), when)
    assert first.endswith('net6-20160401-090500')
    os.makedirs(first)
    assert default_run_folder('net6', str(tmp_path), when) == first + '-2'


def test_a_crash_in_training_is_recorded_and_raised(tmp_path, monkeypatch):
    class Broken(runner.Checkpoint):
        def __call__(self, nn, train_history):
            raise RuntimeError('disk on fire')
    monkeypatch.setattr(runner, 'Checkpoint', Broken)
    with pytest.raises(RuntimeError, match='disk on fire'):
        tiny_run(tmp_path / 'run')
    manifest = json.load(open(str(tmp_path / 'run' / 'manifest.json')))
    assert manifest['status'] == 'failed'
    assert manifest['error'] == 'RuntimeError: disk on fire'


def test_compare_log_is_drawn_and_checked(tmp_path, folder):
    log = os.path.join(folder, 'history.csv')
    with_log = tiny_run(tmp_path / 'with', compare_log=log)
    plain = matplotlib.image.imread(os.path.join(folder, 'loss.png'))
    drawn = matplotlib.image.imread(os.path.join(with_log, 'loss.png'))
    assert plain.shape == drawn.shape and not np.array_equal(plain, drawn)
    bad = tmp_path / 'bad.csv'
    bad.write_text('epoch,loss\n1,x\n')
    with pytest.raises(UserError, match='not a readable history CSV'):
        tiny_run(tmp_path / 'bad', compare_log=str(bad))
    assert not os.path.exists(str(tmp_path / 'bad'))
