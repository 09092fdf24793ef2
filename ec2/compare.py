"""The same epoch on two devices: ``python -m ec2.check_device NET --compare``.

Placement (``ec2.check_device``) says where ops run, not that they compute
right. :func:`compare_devices` trains one epoch of ``NET`` in this process
(on the GPU on an instance) on fixed synthetic batches, from initial weights
it saves; then a child, ``python -m ec2.compare FOLDER`` with
``device=cpu``, builds the same net, loads the same weights and trains the
same batches. Dropout draws the same masks on both: each uses Theano's MRG
generator (``KFKD_FASTOPS=0`` in the child when this process uses it too),
seeded alike. :func:`loss_problems` then requires every batch's loss to agree
within :data:`RTOL` (relative).

On a CPU both sides are the CPU: a test of the mechanism, not of a GPU.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

import compat  # before theano, always
import theano

import nets
from ec2 import catalog
from paths import REPO

__all__ = ['RTOL', 'SEED', 'epoch_batches', 'train_epoch', 'loss_problems', 'compare_devices',
           'main']

#: The largest relative difference of a batch's training loss between the two devices.
RTOL = 1e-3
#: numpy's global seed before a net is built: its weights and its dropout seeds.
SEED = 20160415


def _build(net_name):
    """The net, built and compiled after seeding numpy (weights, dropout streams)."""
    np.random.seed(SEED)
    net = nets.build_net(net_name, verbose=0)
    net.initialize()
    return net


def _params(net):
    import lasagne
    return lasagne.layers.get_all_params(net.layers_[-1])


def epoch_batches(net, rows=catalog.STUDY_TRAIN_ROWS, seed=0):
    """epoch_batches(net, rows=STUDY_TRAIN_ROWS, seed=0) -> (X, y) of one epoch, synthetic

    ``rows`` faces of the net's input shape and targets in [-0.5, 0.5), as
    many as the study's training split by default.
    """
    rng = np.random.RandomState(seed)
    shape = (rows,) + tuple(net.layers_[0].shape[1:])
    X = rng.rand(*shape).astype(theano.config.floatX)
    y = (rng.rand(rows, int(net.layers_[-1].num_units)) - 0.5).astype(theano.config.floatX)
    return X, y


def train_epoch(net, X, y):
    """train_epoch(net, X, y) -> [training loss of each batch], batches in order"""
    size = int(net.batch_iterator_train.batch_size)
    losses = []
    for start in range(0, len(X), size):
        outputs = net.apply_batch_func(net.train_iter_, X[start:start + size],
                                       y[start:start + size])
        losses.append(float(np.asarray(outputs[0] if isinstance(outputs, (list, tuple))
                                       else outputs)))
    return losses


def loss_problems(first, second, rtol=RTOL, names=('GPU', 'CPU')):
    """loss_problems(first, second, rtol=RTOL, names=('GPU', 'CPU')) -> what disagrees

    >>> loss_problems([1.0, 0.5], [1.0004, 0.5])
    []
    >>> loss_problems([1.0, 0.5], [1.0, 0.6])
    ['batch 2: GPU loss 0.5 and CPU loss 0.6 differ by 1.7e-01 relative (at most 1e-03)']
    >>> loss_problems([1.0], [1.0, 2.0])
    ['GPU trained 1 batches, CPU 2']
    """
    if len(first) != len(second):
        return ['%s trained %d batches, %s %d' % (names[0], len(first), names[1], len(second))]
    problems = []
    for i, (a, b) in enumerate(zip(first, second), 1):
        scale = max(abs(a), abs(b))
        diff = abs(a - b) / scale if scale else 0.0
        if not (math.isfinite(a) and math.isfinite(b)) or diff > rtol:
            problems.append('batch %d: %s loss %.6g and %s loss %.6g differ by %.1e relative '
                            '(at most %.0e)' % (i, names[0], a, names[1], b, diff, rtol))
    return problems


def _replay(folder):
    """The child's side: the same net, the saved weights, the saved batches; losses to a file."""
    with open(os.path.join(folder, 'net.txt')) as f:
        net_name = f.read().strip()
    net = _build(net_name)
    saved = np.load(os.path.join(folder, 'weights.npz'))
    for i, param in enumerate(_params(net)):
        param.set_value(saved['p%d' % i])
    batches = np.load(os.path.join(folder, 'batches.npz'))
    losses = train_epoch(net, batches['X'], batches['y'])
    with open(os.path.join(folder, 'replay.json'), 'w') as f:
        json.dump({'losses': losses, 'device': compat.runtime_info()['device']}, f)


def compare_devices(net_name, rows=catalog.STUDY_TRAIN_ROWS, timeout=3600):
    """compare_devices(net_name, rows=STUDY_TRAIN_ROWS, timeout=3600) -> report dict

    One epoch of ``rows`` synthetic faces here and, from the same initial
    weights, in a CPU child. The report holds both devices, both lists of
    losses, the largest relative difference and ``problems`` (none: passed).
    """
    here = compat.runtime_info()
    net = _build(net_name)
    X, y = epoch_batches(net, rows)
    with tempfile.TemporaryDirectory(prefix='kfkd-compare-') as folder:
        with open(os.path.join(folder, 'net.txt'), 'w') as f:
            f.write(net_name)
        np.savez(os.path.join(folder, 'weights.npz'),
                 **{'p%d' % i: p.get_value() for i, p in enumerate(_params(net))})
        np.savez(os.path.join(folder, 'batches.npz'), X=X, y=y)
        losses = train_epoch(net, X, y)
        env = dict(os.environ)
        flags = env.get('THEANO_FLAGS', '')
        env['THEANO_FLAGS'] = ','.join(p for p in (flags, 'device=cpu,init_gpu_device=') if p)
        if here['dropout_rng'] == 'theano':
            env['KFKD_FASTOPS'] = '0'   # the GPU's generator (MRG), on the CPU too
        child = subprocess.run([sys.executable, '-m', 'ec2.compare', folder], cwd=REPO,
                               env=env, capture_output=True, text=True, timeout=timeout)
        if child.returncode != 0:
            return {'problems': ['the CPU replay failed: %s' % child.stderr.strip()[-2000:]]}
        with open(os.path.join(folder, 'replay.json')) as f:
            replay = json.load(f)
    diffs = [abs(a - b) / max(abs(a), abs(b), 1e-30) for a, b in zip(losses, replay['losses'])]
    names = ('%s' % here['device'], '%s replay' % replay['device'])
    return {'net': net_name, 'devices': names, 'rows': rows, 'losses': losses,
            'replay_losses': replay['losses'], 'max_relative_difference': max(diffs or [0.0]),
            'rtol': RTOL, 'problems': loss_problems(losses, replay['losses'], names=names)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write('usage: python -m ec2.compare FOLDER (run by ec2.check_device '
                         '--compare)\n')
        return 2
    _replay(argv[0])
    return 0


if __name__ == '__main__':
    sys.exit(main())
