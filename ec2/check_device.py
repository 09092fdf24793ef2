"""Stop before training unless Theano really computes on the expected device.

``python -m ec2.check_device --expect cuda`` (the bootstrap runs it after
setting ``THEANO_FLAGS``) exits 0 when ``theano.config.device`` is the
expected one and a small matrix product compiled by Theano runs there (on a
GPU: its graph holds ``Gpu*`` ops and the answer matches NumPy's). Otherwise
it prints one ``error:`` line saying what is wrong and exits 2.
"""
import argparse
import os
import sys

import compat  # noqa: F401  (before theano, always)


def check_device(expect):
    """check_device(expect) -> dict(device, ops, cudnn)

    Raises RuntimeError with a one-line reason when Theano is not on
    ``expect`` ('cuda' or 'cpu').
    """
    try:
        import numpy as np
        import theano
        import theano.tensor as T
    except Exception as exc:   # a failed GPU initialisation surfaces here
        raise RuntimeError('Theano does not import: %s' % exc)
    device = str(theano.config.device)
    if not device.startswith(expect):
        raise RuntimeError('Theano is on device %r, not %s (THEANO_FLAGS=%s; on a GPU '
                           'this means pygpu/libgpuarray or the driver did not load)'
                           % (device, expect, os.environ.get('THEANO_FLAGS', '')))
    a = np.arange(64 * 64, dtype='float32').reshape(64, 64) / 4096.0
    shared = theano.shared(a)
    product = theano.function([], T.dot(shared, shared) + 1)
    ops = sorted({type(node.op).__name__ for node in product.maker.fgraph.toposort()})
    on_gpu = any(name.startswith('Gpu') for name in ops)
    if expect == 'cuda' and not on_gpu:
        raise RuntimeError('the test product compiled without GPU ops (%s)' % ', '.join(ops))
    if expect == 'cpu' and on_gpu:
        raise RuntimeError('the test product compiled to GPU ops on a cpu run')
    result = np.asarray(product())
    if not np.allclose(result, a.dot(a) + 1, rtol=1e-4, atol=1e-4):
        raise RuntimeError('the test product on %s gives wrong numbers' % device)
    cudnn = None
    if expect == 'cuda':
        from theano.gpuarray import dnn
        cudnn = bool(dnn.dnn_present())
    return {'device': device, 'ops': ops, 'cudnn': cudnn}


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m ec2.check_device', description=__doc__)
    parser.add_argument('--expect', choices=['cuda', 'cpu'], default='cuda')
    options = parser.parse_args(argv)
    try:
        report = check_device(options.expect)
    except RuntimeError as exc:
        sys.stderr.write('error: %s\n' % exc)
        return 2
    print('device check passed: device=%s ops=%s cudnn=%s'
          % (report['device'], ','.join(report['ops']), report['cudnn']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
