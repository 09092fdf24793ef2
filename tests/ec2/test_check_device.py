"""ec2/check_device.py: the op classifier on graphs, and the self-test on this CPU."""
import datetime
import json

import numpy as np
import pytest

import compat  # noqa: F401  (before theano)
import theano
import theano.tensor as T

import nets
from ec2 import check_device, plan
from ec2.check_device import NodeInfo, Value

GPU4, HOST4 = Value('gpu', 'float32', 4), Value('host', 'float32', 4)
HOST_SCALAR, SHAPE = Value('host', 'float32', 0), Value('host', 'int64', 0)

#: What a good GPU training graph looks like: transfers in and out, all else on the GPU.
GPU_GRAPH = [
    NodeInfo('GpuFromHost', (HOST4,), (GPU4,)),
    NodeInfo('Shape_i', (GPU4,), (SHAPE,)),
    NodeInfo('GpuCorrMM', (GPU4, GPU4), (GPU4,)),
    NodeInfo('GpuPool', (GPU4, Value('host', 'int64', 1)), (GPU4,)),
    NodeInfo('GPUA_mrg_uniform', (Value('gpu', 'int32', 2), Value('host', 'int64', 1)),
             (Value('gpu', 'int32', 2), GPU4)),
    NodeInfo('Elemwise{Neg}', (HOST_SCALAR,), (HOST_SCALAR,)),   # -learning rate, a scalar
    NodeInfo('HostFromGpu', (Value('gpu', 'float32', 0),), (HOST_SCALAR,)),
]


def test_a_gpu_graph_with_only_transfers_on_the_host_passes():
    assert check_device.host_compute_ops(GPU_GRAPH) == {}
    assert check_device.graph_problems(GPU_GRAPH, gpu_active=True, cudnn_requested=False) == []
    places = check_device.placement(GPU_GRAPH)
    assert places['transfer'] == {'GpuFromHost': 1, 'HostFromGpu': 1}
    assert places['host'] == {'Shape_i': 1, 'Elemwise{Neg}': 1}


def test_a_host_op_in_a_gpu_graph_is_named():
    graph = GPU_GRAPH + [NodeInfo('NonOverlappingMaxPool', (HOST4,), (HOST4,))]
    [problem] = check_device.graph_problems(graph, gpu_active=True, cudnn_requested=False)
    assert problem == ('1 ops of the training function compute on the host, not the GPU: '
                       'NonOverlappingMaxPool x1')
    # The same graph on a CPU device is what is expected there.
    assert check_device.graph_problems(graph, gpu_active=False, cudnn_requested=False) == []


def test_cudnn_must_be_there_when_asked_for_and_absent_otherwise():
    [problem] = check_device.graph_problems(GPU_GRAPH, gpu_active=True, cudnn_requested=True)
    assert problem == 'cuDNN was asked for (--cudnn) but the convolutions compiled to GpuCorrMM'
    dnn = GPU_GRAPH + [NodeInfo('GpuDnnConv', (GPU4, GPU4), (GPU4,))]
    [problem] = check_device.graph_problems(dnn, gpu_active=True, cudnn_requested=False)
    assert problem.startswith("cuDNN's convolutions (GpuDnnConv) compiled although")


def test_a_real_cpu_training_graph_presented_as_a_gpu_one_names_its_host_ops():
    """A tiny Net6 (conv, pool, dropout) compiled here: as if the device were a GPU, every
    one of its compute ops is one left on the host, pooling and dropout included."""
    net = nets.build_net('net6', conv1_num_filters=2, conv2_num_filters=2, conv3_num_filters=2,
                         hidden4_num_units=4, hidden5_num_units=4, verbose=0)
    net.initialize()
    graph = check_device.describe_graph(net.train_iter_)
    found = check_device.implementations(graph)
    assert found['convolution'] and found['pooling'] and found['dropout_rng']
    host = check_device.host_compute_ops(graph)
    for name in found['pooling'] + found['dropout_rng'] + found['convolution']:
        assert name in host
    [problem] = check_device.graph_problems(graph, gpu_active=True, cudnn_requested=False)
    assert found['pooling'][0] + ' x' in problem and found['dropout_rng'][0] + ' x' in problem
    assert 'Shape_i' not in host and 'MakeVector' not in host   # shape bookkeeping is no compute


def test_describe_node_reads_places_dtypes_and_ranks():
    x = T.matrix('x')
    f = theano.function([x], (x * 2).sum())
    infos = check_device.describe_graph(f)
    assert all(v.place == 'host' for i in infos for v in i.inputs + i.outputs)
    assert any(i.op.startswith('Elemwise') or i.op.startswith('Sum') for i in infos)
    assert infos[0].inputs[0] == Value('host', 'float32', 2)


def test_the_self_test_on_this_cpu_writes_device_json(tmp_path, capsys):
    soon = plan.iso(plan.utc() + datetime.timedelta(seconds=1))
    status = check_device.main(['net1', '--expect', 'cpu', '--batches', '3', '--epochs', '100000',
                                '--price-per-hour', '0.5', '--out', str(tmp_path),
                                '--deadline', soon])
    out = capsys.readouterr().out
    assert status == 0, out
    assert 'compiled training function:' in out and 'host compute ops:' in out
    assert '(expected: the device is the CPU)' in out
    assert out.strip().splitlines()[-1].startswith('device check passed: device=cpu net=net1')
    report = json.loads((tmp_path / 'device.json').read_text())
    assert report['passed'] and report['device'] == 'cpu' and report['gpu'] is None
    assert report['batches'] == 3 and report['batch_size'] == 128 and report['s_per_batch'] > 0
    per_epoch = report['s_per_batch'] * 14 + report['s_per_valid_batch'] * 4
    assert report['predicted_s_per_epoch'] == pytest.approx(per_epoch)
    assert report['predicted_hours'] == pytest.approx((100000 * per_epoch + 900) / 3600.0)
    assert report['predicted_usd'] == pytest.approx(report['predicted_hours'] * 0.5)
    assert np.isfinite(report['loss']) and report['placement']['host']
    # 100000 epochs cannot train before a deadline a second away: the report says so.
    assert report['fits_deadline'] is False and report['deadline'] == soon
    assert '  warning: at this speed the run needs' in out


def test_a_gpu_asked_for_on_this_cpu_fails_in_one_line(tmp_path, capsys):
    status = check_device.main(['net1', '--expect', 'cuda', '--out', str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith('error: Theano is not on the GPU: device=cpu was asked for')
    assert err.count('\n') == 1
    assert json.loads((tmp_path / 'device.json').read_text())['passed'] is False


def test_an_unknown_net_is_one_line(capsys):
    assert check_device.main(['net0']) == 2
    assert capsys.readouterr().err.startswith("error: unknown net 'net0'; choose one of: net1")
