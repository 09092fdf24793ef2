"""python -m ec2.check_device NET: the self-test of a run, before its first epoch.

::

    python -m ec2.check_device NET [--expect cuda|cpu] [--batches 20] [--epochs N]
                                   [--price-per-hour P] [--out DIR] [--compare]

It builds the net (``nets.build_net(NET)``), compiles its real training
function (nolearn's ``initialize()``), walks the compiled graph and says
where each op runs. On a GPU it fails, naming them, on any op that still
computes on the host: only the transfers of inputs and outputs
(``GpuFromHost``, ``HostFromGpu``) and shape bookkeeping may stay there. It
times 20 training batches, predicts the seconds per epoch and the hours and
cost of the run, prints the report and writes it as ``DIR/device.json``
(on the instance DIR is the run's ``ec2/``, uploaded before training).
Exit 0 when the check passes, 2 with ``error:`` lines when it does not.
On a CPU (``--expect cpu``) ops on the host are what is expected.
With ``--compare`` it also trains one epoch here and the same batches on the
CPU from the same initial weights (``ec2.compare``) and fails unless every
batch's loss agrees within 1e-3 relative: the first minutes on a new GPU
prove numbers, not only placement.

The op classifier (:func:`describe_node`, :func:`op_place`,
:func:`host_compute_ops`) is pure: tests give it a CPU graph as if the
device were a GPU.
"""
import argparse
import collections
import ctypes
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

import compat  # before theano, always
import theano

import nets
from ec2 import catalog, plan
from errors import UserError
from option_types import positive_int, price
from run_folder import atomic_open

__all__ = ['Value', 'NodeInfo', 'describe_node', 'describe_graph', 'op_place',
           'is_host_compute', 'host_compute_ops', 'placement', 'implementations', 'graph_problems',
           'runtime_info', 'gpu_info', 'self_test', 'format_report', 'main']

#: Ops that only move a value between the host and the GPU.
TRANSFER_OPS = ('GpuFromHost', 'HostFromGpu', 'GpuToGpu')
#: Ops that read only a tensor's shape: bookkeeping wherever the tensor lives.
SHAPE_OPS = ('Shape', 'Shape_i', 'MakeVector', 'SpecifyShape')

Value = collections.namedtuple('Value', 'place dtype ndim')
Value.__doc__ = """Value(place, dtype, ndim): one input or output of a node ('gpu' or 'host')."""
NodeInfo = collections.namedtuple('NodeInfo', 'op inputs outputs')
NodeInfo.__doc__ = """NodeInfo(op, inputs, outputs): a node's op label and its Values."""


def describe_node(node):
    """describe_node(node) -> NodeInfo of a Theano Apply node

    The op's label (its class, with the scalar op of an ``Elemwise``) and,
    for each input and output, where it lives (a ``GpuArrayType`` is on the
    GPU, anything else on the host), its dtype and rank.
    """
    def value(var):
        kind = type(var.type).__name__
        return Value('gpu' if kind.startswith('GpuArray') else 'host',
                     str(getattr(var.type, 'dtype', '')), int(getattr(var.type, 'ndim', 0)))
    label = type(node.op).__name__
    scalar = getattr(node.op, 'scalar_op', None)
    if scalar is not None:
        label += '{%s}' % type(scalar).__name__
    return NodeInfo(label, tuple(value(v) for v in node.inputs),
                    tuple(value(v) for v in node.outputs))


def describe_graph(function):
    """describe_graph(function) -> [NodeInfo] of a compiled Theano function, in run order"""
    return [describe_node(node) for node in function.maker.fgraph.toposort()]


def op_place(info):
    """op_place(info) -> 'transfer', 'gpu' or 'host'

    >>> gpu4 = Value('gpu', 'float32', 4)
    >>> op_place(NodeInfo('GpuFromHost', (Value('host', 'float32', 4),), (gpu4,)))
    'transfer'
    >>> op_place(NodeInfo('GpuCorrMM', (gpu4, gpu4), (gpu4,)))
    'gpu'
    >>> op_place(NodeInfo('Pool', (Value('host', 'float32', 4),), (Value('host', 'float32', 4),)))
    'host'
    """
    if info.op.split('{')[0] in TRANSFER_OPS:
        return 'transfer'
    if any(v.place == 'gpu' for v in info.outputs) or info.op.startswith(('Gpu', 'GPUA')):
        return 'gpu'
    return 'host'


def _is_data(value):
    """A tensor worth computing on a GPU: floats of rank >= 1, or anything of rank >= 2
    (not shapes, indices and scalars)."""
    return value.place == 'host' and (value.ndim >= 2 or (
        value.ndim >= 1 and value.dtype.startswith(('float', 'complex'))))


def is_host_compute(info):
    """is_host_compute(info) -> whether the node computes on host tensors

    Not a transfer, not shape bookkeeping (:data:`SHAPE_OPS`), not scalar
    arithmetic.

    >>> shape = NodeInfo('Shape_i', (Value('gpu', 'float32', 4),), (Value('host', 'int64', 0),))
    >>> is_host_compute(shape)
    False
    >>> rng = NodeInfo('mrg_uniform', (Value('host', 'int32', 2), Value('host', 'int64', 1)),
    ...                (Value('host', 'int32', 2), Value('host', 'float32', 4)))
    >>> is_host_compute(rng)
    True
    """
    if info.op.split('{')[0] in SHAPE_OPS:
        return False
    return op_place(info) == 'host' and any(_is_data(v) for v in info.inputs + info.outputs)


def host_compute_ops(infos):
    """host_compute_ops(infos) -> {op label: count} of the nodes computing on the host

    >>> host = Value('host', 'float32', 4)
    >>> host_compute_ops([NodeInfo('Pool', (host,), (host,)),
    ...                   NodeInfo('Pool', (host,), (host,))])
    {'Pool': 2}
    """
    return dict(collections.Counter(i.op for i in infos if is_host_compute(i)))


def placement(infos):
    """placement(infos) -> {place: {op label: count}} for the report"""
    table = collections.OrderedDict((p, collections.Counter())
                                    for p in ('gpu', 'transfer', 'host'))
    for info in infos:
        table[op_place(info)][info.op] += 1
    return collections.OrderedDict((p, dict(c.most_common())) for p, c in table.items())


def implementations(infos):
    """implementations(infos) -> the convolution, pooling and dropout-RNG ops compiled

    >>> host = Value('host', 'float32', 4)
    >>> implementations([NodeInfo('CorrMM', (host,), (host,)),
    ...                  NodeInfo('NonOverlappingMaxPool', (host,), (host,))])['pooling']
    ['NonOverlappingMaxPool']
    """
    found = {'convolution': set(), 'pooling': set(), 'dropout_rng': set()}
    for info in infos:
        name = info.op.split('{')[0]
        if 'Corr' in name or 'Conv' in name:
            found['convolution'].add(name)
        elif 'Pool' in name:
            found['pooling'].add(name)
        elif 'mrg' in name.lower():
            found['dropout_rng'].add(name)
    return {k: sorted(v) for k, v in found.items()}


# ---------------------------------------------------------------- the device

def runtime_info():
    """runtime_info() -> dict: compat's record of the device, plus what the self-test reads

    ``compat.runtime_info()`` (the device asked for and the one Theano
    computes on, the pooling and dropout implementations) with
    ``gpu_active``, ``cudnn_requested`` (``KFKD_CUDNN=1``) and
    ``theano_flags``.
    """
    info = dict(compat.runtime_info())
    info.update(gpu_active=info['device'] != 'cpu',
                cudnn_requested=os.environ.get('KFKD_CUDNN') == '1',
                theano_flags=os.environ.get('THEANO_FLAGS', ''))
    return info


def _nvidia_smi():
    try:
        answer = subprocess.run(['nvidia-smi', '--query-gpu=name,driver_version',
                                 '--format=csv,noheader'], capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.SubprocessError):
        return {}
    first = answer.stdout.strip().splitlines()[:1]
    if answer.returncode != 0 or not first:
        return {}
    name, _, driver = first[0].partition(',')
    return {'name': name.strip(), 'driver': driver.strip()}


def _nvrtc_version():
    """NVRTC's own version, from the wheel's library (else the loader's search), or None."""
    import sysconfig
    wheel = os.path.join(sysconfig.get_paths()['purelib'], 'nvidia', 'cuda_nvrtc', 'lib',
                         'libnvrtc.so.12')
    for name in (wheel, 'libnvrtc.so.12', 'libnvrtc.so'):
        try:
            library = ctypes.CDLL(name)
        except OSError:
            continue
        major, minor = ctypes.c_int(), ctypes.c_int()
        if library.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)) == 0:
            return '%d.%d' % (major.value, minor.value)
    return None


def _wheel_version(package):
    """The installed version of a pip package (the NVIDIA wheels of requirements-gpu.txt)."""
    from importlib import metadata
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def gpu_info():
    """gpu_info() -> dict of the GPU Theano uses (name, compute capability, driver, CUDA, cuDNN,
    pygpu/libgpuarray), or None when it uses none"""
    if not runtime_info()['gpu_active']:
        return None
    import pygpu   # only there on a GPU machine
    from theano.gpuarray import dnn
    from theano.gpuarray.type import get_context
    context = get_context(None)
    bin_id = str(getattr(context, 'bin_id', ''))           # 'sm_75'
    digits = bin_id.split('_')[-1]
    capability = (int(digits[:-1]), int(digits[-1])) if digits.isdigit() else None
    smi = _nvidia_smi()
    cudnn = None
    if dnn.dnn_present():
        cudnn = dnn.version(raises=False)
    return {'name': smi.get('name') or str(getattr(context, 'devname', '')),
            'compute_capability': '%d.%d' % capability if capability else None,
            'capability': capability, 'driver': smi.get('driver'),
            'memory_mb': int(getattr(context, 'total_gmem', 0)) // (1 << 20),
            'cublas_wheel': _wheel_version('nvidia-cublas-cu12'), 'nvrtc': _nvrtc_version(),
            'pygpu': pygpu.__version__, 'libgpuarray': pygpu.__version__,
            'libgpuarray_api': list(pygpu.gpuarray.api_version()), 'cudnn': cudnn}


# ---------------------------------------------------------------- the test

def _problems_of_device(info, expect, gpu):
    if expect == 'cuda' and not info['gpu_active']:
        return ['Theano is not on the GPU: device=%s was asked for, but pygpu/libgpuarray '
                'or the driver did not initialise (Theano logged why above), so it would '
                'train on the CPU' % info['requested_device']]
    if expect == 'cpu' and (info['gpu_active'] or not info['requested_device'].startswith(
            'cpu')):
        return ['Theano is on device %r, not cpu (THEANO_FLAGS=%s)'
                % (info['requested_device'], info['theano_flags'])]
    if gpu and gpu['capability'] and not (catalog.MIN_COMPUTE_CAPABILITY <= gpu['capability']
                                          <= catalog.MAX_COMPUTE_CAPABILITY):
        return ['%s has compute capability %s; the project proves its GPU build on %d.%d to '
                '%d.%d (CUDA %s)' % ((gpu['name'], gpu['compute_capability'])
                                     + catalog.MIN_COMPUTE_CAPABILITY
                                     + catalog.MAX_COMPUTE_CAPABILITY + (catalog.CUDA_VERSION,))]
    return []


def graph_problems(infos, gpu_active, cudnn_requested):
    """graph_problems(infos, gpu_active, cudnn_requested) -> what is wrong with a compiled graph

    On a GPU: any compute op left on the host (named, with counts), and a
    convolution other than the one asked for (cuDNN's with ``--cudnn``,
    Theano's own otherwise). On the CPU nothing: host ops are expected.
    """
    problems = []
    found = implementations(infos)
    if gpu_active:
        host = host_compute_ops(infos)
        if host:
            problems.append('%d ops of the training function compute on the host, not the '
                            'GPU: %s' % (sum(host.values()), ', '.join(
                                '%s x%d' % item for item in sorted(host.items()))))
        dnn = [name for name in found['convolution'] if 'Dnn' in name]
        if cudnn_requested and not dnn:
            problems.append('cuDNN was asked for (--cudnn) but the convolutions compiled '
                            'to %s' % (', '.join(found['convolution']) or 'nothing'))
        if dnn and not cudnn_requested:
            problems.append("cuDNN's convolutions (%s) compiled although the run uses "
                            "Theano's own (dnn.enabled=False)" % ', '.join(dnn))
    return problems


def _time(function, args, count):
    function(*args)   # the first call allocates
    start = time.perf_counter()
    outputs = None
    for _ in range(count):
        outputs = function(*args)
    return (time.perf_counter() - start) / count, outputs


def self_test(net, net_name, expect, batches=20, epochs=None, usd_per_hour=None,
              deadline=None):
    """self_test(net, net_name, expect, batches=20, epochs=None, usd_per_hour=None, deadline=None)

    Compile ``net`` (a ``NeuralNet`` not yet initialized), check its graph
    against ``expect`` ('cuda' or 'cpu') and time ``batches`` training
    batches. The report (a dict, ``device.json``) holds the problems found
    under ``'problems'``: none means the check passed. With a ``deadline``
    (the cost cap's power-off, naive UTC) it says whether the predicted
    training fits before it (``fits_deadline``).
    """
    info = runtime_info()
    gpu = gpu_info()
    report = {'net': net_name, 'expect': expect, 'time': plan.iso(plan.utc())}
    report.update(info, gpu=gpu)
    report['problems'] = _problems_of_device(info, expect, gpu)
    if report['problems']:
        return report
    start = time.perf_counter()
    net.initialize()
    report['compile_s'] = time.perf_counter() - start
    infos = describe_graph(net.train_iter_)
    report.update(implementations(infos), nodes=len(infos), placement=placement(infos),
                  host_compute_ops=host_compute_ops(infos))
    report['problems'] = graph_problems(infos, info['gpu_active'], info['cudnn_requested'])
    if report['problems']:
        return report

    size = int(net.batch_iterator_train.batch_size)
    rng = np.random.RandomState(0)
    shape = (size,) + tuple(net.layers_[0].shape[1:])
    X = rng.rand(*shape).astype(theano.config.floatX)
    y = (rng.rand(size, int(net.layers_[-1].num_units)) - 0.5).astype(theano.config.floatX)
    train_s, outputs = _time(lambda: net.apply_batch_func(net.train_iter_, X, y), (), batches)
    valid_s, _ = _time(lambda: net.apply_batch_func(net.eval_iter_, X, y), (),
                       max(1, batches // 4))
    loss = float(np.asarray(outputs[0]))
    if not np.isfinite(loss):
        report['problems'].append('the training loss is %r after %d batches' % (loss, batches))
    epoch_s = (train_s * math.ceil(catalog.STUDY_TRAIN_ROWS / float(size))
               + valid_s * math.ceil(catalog.STUDY_VALID_ROWS / float(size)))
    report.update(batches=batches, batch_size=size, s_per_batch=train_s,
                  s_per_valid_batch=valid_s, predicted_s_per_epoch=epoch_s, loss=loss,
                  epochs=epochs, usd_per_hour=usd_per_hour)
    if epochs:
        report['predicted_training_hours'] = epochs * epoch_s / 3600.0
        report['predicted_hours'] = plan.run_hours(epochs, epoch_s)
        report['predicted_usd'] = (None if usd_per_hour is None
                                   else report['predicted_hours'] * usd_per_hour)
        if deadline is not None:
            left = (deadline - plan.utc()).total_seconds() / 3600.0
            report.update(deadline=plan.iso(deadline), hours_left=left,
                          fits_deadline=report['predicted_training_hours'] <= left)
    return report


def format_report(report):
    """format_report(report) -> the report's lines, as printed"""
    lines = ['device check of %s (Theano %s; THEANO_FLAGS=%s)'
             % (report['net'], report['theano'], report['theano_flags'])]
    gpu = report.get('gpu')
    lines.append('  device: %s (requested %s); GPU: %s' % (
        report['device'], report['requested_device'],
        'none' if not gpu else '%s, compute capability %s, driver %s, cuBLAS wheel %s (NVRTC '
        '%s), pygpu %s, libgpuarray %s, cuDNN %s' % (
            gpu['name'], gpu['compute_capability'], gpu['driver'], gpu['cublas_wheel'],
            gpu['nvrtc'], gpu['pygpu'], gpu['libgpuarray'], gpu['cudnn'])))
    if 'placement' in report:
        lines.append('  convolution: %s (%s); pooling: %s; dropout RNG: %s' % (
            ', '.join(report['convolution']) or 'none',
            'cuDNN' if any('Dnn' in n for n in report['convolution']) else "Theano's own",
            ', '.join(report['pooling']) or 'none', ', '.join(report['dropout_rng']) or 'none'))
        counts = {p: sum(c.values()) for p, c in report['placement'].items()}
        lines.append('  compiled training function: %d nodes: %d on the GPU, %d transfers, '
                     '%d on the host' % (report['nodes'], counts['gpu'], counts['transfer'],
                                         counts['host']))
        for place, ops in report['placement'].items():
            if ops:
                counts = ', '.join('%s x%d' % item for item in ops.items())
                lines.append('    %-8s %s' % (place, counts))
        host = report['host_compute_ops']
        lines.append('  host compute ops: %d%s' % (
            sum(host.values()), ' (expected: the device is the CPU)'
            if not report['gpu_active'] and host else ''))
    if 's_per_batch' in report:
        lines.append('  timing: %d training batches of %d: %.4f s/batch; validation %.4f '
                     's/batch' % (report['batches'], report['batch_size'],
                                  report['s_per_batch'], report['s_per_valid_batch']))
        lines.append("  predicted: %.2f s/epoch (the study's %d training and %d validation "
                     'faces)' % (report['predicted_s_per_epoch'], catalog.STUDY_TRAIN_ROWS,
                                 catalog.STUDY_VALID_ROWS))
    if report.get('predicted_hours') is not None:
        usd = report.get('predicted_usd')
        lines.append('  predicted run: %d epochs = %.2f h of training, %.2f h with the setup%s'
                     % (report['epochs'], report['predicted_training_hours'],
                        report['predicted_hours'],
                        '' if usd is None else ', $%.2f at $%g/h' % (usd,
                                                                     report['usd_per_hour'])))
    if report.get('compare', {}).get('losses'):
        found = report['compare']
        lines.append('  compare: %d batches of one epoch on %s and %s from the same weights: '
                     'largest relative loss difference %.1e (at most %.0e); last loss %.6g'
                     % ((len(found['losses']),) + tuple(found['devices'])
                        + (found['max_relative_difference'], found['rtol'],
                           found['losses'][-1])))
    if report.get('fits_deadline') is False:
        lines.append('  warning: at this speed the run needs %.2f h of training, more than the '
                     '%.2f h left before the cost cap (%s): it will stop there, resumable '
                     'from its last checkpoint (ec2/launch resume RUN --max-hours H)'
                     % (report['predicted_training_hours'], report['hours_left'],
                        report['deadline']))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m ec2.check_device', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('net')
    parser.add_argument('--expect', choices=['cuda', 'cpu'],
                        help='the device Theano must compute on (default: the one '
                             'THEANO_FLAGS asks for)')
    parser.add_argument('--batches', type=positive_int, default=20)
    parser.add_argument('--epochs', type=positive_int,
                        help="epochs of the run (default: the study's)")
    parser.add_argument('--price-per-hour', type=price)
    parser.add_argument('--out', metavar='DIR', help='write DIR/device.json')
    parser.add_argument('--compare', action='store_true',
                        help='also train one epoch here and the same batches on the CPU from '
                             'the same weights; fail unless the losses agree (1e-3 relative)')
    parser.add_argument('--deadline', type=plan.parse_utc, metavar='YYYY-mm-ddTHH:MM:SSZ',
                        help="the cost cap's power-off: warn when the run cannot finish by then")
    options = parser.parse_args(argv)
    try:
        expect = options.expect or ('cuda' if runtime_info()['requested_device'].startswith(
            ('cuda', 'gpu')) else 'cpu')
        epochs = options.epochs or nets.default_epochs(options.net)
        net = nets.build_net(options.net, verbose=0)
        report = self_test(net, options.net, expect, options.batches, epochs,
                           options.price_per_hour, options.deadline)
        if options.compare and not report['problems']:
            from ec2 import compare
            report['compare'] = compare.compare_devices(options.net)
            report['problems'] = report['problems'] + report['compare']['problems']
    except UserError as exc:
        sys.stderr.write('error: %s\n' % exc)
        return 2
    print(format_report(report))
    if options.out:
        os.makedirs(options.out, exist_ok=True)
        path = os.path.join(options.out, 'device.json')
        with atomic_open(path) as f:
            json.dump(dict(report, passed=not report['problems']), f, indent=1, default=str)
    if report['problems']:
        for problem in report['problems']:
            sys.stderr.write('error: %s\n' % problem)
        return 2
    print('device check passed: device=%s net=%s s/batch=%.4f%s' % (
        report['device'], options.net, report['s_per_batch'],
        ' (%s)' % os.path.join(options.out, 'device.json') if options.out else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
