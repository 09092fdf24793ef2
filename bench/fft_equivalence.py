"""Train a net for a few epochs by FFT and by CorrMM and compare the losses per epoch.

Both runs go through the project's training path (``training.run.build``:
the same seed, so the same weights, dropout masks and batches) on the same
random images of the study's shapes; only the convolution differs
(:data:`fastops.conv.POLICY` ``'always'``: every stride-1 valid convolution
by FFT; ``'never'``: Theano's CorrMM).

    python bench/fft_equivalence.py [--nets net6nplf,cnet_nplfxl] [--epochs 3]
                                    [--images 2140]

Prints each epoch's training and validation loss of both runs and their
relative difference; exits 1 if one exceeds ``--tolerance`` (1e-4).
"""
import argparse
import gc
import os
import sys

# Run as a script (bench/ is sys.path[0]): the repository's modules first.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import compat  # noqa: E402,F401  (before theano)

import fastops.conv  # noqa: E402
from train_speed import random_data  # noqa: E402  (bench/ is sys.path[0])
from training.run import build  # noqa: E402


def losses(net_name, policy, epochs, images, seed=1):
    """losses(net_name, policy, epochs, images, seed=1)

    ``[(train_loss, valid_loss), ...]`` per epoch, with the convolutions
    compiled under :data:`fastops.conv.POLICY` = `policy`.
    """
    fastops.conv.register()
    old, fastops.conv.POLICY = fastops.conv.POLICY, policy
    try:
        net = build(net_name, seed, epochs=epochs)
        net.verbose = 0
        X, y = random_data(net_name, n=images)
        net.fit(X, y)
    finally:
        fastops.conv.POLICY = old
    out = [(h['train_loss'], h['valid_loss']) for h in net.train_history_]
    del net
    gc.collect()
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--nets', default='net6nplf,cnet_nplfxl')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--images', type=int, default=2140)
    parser.add_argument('--tolerance', type=float, default=1e-4)
    args = parser.parse_args(argv)
    worst = 0.0
    print('| net | epoch | train FFT | train CorrMM | rel. diff | valid FFT | valid CorrMM '
          '| rel. diff |')
    print('|' + '---|' * 8)
    for net_name in args.nets.split(','):
        fft = losses(net_name, 'always', args.epochs, args.images)
        choices = fastops.conv.choices()
        corrmm = losses(net_name, 'never', args.epochs, args.images)
        for epoch, ((tf, vf), (tc, vc)) in enumerate(zip(fft, corrmm), 1):
            dt, dv = abs(tf - tc) / abs(tc), abs(vf - vc) / abs(vc)
            worst = max(worst, dt, dv)
            print('| %s | %d | %.8f | %.8f | %.1e | %.8f | %.8f | %.1e |'
                  % (net_name, epoch, tf, tc, dt, vf, vc, dv), flush=True)
        print('FFT layers of %s: %s' % (net_name, sorted(choices)), flush=True)
    print('largest relative difference: %.2e (tolerance %.0e)' % (worst, args.tolerance))
    return 0 if worst <= args.tolerance else 1


if __name__ == '__main__':
    sys.exit(main())
