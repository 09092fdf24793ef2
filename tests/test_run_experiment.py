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


# ------------------------------------------------ refusals and interruptions

@pytest.mark.parametrize('argv, message', [
    (['--seed', '-1'], 'argument --seed: -1 is not a seed: seeds are integers 0 '
                       'to 4294967295'),
    (['--seed', '99999999999'], '99999999999 is not a seed: seeds are integers 0 to 4294967295'),
    (['--epochs', '0'], 'argument --epochs: 0: must be at least 1'),
    (['--limit', '-5'], 'argument --limit: -5: must be at least 1'),
])
def test_options_out_of_range_are_refused_before_any_folder(tmp_path, capsys,
                                                            argv, message):
    out = str(tmp_path / 'run')
    with pytest.raises(SystemExit) as refused:
        run_experiment.main(['net1', '--data', 'synthetic', '--out', out]
                            + argv)
    assert refused.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(message)
    assert not os.path.exists(out)


@pytest.mark.parametrize('argv, message', [
    (['--cv', '11', '--limit', '10'],
     'error: --cv 11 with --limit 10: every fold needs a row to validate on'),
    (['--cv', '100000', '--limit', '60'],
     'error: --cv 100000 with --limit 60: every fold needs a row to validate on'),
    # without --limit: refused once the data (2140 synthetic faces) is read
    (['--cv', '3000'], 'error: 3000 folds of 2140 rows: every fold needs a row '
                       'to validate on'),
])
def test_more_folds_than_rows_leaves_no_folder(tmp_path, capsys, argv,
                                               message):
    out = str(tmp_path / 'cv')
    code, _, err = main(['net1', '--data', 'synthetic', '--epochs', '1',
                         '--out', out] + argv, capsys)
    assert (code, err) == (2, message + '\n')
    assert not os.path.exists(out)


def test_a_compare_log_that_is_no_history_is_a_short_line(tmp_path, capsys):
    from data_prep.synthetic import write_kaggle_csv
    faces = str(tmp_path / 'training.csv')
    write_kaggle_csv(faces, 3)
    code, _, err = main(['net1', '--data', 'synthetic', '--compare-log', faces,
                         '--out', str(tmp_path / 'run')], capsys)
    assert code == 2 and err.count('\n') == 1 and len(err) < 300
    assert err.startswith('error: %s is not a readable history CSV (no epoch, '
                          'train_loss, valid_loss column' % faces)


@pytest.fixture(scope='module')
def tiny_runs(tmp_path_factory):
    """A run folder and a cv parent, trained through the command line."""
    folder = tmp_path_factory.mktemp('refusals')
    common = ['net1', '--data', 'synthetic', '--limit', '60', '--epochs', '2',
              '--batch-size', '16']
    assert run_experiment.main(common + ['--out', str(folder / 'run')]) == 0
    assert run_experiment.main(common + ['--cv', '2',
                                         '--out', str(folder / 'cv')]) == 0
    return str(folder / 'run'), str(folder / 'cv')


def checksums(folder):
    """Every file under `folder` (names included) as SHA-256."""
    import hashlib
    sums = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(root, name)
            sums[os.path.relpath(path, folder)] = (
                hashlib.sha256(open(path, 'rb').read()).hexdigest()
                if os.path.isfile(path) else 'folder')
    return sums


def test_refused_commands_change_nothing_in_a_run(tiny_runs, tmp_path, capsys):
    import predict
    from data_prep.synthetic import write_kaggle_csv
    run, parent = tiny_runs
    other = str(tmp_path / 'training.csv')
    write_kaggle_csv(other, 80, seed=7, complete_fraction=1.0)
    history = str(tmp_path / 'not_a_history.csv')
    shutil.copy(other, history)
    (tmp_path / 'test').mkdir()
    before = {run: checksums(run), parent: checksums(parent)}
    refused = []
    for folder in (run, parent):
        for argv in (['--resume', folder, '--data', other],
                     ['--resume', folder, 'net6'],
                     ['--resume', folder, '--seed', '3'],
                     ['--resume', folder, '--labels', 'all'],
                     ['--resume', folder, '--cv', '3'],
                     ['--resume', folder, '--compare-log', history],
                     ['--resume', folder, '--data', str(tmp_path / 'none')]):
            refused.append((argv, run_experiment.main(argv)))
    # a completed run asked for no more epochs
    refused.append(('resume', run_experiment.main(['--resume', run])))
    for argv in (['evaluate', run, '--data', other, '--out', run],
                 ['evaluate', run, '--data', other, '--out',
                  os.path.join(parent, 'fold1')],
                 ['submit', run, '--data', str(tmp_path / 'test')],
                 ['submit', run, '--data', str(tmp_path / 'test'), '--out',
                  run]):
        refused.append((argv, predict.main(argv)))
    err = capsys.readouterr().err
    assert [code for _, code in refused] == [2] * len(refused), refused
    assert len(err.splitlines()) == len(refused), err
    assert {run: checksums(run), parent: checksums(parent)} == before


def test_ctrl_c_exits_130_and_says_how_to_resume(tmp_path, capsys,
                                                 monkeypatch):
    from training import run as runner

    class CtrlC(runner.Checkpoint):
        def __call__(self, nn, train_history):
            super(CtrlC, self).__call__(nn, train_history)
            raise KeyboardInterrupt()
    monkeypatch.setattr(runner, 'Checkpoint', CtrlC)
    out = str(tmp_path / 'run')
    code, stdout, err = main(['net1', '--data', 'synthetic', '--limit', '60',
                              '--epochs', '3', '--out', out], capsys)
    assert code == 130
    assert stdout.rstrip().endswith('net1: interrupted after 1 epochs -> %s'
                                    % out)
    assert err == ('interrupted; python run_experiment.py --resume %s goes on\n'
                   % out)
    monkeypatch.undo()
    assert main(['--resume', out], capsys)[0] == 0


def _tmpfs_works():
    try:
        return subprocess.run(
            ['unshare', '--user', '--map-root-user', '--mount', 'sh', '-c',
             'mount -t tmpfs -o size=1m tmpfs /mnt'],
            capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not _tmpfs_works(),
                    reason='cannot mount a small tmpfs (unshare --user)')
def test_a_full_disk_ends_in_one_line_and_the_run_resumes(tmp_path):
    # A real full disk: a 14 MB tmpfs in a mount namespace of its own, which
    # holds net1's first checkpoint (7.4 MB) but not a second beside it.
    disk = str(tmp_path / 'disk')
    os.mkdir(disk)
    out = os.path.join(disk, 'run')
    train = [sys.executable, 'run_experiment.py', 'net1', '--data',
             'synthetic', '--limit', '60', '--epochs', '3',
             '--checkpoint-every', '1', '--batch-size', '16', '--out', out]
    status = str(tmp_path / 'status.py')
    with open(status, 'w') as f:  # the run's status and checkpoint's epoch
        f.write('import json, os, sys\n'
                'read = lambda *p: json.load(open(os.path.join(sys.argv[1], *p)))\n'
                'print(read("manifest.json")["status"],\n'
                '      read("checkpoint", "history.json")["epoch"])\n')
    script = '''
set -u
mount -t tmpfs -o size=14m tmpfs "$DISK"
"$@" > "$LOG.train" 2>&1; echo "train $?" >> "$LOG"
echo "after $("$PY" "$STATUS" "$OUT")" >> "$LOG"
mount -o remount,size=64m "$DISK"
"$PY" run_experiment.py --resume "$OUT" > "$LOG.resume" 2>&1; echo "resume $?" >> "$LOG"
echo "then $("$PY" "$STATUS" "$OUT")" >> "$LOG"
'''
    log = str(tmp_path / 'log')
    env = dict(os.environ, DISK=disk, LOG=log, OUT=out, PY=sys.executable,
               STATUS=status)
    subprocess.run(['unshare', '--user', '--map-root-user', '--mount', 'bash',
                    '-c', script, 'full-disk'] + train,
                   cwd=REPO, env=env, timeout=900, check=True)
    lines = open(log).read().splitlines()
    err = open(log + '.train').read().splitlines()
    assert lines[0] == 'train 2', err[-5:]
    assert 'Traceback' not in '\n'.join(err)
    assert err[-1].startswith('error: no space left on the disk of %s/' % out)
    assert 'MB needed' in err[-1] and 'free; the run keeps its checkpoint of ' \
        'epoch 1: free space, then run_experiment.py --resume %s' % out in err[-1]
    assert lines[1] == 'after interrupted 1'
    assert lines[2:] == ['resume 0', 'then completed 3'], \
        open(log + '.resume').read()[-2000:]
