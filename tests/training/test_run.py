"""training.run: one tiny training run writes a complete, truthful run folder."""
import csv
import datetime
import json
import os
import re

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

import compat  # noqa: F401
from errors import UserError
from data_prep.dataset import load_dataset
from data_prep.keypoints import KEYPOINT_COLUMNS, SPARSE_COLUMNS
from nets import build_net
from run_folder import default_run_folder
from training import run as runner
from training.weights import load_weights

TINY_NET1 = {'hidden_num_units': 10}
LIMIT = 200


def tiny_run(out, epochs=3, seed=42, data='synthetic', **kwargs):
    return runner.run('net1', epochs=epochs, data=data, limit=LIMIT,
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
    (dict(labels='half'), "unknown labels 'half'"),
    (dict(clean='tidy'), "unknown --clean 'tidy'"),
    (dict(clean='study'), "drops 15 rows of Kaggle's own training.csv"),
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


# --------------------------------------------------------- labels, cleaning

def test_complete_labels_train_exactly_as_the_declared_net(folder, data):
    """labels='complete' adds nothing to the study's net: the same
    objective and split objects' types, and bit for bit the same losses as
    the declaration fitted directly."""
    from nolearn.lasagne import TrainSplit, objective
    from training import seeding
    net = runner.build('net1', 42, 3, None, TINY_NET1, labels='complete')
    assert net.objective is objective and type(net.train_split) is TrainSplit
    seeding.seed_everything(42)
    direct = build_net('net1', max_epochs=3, **TINY_NET1)
    seeding.seed_batch_iterators(direct, 42)
    X, y, _ = data
    direct.fit(X.reshape(len(X), -1), y)
    history = read_csv(os.path.join(folder, 'history.csv'))
    assert [(float(r['train_loss']), float(r['valid_loss'])) for r in history] \
        == [(float('%.9g' % h['train_loss']), float('%.9g' % h['valid_loss']))
            for h in direct.train_history_]


@pytest.fixture(scope='module')
def all_run(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp('runs') / 'all', epochs=1,
                    labels='all')


def test_labels_all_trains_on_every_row_over_labelled_coordinates(all_run):
    manifest = json.load(open(os.path.join(all_run, 'manifest.json')))
    assert manifest['labels'] == 'all'
    assert manifest['columns'] == list(KEYPOINT_COLUMNS)
    assert manifest['data']['rows_used'] == LIMIT
    metrics = json.load(open(os.path.join(all_run, 'metrics.json')))
    assert metrics['status'] == 'completed' and metrics['epochs_run'] == 1
    for name in ('train_loss', 'valid_loss', 'valid_mse', 'valid_rmse_px',
                 'baseline_rmse_px'):
        assert np.isfinite(metrics[name]), name
    # nolearn's logged validation loss is the mean over the labelled
    # coordinates, the same figure evaluation.metrics computes.
    assert metrics['valid_loss'] == pytest.approx(metrics['valid_mse'],
                                                  rel=1e-5)
    table = pd.read_csv(os.path.join(all_run, 'valid_predictions.csv'))
    true = table[list(KEYPOINT_COLUMNS)].to_numpy()
    pred = table[[c + '_pred' for c in KEYPOINT_COLUMNS]].to_numpy()
    labelled = np.isfinite(true)
    assert 0.2 < labelled.all(axis=1).mean() < 0.5  # Kaggle's pattern: 30%
    assert np.isfinite(pred).all()
    assert metrics['valid_labelled'] == labelled.sum() < true.size
    squared = ((pred - true)[labelled] / 48) ** 2
    assert metrics['valid_mse'] == pytest.approx(squared.mean(), rel=1e-3)
    errors = pd.read_csv(os.path.join(all_run, 'errors.csv'), index_col=0)
    assert errors.loc['overall', 'n'] == labelled.sum()
    assert errors.loc['left_eye_inner_corner_x', 'n'] < len(table)


def test_labels_sparse_trains_eight_outputs(tmp_path):
    folder = tiny_run(tmp_path / 'sparse', epochs=1, labels='sparse')
    manifest = json.load(open(os.path.join(folder, 'manifest.json')))
    assert manifest['columns'] == list(SPARSE_COLUMNS)
    assert manifest['params'] == 9216 * 10 + 10 + 10 * 8 + 8
    with np.load(os.path.join(folder, 'weights.npz')) as weights:
        assert weights['output.W'].shape == (10, 8)
    table = pd.read_csv(os.path.join(folder, 'valid_predictions.csv'))
    assert list(table.columns) == (['row', 'image_id'] + list(SPARSE_COLUMNS)
                                   + [c + '_pred' for c in SPARSE_COLUMNS])
    errors = pd.read_csv(os.path.join(folder, 'errors.csv'), index_col=0)
    assert list(errors.index) == list(SPARSE_COLUMNS) + ['overall']
    metrics = json.load(open(os.path.join(folder, 'metrics.json')))
    assert metrics['valid_coordinates'] == 8 * LIMIT // 5
    assert metrics['valid_loss'] == pytest.approx(metrics['valid_mse'],
                                                  rel=1e-4)


def _broken_file(folder):
    """A training.csv of 60 synthetic faces: row 5 a copy of row 2's image
    and keypoints, row 9 a blank image."""
    import data_prep.synthetic as synthetic
    path = str(folder / 'training.csv')
    synthetic.write_kaggle_csv(path, 60, seed=4, complete_fraction=1.0)
    lines = open(path).read().splitlines()
    lines[6] = lines[3]  # data row 5 = data row 2 (header is line 0)
    cells = lines[10].split(',')
    lines[10] = ','.join(cells[:30] + [' '.join(['128'] * 9216)])
    open(path, 'w').write('\n'.join(lines) + '\n')
    return path


def test_cleaning_is_recorded_printed_and_resumed(tmp_path, capsys):
    path = _broken_file(tmp_path)
    listed = tmp_path / 'drop.txt'
    listed.write_text('# looked wrong\n17\n')
    folder = runner.run('net1', epochs=1, data=path, out=str(tmp_path / 'run'),
                        net_overrides=TINY_NET1, command=['test'],
                        clean='auto', clean_list=str(listed),
                        checkpoint_every=1)
    assert ('cleaning auto + --clean-list %s: 3 of 60 rows dropped '
            '(duplicate_image 1, blank_image 1, clean_list 1)' % listed) \
        in capsys.readouterr().out
    manifest = json.load(open(os.path.join(folder, 'manifest.json')))
    cleaning = manifest['cleaning']
    assert (cleaning['method'], cleaning['clean_list']) == ('auto',
                                                            str(listed))
    assert (cleaning['rows_in_file'], cleaning['rows_dropped']) == (60, 3)
    assert cleaning['counts'] == {'duplicate_image': 1, 'blank_image': 1,
                                  'clean_list': 1}
    assert [(r['row'], r['image_id'], r['rules']) for r in
            cleaning['dropped']] == [(5, 6, ['duplicate_image']),
                                     (9, 10, ['blank_image']),
                                     (17, 18, ['clean_list'])]
    assert cleaning['dropped'][0]['values'] == {'duplicate_of': 2}
    assert manifest['data']['rows_in_file'] == 60
    assert manifest['data']['rows_used'] == 57
    table = pd.read_csv(os.path.join(folder, 'valid_predictions.csv'))
    assert not set(table['image_id']) & {6, 10, 18}
    # resume drops the same rows again, and refuses when they would change
    runner.resume(folder, epochs=2)
    assert 'cleaning auto + --clean-list' in capsys.readouterr().out
    listed.write_text('17\n18\n')
    with pytest.raises(UserError, match='drops 4 rows .* the run dropped 3'):
        runner.resume(folder, epochs=3)


def test_eta_before_the_first_epoch_and_on_every_line(tmp_path, capsys):
    tiny_run(tmp_path / 'eta', epochs=2)
    out = capsys.readouterr().out
    assert ('training epochs 1-2 of 2; expected s/epoch: unknown until the '
            'first epoch; finish: unknown') in out
    lines = out.splitlines()
    header = [i for i, line in enumerate(lines) if line.startswith(
        '  epoch    trn loss    val loss    trn/val  dur')]
    assert len(header) == 1 and lines[header[0]].endswith('  eta')
    assert lines[header[0] + 1].endswith('-----  --------')
    for line in lines[header[0] + 2:header[0] + 4]:
        assert re.search(r'\ds  \d\d:\d\d:\d\d$', line), line


def test_labels_all_resumes_with_its_mask_and_expected_speed(all_run,
                                                             tmp_path, capsys):
    import shutil
    folder = str(tmp_path / 'again')
    shutil.copytree(all_run, folder)
    capsys.readouterr()
    runner.resume(folder, epochs=2)
    out = capsys.readouterr().out
    assert re.search(r"training epochs 2-2 of 2; expected s/epoch: "
                     r"\d+\.\d\d \(median of this run's last session\); "
                     r"finish: about \d\d:\d\d", out)
    metrics = json.load(open(os.path.join(folder, 'metrics.json')))
    assert metrics['epochs_run'] == 2
    assert metrics['valid_loss'] == pytest.approx(metrics['valid_mse'],
                                                  rel=1e-5)


def test_a_run_killed_after_its_last_epoch_is_finished_without_training(
        tmp_path, folder, capsys):
    import shutil
    copy = str(tmp_path / 'run')
    shutil.copytree(folder, copy)
    # What a kill between the last epoch's checkpoint and the status leaves.
    manifest_path = os.path.join(copy, 'manifest.json')
    manifest = json.load(open(manifest_path))
    manifest['status'] = 'running'
    json.dump(manifest, open(manifest_path, 'w'))
    for name in ('metrics.json', 'worst16.png', 'errors.csv', 'loss.png'):
        os.remove(os.path.join(copy, name))
    weights = open(os.path.join(copy, 'weights.npz'), 'rb').read()
    runner.resume(copy)
    assert 'its 3 epochs are trained, writing its results' in \
        capsys.readouterr().out
    manifest = json.load(open(manifest_path))
    assert (manifest['status'], manifest['epochs_run']) == ('completed', 3)
    assert json.load(open(os.path.join(copy, 'metrics.json')))['status'] == \
        'completed'
    for name in ('worst16.png', 'errors.csv', 'loss.png'):
        assert os.path.isfile(os.path.join(copy, name)), name
    assert open(os.path.join(copy, 'weights.npz'), 'rb').read() == weights
    with pytest.raises(UserError, match='already has 3 epochs'):
        runner.resume(copy)  # a completed run is not finished twice


def test_a_full_disk_stops_the_run_resumably_in_one_line(tmp_path,
                                                         monkeypatch):
    import errno
    from errors import DiskFullError, error_line
    from training import weights
    write_array, files = weights.np.lib.format.write_array, set()

    def write_until_full(member, array, **keywords):
        files.add(member._zipfile)
        if len(files) <= 2:  # the checkpoint of epoch 2 (weights, state)
            return write_array(member, array, **keywords)
        member.write(b'\x93NUMPY' * 100)  # part of a file, then the disk is full
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(weights.np.lib.format, 'write_array', write_until_full)
    out = str(tmp_path / 'run')
    with pytest.raises(DiskFullError) as refused:
        tiny_run(out, epochs=3)
    line = error_line(refused.value)
    assert line.startswith('no space left on the disk of %s' % out)
    assert re.search(r': about \d+\.\d MB needed, \d+\.\d MB free; the run '
                     r'keeps its checkpoint of epoch 2: free space, then '
                     r'run_experiment.py --resume ', line), line
    assert '\n' not in line
    manifest = json.load(open(os.path.join(out, 'manifest.json')))
    assert (manifest['status'], manifest['epochs_run']) == ('interrupted', 2)
    assert not [name for name in os.listdir(out) if '.tmp-' in name]
    monkeypatch.undo()
    runner.resume(out)
    manifest = json.load(open(os.path.join(out, 'manifest.json')))
    assert (manifest['status'], manifest['epochs_run']) == ('completed', 3)


def test_labels_all_on_a_file_without_keypoints_is_refused(tmp_path):
    from data_prep.synthetic import write_kaggle_csv
    path = str(tmp_path / 'training.csv')
    write_kaggle_csv(path, 20)
    with open(path) as f:
        lines = f.read().splitlines()
    with open(path, 'w') as f:  # every keypoint cell emptied
        f.write('\n'.join([lines[0]] + [',' * 30 + line.split(',')[-1]
                                        for line in lines[1:]]) + '\n')
    with pytest.raises(UserError, match='has no keypoint in its 20 rows'):
        tiny_run(tmp_path / 'run', data=path, labels='all')
    assert not os.path.exists(str(tmp_path / 'run'))
