"""ec2/compare.py (check_device --compare): the same epoch, the same weights, two processes.

No GPU here: both sides are the CPU, so every loss must agree exactly; what a
GPU adds (cuBLAS's and the kernels' rounding) rests on the 1e-3 margin.
"""
import json
import os
import subprocess
import sys

import compat  # noqa: F401  (before theano)

from ec2 import check_device, compare
from paths import REPO


def test_dropout_draws_the_same_masks_in_the_replay_as_on_a_gpu(tmp_path):
    # KFKD_FASTOPS=0: Theano's MRG generator, the one a GPU run uses, on both sides.
    env = dict(os.environ, KFKD_FASTOPS='0', THEANO_FLAGS='device=cpu')
    out = subprocess.run([sys.executable, '-m', 'ec2.check_device', 'net1_dropout', '--epochs',
                          '1', '--batches', '2', '--compare', '--out', str(tmp_path)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads((tmp_path / 'device.json').read_text())
    found = report['compare']
    assert found['devices'] == ['cpu', 'cpu replay'] and found['problems'] == []
    assert len(found['losses']) == 14      # ceil(1712 / 128): one epoch of the study's split
    assert found['losses'] == found['replay_losses']
    assert found['losses'][-1] < found['losses'][0]   # it trained
    assert 'compare: 14 batches of one epoch on cpu and cpu replay' in out.stdout


def test_a_replay_that_disagrees_fails_the_check(monkeypatch):
    # The parent's losses 1 % off the replay's: what a wrong GPU kernel would look like.
    train = compare.train_epoch
    monkeypatch.setattr(compare, 'train_epoch',
                        lambda net, X, y: [loss * 1.01 for loss in train(net, X, y)])
    found = compare.compare_devices('net1', rows=256)
    assert len(found['problems']) == 2 and found['max_relative_difference'] > 9e-3
    assert found['problems'][0].startswith('batch 1: cpu loss')
    assert 'differ by 9.9e-03 relative (at most 1e-03)' in found['problems'][0]


def test_the_option_is_documented_in_the_self_test():
    assert '--compare' in check_device.__doc__
