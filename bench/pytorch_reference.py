"""The same nets in PyTorch, timed the same way: a yardstick, not a dependency.

Runs in its own throwaway environment, never in the project's::

    python3 -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchenv/bin/python bench/pytorch_reference.py [--nets net1,net6,cnet_nplfxl]
                                                        [--epochs 3] [--threads 2]

It imports nothing from the project (the project's modules need Theano).
Net1, Net6, CNet_NPLFXL and Net6RHL with the slides' shapes: ReLU (Lasagne's
default), dropout where the slides put it, MSE, SGD with Nesterov momentum
0.9, batch 128 over 1712 random images with a random half of each batch
mirrored (images and x coordinates, in numpy, as the project's
``FlipBatchIterator`` does), then a validation pass over 428 images.
Prints seconds per training epoch and per validation pass (median over
epochs, the first left out), prediction images/s and peak memory, as a
table and as JSON.
"""
import argparse
import json
import os
import resource
import statistics
import time

import numpy as np
import torch
from torch import nn

N_TRAIN, N_VALID, BATCH = 1712, 428, 128


def net1():
    return nn.Sequential(nn.Flatten(), nn.Linear(9216, 100), nn.ReLU(),
                         nn.Linear(100, 30))


def net6():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.1),
        nn.Conv2d(32, 64, 2), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.2),
        nn.Conv2d(64, 128, 2), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(128 * 11 * 11, 500), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(500, 500), nn.ReLU(), nn.Linear(500, 30))


def cnet_nplfxl():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.Dropout(0.1),
        nn.Conv2d(6, 12, 7), nn.ReLU(), nn.Dropout(0.2),
        nn.Conv2d(12, 36, 9), nn.ReLU(), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(36 * 78 * 78, 500), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(500, 500), nn.ReLU(), nn.Linear(500, 30))


def net6rhl():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.Dropout(0.1),
        nn.Conv2d(6, 12, 7), nn.ReLU(), nn.Dropout(0.2),
        nn.Conv2d(12, 36, 9), nn.ReLU(), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(36 * 78 * 78, 500), nn.ReLU(),
        nn.Linear(500, 30))


NETS = {'net1': (net1, False), 'net6': (net6, True),
        'cnet_nplfxl': (cnet_nplfxl, True), 'net6rhl': (net6rhl, True)}


def flip_half(Xb, yb, rng):
    """Copies with a random half of the rows mirrored (x targets negated)."""
    n = len(Xb)
    idx = rng.choice(n, n // 2, replace=False)
    Xb, yb = Xb.copy(), yb.copy()
    Xb[idx] = Xb[idx, :, :, ::-1]
    yb[idx, ::2] *= -1
    return Xb, yb


def time_net(name, epochs, seed=0):
    build, flips = NETS[name]
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    X = rng.rand(N_TRAIN + N_VALID, 1, 96, 96).astype(np.float32)
    y = rng.rand(N_TRAIN + N_VALID, 30).astype(np.float32) - 0.5
    Xv, yv = torch.from_numpy(X[:N_VALID]), torch.from_numpy(y[:N_VALID])
    Xt, yt = X[N_VALID:], y[N_VALID:]
    model = build()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,
                          nesterov=True)
    loss_fn = nn.MSELoss()
    train_s, valid_s = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        for i in range(0, N_TRAIN, BATCH):
            Xb, yb = Xt[i:i + BATCH], yt[i:i + BATCH]
            if flips:
                Xb, yb = flip_half(Xb, yb, rng)
            opt.zero_grad()
            loss = loss_fn(model(torch.from_numpy(Xb)), torch.from_numpy(yb))
            loss.backward()
            opt.step()
        train_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        model.eval()
        with torch.no_grad():
            for i in range(0, N_VALID, BATCH):
                loss_fn(model(Xv[i:i + BATCH]), yv[i:i + BATCH])
        valid_s.append(time.perf_counter() - start)
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(X), BATCH):
            model(torch.from_numpy(X[i:i + BATCH]))
    predict = len(X) / (time.perf_counter() - start)
    return {'net': name, 'train_epoch_s': statistics.median(train_s[1:]),
            'train_epoch_s_all': train_s, 'valid_s': statistics.median(valid_s[1:]),
            'predict_images_per_s': predict,
            'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.,
            'load_before': os.getloadavg()[0]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--nets', default='net1,net6,cnet_nplfxl')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.nets.split(','):
        load = os.getloadavg()[0]
        row = time_net(name.strip(), args.epochs)
        row['load_before'] = load
        rows.append(row)
        print('| %s | %.2f s/epoch | valid %.2f s | %.0f img/s | %.0f MB | load %.1f |'
              % (row['net'], row['train_epoch_s'], row['valid_s'],
                 row['predict_images_per_s'], row['peak_rss_mb'], load), flush=True)
    print(json.dumps({'torch': torch.__version__, 'threads': args.threads,
                      'rows': rows}))


if __name__ == '__main__':
    main()
