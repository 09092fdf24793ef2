"""training.checkpoint: atomic checkpoints and exact resumes.

The nets here are net6 (dropout, flipped batches, learning-rate and
momentum schedules) shrunk to a few filters and units, on 200 synthetic faces.
"""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import compat  # noqa: F401
from errors import UserError
from run_folder import find_checkpoint, read_checkpoint_history
from tests.conftest import REPO
from training import checkpoint, run as runner

TINY_NET6 = dict(conv1_num_filters=2, conv2_num_filters=2, conv3_num_filters=2,
                 hidden4_num_units=8, hidden5_num_units=8)


class Killed(BaseException):
    """Stands for SIGKILL: nothing in the run may catch it."""


def crash_after(epoch):
    """A Checkpoint that dies right after `epoch` is done (and checkpointed
    if it falls on the rhythm)."""
    class CrashingCheckpoint(checkpoint.Checkpoint):
        def __call__(self, nn, train_history):
            super(CrashingCheckpoint, self).__call__(nn, train_history)
            if train_history[-1]['epoch'] == epoch:
                raise Killed()
    return CrashingCheckpoint


def history(folder):
    with open(os.path.join(folder, 'history.csv')) as f:
        return [(int(r['epoch']), float(r['train_loss']), float(r['valid_loss']))
                for r in csv.DictReader(f)]


def tiny_run(out, **kwargs):
    options = dict(epochs=4, data='synthetic', limit=200, out=str(out),
                   checkpoint_every=2, net_overrides=TINY_NET6, command=['test'])
    options.update(kwargs)
    return runner.run('net6', **options)


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp('runs') / 'whole')


def test_resume_after_kill_repeats_the_uninterrupted_run(tmp_path, monkeypatch,
                                                         uninterrupted):
    monkeypatch.setattr(runner, 'Checkpoint', crash_after(3))
    folder = str(tmp_path / 'run')
    with pytest.raises(Killed):
        tiny_run(folder)
    # What a SIGKILL after epoch 3 leaves: the manifest and epochs 1-2.
    assert sorted(os.listdir(folder)) == ['checkpoint', 'manifest.json']
    assert json.load(open(os.path.join(folder, 'manifest.json')))['status'] == 'running'
    saved = read_checkpoint_history(find_checkpoint(folder))
    assert [row['epoch'] for row in saved] == [1, 2]
    assert sorted(os.listdir(os.path.join(folder, 'checkpoint'))) == [
        'history.json', 'state.npz', 'weights.npz']
    monkeypatch.undo()
    runner.resume(folder, command=['test', '--resume'])
    resumed, whole = history(folder), history(uninterrupted)
    assert [row[0] for row in resumed] == [1, 2, 3, 4]
    # Weights, Nesterov velocities, both schedules, dropout streams and the
    # flips' generator are restored, so the losses repeat exactly.
    assert resumed == whole
    manifest = json.load(open(os.path.join(folder, 'manifest.json')))
    assert manifest['status'] == 'completed' and manifest['epochs_run'] == 4
    assert manifest['sessions'][-1]['epochs'] == [3, 4]
    with np.load(os.path.join(folder, 'weights.npz')) as a, \
            np.load(os.path.join(uninterrupted, 'weights.npz')) as b:
        for name in a.files:
            np.testing.assert_array_equal(a[name], b[name])


@pytest.mark.slow
def test_without_restoring_the_generators_the_run_differs(tmp_path, monkeypatch,
                                                          uninterrupted):
    # Shows the test above can fail: drop the RNG and optimizer state.
    monkeypatch.setattr(runner, 'Checkpoint', crash_after(2))
    folder = str(tmp_path / 'run')
    with pytest.raises(Killed):
        tiny_run(folder)
    monkeypatch.undo()
    monkeypatch.setattr(checkpoint, 'restore_training_state',
                        lambda net, arrays, where='': None)
    runner.resume(folder)
    assert history(folder)[:2] == history(uninterrupted)[:2]
    assert history(folder)[2:] != history(uninterrupted)[2:]


def test_kill_between_renames_keeps_the_old_checkpoint(tmp_path):
    folder = str(tmp_path)
    os.makedirs(os.path.join(folder, 'checkpoint.old'))
    with open(os.path.join(folder, 'checkpoint.old', 'history.json'), 'w') as f:
        json.dump({'epoch': 1, 'history': [{'epoch': 1}]}, f)
    assert find_checkpoint(folder).endswith('checkpoint.old')
    assert read_checkpoint_history(find_checkpoint(folder)) == [{'epoch': 1}]


def test_resume_of_a_finished_run_asks_for_more_epochs(uninterrupted):
    with pytest.raises(UserError, match='already has 4 epochs'):
        runner.resume(uninterrupted)


def test_resume_needs_a_checkpoint(tmp_path):
    with pytest.raises(UserError, match='not a run folder'):
        runner.resume(str(tmp_path))


def test_checkpoint_every_must_be_positive():
    with pytest.raises(UserError, match='at least 1'):
        checkpoint.Checkpoint('x', every=0)


@pytest.mark.slow
def test_sigkill_loses_at_most_n_epochs_and_resume_goes_on(tmp_path):
    folder = str(tmp_path / 'run')
    command = [sys.executable, 'run_experiment.py']
    proc = subprocess.Popen(
        command + ['net1', '--epochs', '5000', '--data', 'synthetic',
                   '--limit', '200', '--out', folder, '--checkpoint-every', '5'],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 600
        while find_checkpoint(folder) is None:
            assert proc.poll() is None and time.time() < deadline
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    saved = read_checkpoint_history(find_checkpoint(folder))
    done = len(saved)
    assert done >= 5 and done % 5 == 0
    assert not os.path.exists(os.path.join(folder, 'history.csv'))
    subprocess.run(command + ['--resume', folder, '--epochs', str(done + 3)],
                   cwd=REPO, check=True, capture_output=True, timeout=600)
    rows = history(folder)
    assert [r[0] for r in rows] == list(range(1, done + 4))
    assert [(r[1], r[2]) for r in rows[:done]] == [
        (pytest.approx(s['train_loss'], rel=1e-6),
         pytest.approx(s['valid_loss'], rel=1e-6)) for s in saved]
