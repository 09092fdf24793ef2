"""Time training, validation and prediction of the study's nets on this CPU.

For each net: compile time with an empty and with a warm compile cache,
seconds per training epoch (batch 128 over 1712 images), seconds per
validation pass (428 images), prediction images per second and peak
memory; the median over repeats, as a table and as JSON, with the machine,
the load average, the Theano flags and the library versions. Beside them,
the arithmetic's floor: sgemm's speed through Theano's ``dot`` (timed in a
fresh process just before each net), the net's flops of one epoch computed
directly (:func:`direct_flops_per_epoch`), the seconds those take at that
speed (the direct-convolution limit) and the ratio of the measured epoch
(training plus validation) to it.

    python bench/train_speed.py [--nets net1,net6,cnet_nplfxl] [--epochs 3]
                                [--repeats 2] [--ops default|theano|fastops]
                                [--theano-flags FLAGS] [--json out.json] [--no-sgemm]
                                [--images 2140]

Every measurement runs in a fresh Python process (Theano reads its flags
once, at import). Training goes through the project's own path,
``nets.build_net(name).fit(X, y)``, on random data of the study's shapes
(2140 images, 20% held out by nolearn's ``TrainSplit``), so the batch
iterator, nolearn's loop and the handlers are timed too. The first epoch of
each process is left out of the median (it allocates and warms caches).
This is a benchmark, not a test: nothing asserts a time.
"""
import argparse
import functools
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

# Run as a script (bench/ is sys.path[0]): the repository's modules first.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from paths import REPO  # noqa: E402

N_IMAGES = 2140  # 1712 training + 428 validation, as in the study
DEFAULT_NETS = ('net1', 'net6', 'cnet_nplfxl')
OPS = ('default', 'theano', 'fastops')


def load_average():
    """load_average()

    The 1-minute load average (other processes share the cores).
    """
    return round(os.getloadavg()[0], 2)


def machine():
    """machine()

    CPU model, core count and Python of this machine, as a dict.
    """
    model = platform.processor()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return {'cpu': model, 'cores': os.cpu_count(),
            'python': platform.python_version(), 'platform': platform.platform()}


def use_ops(kind):
    """use_ops(kind)

    ``'theano'``: Lasagne's ``downsample.max_pool_2d`` is Theano's
    ``pool.pool_2d``, dropout draws come from Theano's ``mrg_uniform`` and
    every convolution is Theano's ``CorrMM``; ``'fastops'``:
    :func:`fastops.pool.max_pool_2d`, :class:`fastops.rng.ParallelMRGUniform`
    and :mod:`fastops.conv` where it is faster; ``'default'``: whatever compat
    chose. In this process only.
    """
    from theano.tensor.signal import downsample, pool
    if kind == 'fastops':
        import fastops.conv
        import fastops.rng
        from fastops.pool import max_pool_2d
        downsample.max_pool_2d = max_pool_2d
        fastops.rng.register()
        fastops.conv.register()
    elif kind == 'theano':
        def max_pool_2d(input, ds, ignore_border=None, st=None,
                        padding=(0, 0), mode='max'):
            return pool.pool_2d(input, ws=ds, ignore_border=ignore_border,
                                stride=st, pad=padding, mode=mode)
        downsample.max_pool_2d = max_pool_2d
        from theano.compile import optdb
        for name in ('fastops_parallel_mrg', 'fastops_fft_conv'):
            if name in optdb.__db__:
                optdb.remove_tags(name, 'fast_run')


def random_data(net_name, n=N_IMAGES, seed=0):
    """random_data(net_name, n=2140, seed=0)

    Images in [0, 1] and targets in [-0.5, 0.5], float32, shaped for the net
    (Net1 takes flat rows of 9216).
    """
    rng = np.random.RandomState(seed)
    X = rng.rand(n, 1, 96, 96).astype(np.float32)
    y = (rng.rand(n, 30).astype(np.float32) - 0.5)
    if net_name.lower() == 'net1':
        X = X.reshape(n, -1)
    return X, y


N_VALID = N_IMAGES // 5  # nolearn's TrainSplit(eval_size=0.2)
N_TRAIN = N_IMAGES - N_VALID


def layer_flops(layer):
    """layer_flops(layer)

    Flops of one image through a Lasagne layer computed directly: ``2 * C *
    O * Ho * Wo * kh * kw`` for a convolution, ``2 * inputs * units`` for a
    dense layer, 0 for the others (pooling, dropout and nonlinearities are
    not multiply-adds).
    """
    from lasagne.layers import Conv2DLayer, DenseLayer
    if isinstance(layer, Conv2DLayer):
        o, c, kh, kw = layer.get_W_shape()
        ho, wo = layer.output_shape[2:]
        return 2.0 * c * o * ho * wo * kh * kw
    if isinstance(layer, DenseLayer):
        return 2.0 * int(np.prod(layer.input_shape[1:])) * layer.num_units
    return 0.0


def direct_flops_per_epoch(net, n_train=N_TRAIN, n_valid=N_VALID):
    """direct_flops_per_epoch(net, n_train=1712, n_valid=428)

    The multiply-adds (as flops) of one epoch of an initialized nolearn net
    computed directly: for each training image the forward pass, the weight
    gradient and the input gradient (none for a layer on the net's input);
    for each validation image the forward pass.
    """
    from lasagne.layers import InputLayer
    total = 0.0
    for layer in net.layers_.values():
        flops = layer_flops(layer)
        on_input = isinstance(getattr(layer, 'input_layer', None), InputLayer)
        total += flops * ((2 if on_input else 3) * n_train + n_valid)
    return total


def sgemm_worker(size=2048, repeats=5):
    """Time a float32 ``size``-square product through Theano's ``dot``; print GFLOP/s."""
    import compat  # noqa: F401  (before theano)
    import theano
    import theano.tensor as T
    a, b = T.fmatrix('a'), T.fmatrix('b')
    f = theano.function([a, b], T.dot(a, b))
    rng = np.random.RandomState(0)
    A = rng.rand(size, size).astype(np.float32)
    B = rng.rand(size, size).astype(np.float32)
    f(A, B)
    best = min(_timed(f, A, B) for _ in range(repeats))
    print('RESULT ' + json.dumps({'sgemm_gflops': 2.0 * size ** 3 / best / 1e9,
                                  'load': load_average()}), flush=True)


def _timed(f, *args):
    start = time.perf_counter()
    f(*args)
    return time.perf_counter() - start


def worker(args):
    """Measure one net in this process and print one JSON line."""
    # Theano here, in the worker: the process that starts the workers must
    # not load it (each worker reads its own THEANO_FLAGS, once, at import).
    import compat  # (before theano)
    import theano
    use_ops(args.ops)
    import nets

    X, y = random_data(args.net, n=args.images)
    # With fewer images than the study's (--images), times are scaled to
    # its epoch: 1712 training and 428 validation images.
    n_valid = args.images // 5
    train_scale, valid_scale = N_TRAIN / (args.images - n_valid), N_VALID / n_valid
    times = {'train': [], 'valid': []}
    valid_seconds = [0.0]

    def record(nn, history):
        times['train'].append(history[-1]['dur'] - valid_seconds[0])
        times['valid'].append(valid_seconds[0])
        valid_seconds[0] = 0.0

    net = nets.build_net(args.net, max_epochs=args.epochs, verbose=0)
    handlers = net.on_epoch_finished
    net.on_epoch_finished = [record] + list(handlers)
    start = time.perf_counter()
    net.initialize()
    compile_s = time.perf_counter() - start

    eval_iter = net.eval_iter_

    def timed_eval(*a, **kw):
        t = time.perf_counter()
        out = eval_iter(*a, **kw)
        valid_seconds[0] += time.perf_counter() - t
        return out
    net.eval_iter_ = timed_eval
    load_before = load_average()
    net.fit(X, y)
    start = time.perf_counter()
    net.predict(X)
    predict_s = time.perf_counter() - start
    result = {
        'net': args.net, 'ops': args.ops, 'compile_s': compile_s,
        'images': args.images,
        'train_epoch_s': [t * train_scale for t in times['train']],
        'valid_s': [t * valid_scale for t in times['valid']],
        'predict_images_per_s': len(X) / predict_s,
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.,
        'load_before': load_before, 'load_after': load_average(),
        'final_train_loss': float(net.train_history_[-1]['train_loss']),
        'direct_flops_per_epoch': direct_flops_per_epoch(net),
        'runtime': {key: value for key, value in compat.runtime_info().items()
                    if key in ('pooling', 'dropout_rng', 'convolution',
                               'convolution_choices')},
        'theano_flags': os.environ.get('THEANO_FLAGS', ''),
        'omp_num_threads': os.environ.get('OMP_NUM_THREADS', ''),
        'config': {name: str(functools.reduce(getattr, name.split('.'),
                                              theano.config))
                   for name in ('floatX', 'openmp', 'allow_gc', 'linker',
                                'gcc.cxxflags', 'openmp_elemwise_minsize')},
        'blas_ldflags': theano.config.blas.ldflags,
        'versions': {name: importlib.metadata.version(name) for name in
                     ('Theano', 'Lasagne', 'nolearn', 'numpy', 'scipy')},
    }
    print('RESULT ' + json.dumps(result), flush=True)


def run_worker(net, epochs, ops, compiledir, theano_flags, images=N_IMAGES):
    """Run :func:`worker` (`net` None: :func:`sgemm_worker`) in a fresh process
    and return its result dict."""
    env = dict(os.environ)
    flags = ['base_compiledir=' + compiledir]
    if theano_flags:
        flags.append(theano_flags)
    user = env.get('THEANO_FLAGS')
    env['THEANO_FLAGS'] = ','.join(([user] if user else []) + flags)
    env.setdefault('PYTHONWARNINGS', 'ignore')
    what = ['--worker', net] if net else ['--sgemm-worker']
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__)] + what +
        ['--epochs', str(epochs), '--ops', ops, '--images', str(images)],
        env=env, capture_output=True, text=True, cwd=REPO)
    for line in out.stdout.splitlines():
        if line.startswith('RESULT '):
            return json.loads(line[len('RESULT '):])
    raise RuntimeError('worker for %s failed:\n%s' % (net, out.stderr[-3000:]))


def summarize(net, cold, warm_runs, sgemm_gflops=None):
    """One table row: medians over the warm runs (first epoch left out); with
    `sgemm_gflops` (measured just before), the direct-convolution limit:
    the epoch's direct flops at that speed, and the ratio to it."""
    runs = [cold] + warm_runs
    train = [t for r in runs for t in r['train_epoch_s'][1:]]
    valid = [t for r in runs for t in r['valid_s'][1:]]
    flops = cold['direct_flops_per_epoch']
    limit = flops / (sgemm_gflops * 1e9) if sgemm_gflops else None
    epoch = statistics.median(train) + statistics.median(valid)
    return {
        'direct_tflop_per_epoch': flops / 1e12,
        'sgemm_gflops': sgemm_gflops,
        'limit_s_per_epoch': limit,
        'epoch_s': epoch,
        'ratio_to_limit': epoch / limit if limit else None,
        'convolution_choices': cold.get('runtime', {}).get('convolution_choices'),
        'net': net,
        'compile_cold_s': cold['compile_s'],
        'compile_warm_s': statistics.median(r['compile_s'] for r in warm_runs)
        if warm_runs else None,
        'train_epoch_s': statistics.median(train),
        'train_epoch_s_all': train,
        'valid_s': statistics.median(valid),
        'predict_images_per_s': statistics.median(
            r['predict_images_per_s'] for r in runs),
        'peak_rss_mb': max(r['peak_rss_mb'] for r in runs),
        'load': [r['load_before'] for r in runs],
    }


def print_table(rows):
    header = ('net', 'compile cold s', 'compile warm s', 'train s/epoch',
              'valid s', 'predict img/s', 'peak MB', 'load 1min', 'direct TFLOP/epoch',
              'sgemm GFLOP/s', 'limit s/epoch', '(train+valid)/limit')
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '---|' * len(header))
    for r in rows:
        warm = '%.1f' % r['compile_warm_s'] if r['compile_warm_s'] else '-'
        limit = r.get('limit_s_per_epoch')
        print('| %s | %.1f | %s | %.2f | %.2f | %.0f | %.0f | %s | %.3f | %s | %s | %s |' % (
            r['net'], r['compile_cold_s'], warm, r['train_epoch_s'],
            r['valid_s'], r['predict_images_per_s'], r['peak_rss_mb'],
            ' '.join('%.1f' % load for load in r['load']), r['direct_tflop_per_epoch'],
            '%.0f' % r['sgemm_gflops'] if r.get('sgemm_gflops') else '-',
            '%.2f' % limit if limit else '-',
            '%.2f' % r['ratio_to_limit'] if limit else '-'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--nets', default=','.join(DEFAULT_NETS),
                        help='comma-separated net names (default: %(default)s)')
    parser.add_argument('--epochs', type=int, default=3,
                        help='epochs per process; the first is not counted')
    parser.add_argument('--repeats', type=int, default=2,
                        help='processes per net with a warm cache (>= 0)')
    parser.add_argument('--ops', choices=OPS, default='default',
                        help="max pooling and dropout draws: compat's choice, "
                             "Theano's own, or fastops'")
    parser.add_argument('--theano-flags', default='',
                        help='extra THEANO_FLAGS for every process')
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--images', type=int, default=N_IMAGES,
                        help='random images per process, 20%% for validation; times are '
                             'scaled to the study\'s epoch (default: %(default)s, no scaling)')
    parser.add_argument('--no-sgemm', action='store_true',
                        help="skip timing sgemm (Theano's dot) before each net")
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    parser.add_argument('--sgemm-worker', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sgemm_worker:
        return sgemm_worker()
    if args.epochs < 2:
        parser.error('--epochs must be at least 2 (the first is not counted)')
    if args.worker:
        args.net = args.worker
        return worker(args)

    rows, raw = [], []
    # Its own compile cache, so that the nets' cold compiles stay cold.
    sgemm_dir = tempfile.mkdtemp(prefix='bench-sgemm-')
    for net in [n.strip() for n in args.nets.split(',') if n.strip()]:
        compiledir = tempfile.mkdtemp(prefix='bench-theano-')
        try:
            sgemm = None if args.no_sgemm else run_worker(
                None, args.epochs, args.ops, sgemm_dir, args.theano_flags)
            cold = run_worker(net, args.epochs, args.ops, compiledir,
                              args.theano_flags, args.images)
            warm = [run_worker(net, args.epochs, args.ops, compiledir,
                               args.theano_flags, args.images)
                    for _ in range(args.repeats)]
        finally:
            shutil.rmtree(compiledir, ignore_errors=True)
        raw += [cold] + warm
        rows.append(summarize(net, cold, warm, sgemm and sgemm['sgemm_gflops']))
        print_table(rows[-1:])
        sys.stdout.flush()
    shutil.rmtree(sgemm_dir, ignore_errors=True)
    first = raw[0]
    report = {'machine': machine(), 'ops': args.ops,
              'theano_flags': first['theano_flags'],
              'omp_num_threads': first['omp_num_threads'],
              'config': first['config'], 'blas_ldflags': first['blas_ldflags'],
              'versions': first['versions'], 'rows': rows, 'runs': raw}
    print()
    print('machine: %(cpu)s, %(cores)s cores, Python %(python)s' % report['machine'])
    print('THEANO_FLAGS: %s  OMP_NUM_THREADS=%s' % (report['theano_flags'],
                                                    report['omp_num_threads']))
    print('versions: ' + ', '.join('%s %s' % kv for kv in report['versions'].items()))
    print_table(rows)
    print(json.dumps(report))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
