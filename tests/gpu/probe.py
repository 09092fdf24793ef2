"""python -m tests.gpu.probe NET...: build each net's training function, say where it computes.

Run by tests/gpu/test_standin_gpu.py in a child whose Theano asked for
``device=cuda`` on the stand-in driver. For each net it builds the net,
compiles its real training function (nolearn's ``initialize()``, every GPU
kernel compiled by NVRTC and loaded by the driver) and walks the compiled
graph with the self-test's walk (``ec2.check_device``). Prints one JSON line:
the device record and, per net, its host compute ops, node count and ops.
"""
import json
import sys

import compat  # before theano, always

import nets
from ec2 import check_device


def main(names):
    out = {'info': compat.runtime_info(), 'nets': {}}
    for name in names:
        net = nets.build_net(name, verbose=0)
        net.initialize()
        infos = check_device.describe_graph(net.train_iter_)
        out['nets'][name] = {'host_compute_ops': check_device.host_compute_ops(infos),
                             'nodes': len(infos), 'placement': check_device.placement(infos)}
    print(json.dumps(out, default=str))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
