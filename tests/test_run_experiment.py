"""run_experiment.py: the command line of training.run."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import nets
import run_experiment
from tests.conftest import REPO, shared_path


def main(argv, capsys):
    code = run_experiment.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_end_to_end_in_a_subprocess(tmp_path):
    out = str(tmp_path / 'run')
    proc = subprocess.run(
        [sys.executable, 'run_experiment.py', 'net1', '--epochs', '2',
         '--data', 'synthetic', '--limit', '100', '--out', out,
         '--checkpoint-every', '1', '--batch-size', '32'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # nolearn's own layer table and per-epoch log.
    assert '# Neural Network with 924730 learnable parameters' in proc.stdout
    assert 'epoch    trn loss    val loss    trn/val  dur' in proc.stdout
    assert proc.stdout.rstrip().endswith('net1: completed after 2 epochs -> %s'
                                         % out)
    for name in ('weights.npz', 'history.csv', 'loss.png', 'metrics.json',
                 'valid_predictions.csv', 'manifest.json', 'checkpoint'):
        assert os.path.exists(os.path.join(out, name)), name
    manifest = json.load(open(os.path.join(out, 'manifest.json')))
    assert manifest['command'][1:] == ['net1', '--epochs', '2', '--data',
                                       'synthetic', '--limit', '100', '--out',
                                       out, '--checkpoint-every', '1',
                                       '--batch-size', '32']
    assert manifest['batch_size'] == 32 and manifest['data']['rows_used'] == 100


def test_a_gpu_theano_cannot_use_stops_before_any_folder(tmp_path):
    # No pygpu here: Theano would log an error and quietly train on the CPU.
    out = str(tmp_path / 'run')
    env = dict(os.environ, THEANO_FLAGS='device=cuda')
    proc = subprocess.run(
        [sys.executable, 'run_experiment.py', 'net1', '--epochs', '1',
         '--data', 'synthetic', '--out', out],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines()
              if line.startswith('error: ')]
    assert len(errors) == 1
    assert 'a GPU was asked for (device=cuda)' in errors[0]
    assert not os.path.exists(out) and 'epoch' not in proc.stdout


def test_the_manifest_records_the_device_and_op_implementations(tmp_path):
    out = str(tmp_path / 'run')
    assert run_experiment.main(['net1', '--epochs', '1', '--data', 'synthetic',
                                '--limit', '60', '--batch-size', '16',
                                '--out', out]) == 0
    theano = json.load(open(os.path.join(out, 'manifest.json')))['theano']
    assert (theano['requested_device'], theano['device']) == ('cpu', 'cpu')
    assert theano['pooling'] == theano['dropout_rng'] == 'fastops'
    assert theano['cudnn'] is False


def test_unknown_net_is_one_line_listing_the_nets(capsys):
    code, out, err = main(['net9', '--data', 'synthetic'], capsys)
    assert code == 2
    assert err.count('\n') == 1
    assert err.startswith("error: unknown net 'net9'") and 'net6' in err


def test_missing_kaggle_files_say_how_to_get_them(tmp_path, capsys):
    code, out, err = main(['net1', '--data', str(tmp_path),
                           '--out', str(tmp_path / 'run')], capsys)
    assert code == 2
    assert err.startswith('error: ') and err.count('\n') == 1
    assert 'training.csv' in err and '--data synthetic' in err
    assert not os.path.exists(str(tmp_path / 'run'))


def test_existing_out_folder_is_refused_and_left_alone(tmp_path, capsys):
    earlier = tmp_path / 'earlier'
    earlier.mkdir()
    (earlier / 'weights.npz').write_bytes(b'earlier results')
    code, out, err = main(['net1', '--data', 'synthetic', '--epochs', '1',
                           '--out', str(earlier)], capsys)
    assert code == 2 and 'already holds files' in err
    assert os.listdir(str(earlier)) == ['weights.npz']
    assert (earlier / 'weights.npz').read_bytes() == b'earlier results'


@pytest.mark.parametrize('labels, columns', [('all', 30), ('sparse', 8)])
def test_labels_all_and_sparse_one_epoch(tmp_path, capsys, labels, columns):
    out = str(tmp_path / 'run')
    code, printed, err = main(['net1', '--labels', labels, '--data',
                               'synthetic', '--epochs', '1', '--limit', '100',
                               '--batch-size', '32', '--out', out], capsys)
    assert code == 0, err
    assert 'cleaning none: 0 of 100 rows dropped' in printed
    assert ('training epochs 1-1 of 1; expected s/epoch: unknown until the '
            'first epoch; finish: unknown') in printed
    manifest = json.load(open(os.path.join(out, 'manifest.json')))
    assert manifest['labels'] == labels and len(manifest['columns']) == columns
    metrics = json.load(open(os.path.join(out, 'metrics.json')))
    assert metrics['epochs_run'] == 1
    assert all(metrics[k] is not None and metrics[k] > 0 for k in (
        'train_loss', 'valid_loss', 'valid_rmse_px', 'baseline_rmse_px'))
    assert metrics['valid_coordinates'] == 20 * columns
    assert (metrics['valid_labelled'] < 20 * columns) == (labels == 'all')


def test_clean_study_is_refused_on_another_file(tmp_path, capsys):
    code, out, err = main(['net1', '--clean', 'study', '--data', 'synthetic',
                           '--out', str(tmp_path / 'run')], capsys)
    assert code == 2 and err.count('\n') == 1
    assert "--clean study drops 15 rows of Kaggle's own training.csv" in err
    assert not os.path.exists(str(tmp_path / 'run'))


def test_a_bad_clean_list_is_one_line(tmp_path, capsys):
    listed = tmp_path / 'drop.txt'
    listed.write_text('3\nthree\n')
    code, out, err = main(['net1', '--clean-list', str(listed), '--data',
                           'synthetic', '--limit', '50',
                           '--out', str(tmp_path / 'run')], capsys)
    assert code == 2 and err.count('\n') == 1
    assert "drop.txt line 2: 'three' is not a row number" in err
    assert not os.path.exists(str(tmp_path / 'run'))


def _blank_non_sparse(source, target, share=0.7, seed=0):
    """A copy of a training.csv with `share` of its rows' 22 non-sparse
    keypoints blanked (Kaggle's missing pattern). Returns the rows blanked."""
    import numpy as np
    from data_prep.keypoints import SPARSE_INDICES
    with open(source) as f:
        lines = f.read().splitlines()
    rows = len(lines) - 1
    rng = np.random.RandomState(seed)
    blanked = rng.permutation(rows)[:int(round(share * rows))]
    for row in blanked:
        cells = lines[row + 1].split(',', 30)
        for column in range(30):
            if column not in SPARSE_INDICES:
                cells[column] = ''
        lines[row + 1] = ','.join(cells)
    with open(target, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return blanked


def test_net6_labels_all_on_real_faces_with_70_percent_blanked(tmp_path,
                                                               capsys):
    source = shared_path('data', 'ytf_kfkd', 'training.csv')
    path = str(tmp_path / 'training.csv')
    blanked = _blank_non_sparse(source, path)
    assert len(blanked) == 2370  # 70% of 3385
    out = str(tmp_path / 'run')
    code, printed, err = main(['net6', '--labels', 'all', '--data', path,
                               '--epochs', '1', '--limit', '300',
                               '--batch-size', '32', '--out', out], capsys)
    assert code == 0, err
    manifest = json.load(open(os.path.join(out, 'manifest.json')))
    assert manifest['data']['rows_in_file'] == 3385
    assert manifest['data']['rows_with_labels'] == 3385
    assert (manifest['data']['n_train'], manifest['data']['n_valid']) == \
        (240, 60)
    metrics = json.load(open(os.path.join(out, 'metrics.json')))
    for name in ('train_loss', 'valid_loss', 'valid_mse', 'valid_rmse_px',
                 'baseline_rmse_px'):
        assert metrics[name] is not None and 0 < metrics[name] < 1e3, name
    assert metrics['valid_loss'] == pytest.approx(metrics['valid_mse'],
                                                  rel=1e-4)
    # about 30% of the validation faces keep all 30 keypoints
    assert 0.4 < metrics['valid_labelled'] / metrics['valid_coordinates'] \
        < 0.65
    shutil.rmtree(out)


def test_resume_of_a_folder_without_run(tmp_path, capsys):
    code, out, err = main(['--resume', str(tmp_path)], capsys)
    assert code == 2 and 'not a run folder' in err


def test_resume_refuses_options_the_run_fixed(tmp_path, capsys):
    code, out, err = main(['--resume', str(tmp_path), '--seed', '3'], capsys)
    assert code == 2 and "keeps the run's own --seed" in err


def test_no_net_and_no_resume(capsys):
    code, out, err = main([], capsys)
    assert code == 2 and '--list' in err


def test_list_names_every_net_with_its_count(capsys):
    code, out, err = main(['--list'], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(nets.NETS)
    counts = dict((line.split()[0], line.split()[1]) for line in lines)
    assert counts['net1'] == '924,730'
    assert counts['net6'] == '8,051,502'


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as e:
        run_experiment.main(['--help'])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for option in ('--epochs', '--data', '--preprocess', '--labels', '--seed',
                   '--out', '--list', '--resume', '--checkpoint-every',
                   '--limit', '--batch-size', '--compare-log', 'synthetic',
                   '--clean', '--clean-list', 'sparse'):
        assert option in out


@pytest.mark.slow
def test_net6_on_real_faces(tmp_path):
    data = tmp_path / 'data'
    data.mkdir()
    os.symlink(shared_path('data', 'ytf_kfkd', 'training.csv'),
               str(data / 'training.csv'))
    out = str(tmp_path / 'run')
    proc = subprocess.run(
        [sys.executable, 'run_experiment.py', 'net6', '--epochs', '1',
         '--data', str(data), '--out', out],
        cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr
    manifest = json.load(open(os.path.join(out, 'manifest.json')))
    assert (manifest['data']['n_train'], manifest['data']['n_valid']) == (2708, 677)
    metrics = json.load(open(os.path.join(out, 'metrics.json')))
    assert metrics['valid_rmse_px'] > 0 and metrics['epochs_run'] == 1
    shutil.rmtree(out)
