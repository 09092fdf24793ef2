"""Check fastops.conv's cost model against this machine: FFT vs CorrMM per conv layer.

For every convolution layer of the given nets: the time of its forward
pass and both gradients (the input's left out for a layer on the net's
input, as in training) at batch 128, once by FFT and once by Theano's
``CorrMM``, alternately; the measured ratio beside the model's
(:func:`fastops.conv.direct_cost` / :func:`fastops.conv.fft_cost`) and the
choice :func:`fastops.conv.prefer_fft` makes.

    python bench/conv_choice.py [--nets net6,net6rhl,net6nplf,cnet_nplfxl]
                                [--repeats 3]

This is a benchmark, not a test: nothing asserts a time.
"""
import argparse
import os
import sys
import time

import numpy as np

# Run as a script (bench/ is sys.path[0]): the repository's modules first.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import compat  # noqa: E402,F401  (before theano)
import theano  # noqa: E402
import theano.tensor as T  # noqa: E402
from lasagne.layers import Conv2DLayer, InputLayer  # noqa: E402
from theano.tensor.nnet import conv2d  # noqa: E402

import fastops.conv  # noqa: E402
import nets  # noqa: E402

BATCH = 128


def conv_layers(net_name):
    """conv_layers(net_name)

    ``(name, channels, filters, image_hw, filter_hw, flip, on_input)`` of
    each stride-1 unpadded conv layer of a net.
    """
    net = nets.build_net(net_name)
    net.initialize_layers()
    out = []
    for layer in net.layers_.values():
        if isinstance(layer, Conv2DLayer) and tuple(layer.stride) == (1, 1) \
                and layer.pad in ((0, 0), 'valid', 0):
            _, c, h, w = layer.input_shape
            o, _, kh, kw = layer.get_W_shape()
            out.append((layer.name, c, o, (h, w), (kh, kw), True,
                        isinstance(layer.input_layer, InputLayer)))
    return out


def functions(c, o, image_hw, filter_hw, flip, on_input):
    """The layer's passes compiled by FFT and by CorrMM."""
    x, k = T.ftensor4('x'), T.ftensor4('k')
    y = conv2d(x, k, input_shape=(None, c) + image_hw, filter_shape=(o, c) + filter_hw,
               filter_flip=flip)
    cost = (y ** 2).sum()
    outs = [y, T.grad(cost, k)] + ([] if on_input else [T.grad(cost, x)])
    old = fastops.conv.POLICY
    fastops.conv.POLICY = 'always'
    try:
        fft = theano.function([x, k], outs)
    finally:
        fastops.conv.POLICY = old
    corrmm = theano.function([x, k], outs, mode=theano.compile.get_default_mode()
                             .excluding('fastops_fft_conv'))
    return fft, corrmm


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--nets', default='net6,net6rhl,net6nplf,cnet_nplfxl')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args(argv)
    fastops.conv.register()
    rng = np.random.RandomState(0)
    print('| net | layer | C->O | image | filter | FFT s | CorrMM s | measured | model '
          '| chosen | load |')
    print('|' + '---|' * 11)
    seen = {}
    for net_name in args.nets.split(','):
        for name, c, o, image_hw, filter_hw, flip, on_input in conv_layers(net_name):
            key = (c, o, image_hw, filter_hw, on_input)
            if key not in seen:
                fft, corrmm = functions(c, o, image_hw, filter_hw, flip, on_input)
                x = rng.rand(BATCH, c, *image_hw).astype(np.float32)
                k = rng.randn(o, c, *filter_hw).astype(np.float32) * 0.1
                times = {'fft': [], 'corrmm': []}
                for _ in range(args.repeats):  # alternately, the best of each
                    for kind, fn in (('fft', fft), ('corrmm', corrmm)):
                        start = time.perf_counter()
                        fn(x, k)
                        times[kind].append(time.perf_counter() - start)
                shapes = (BATCH, c, o, image_hw, filter_hw)
                seen[key] = (min(times['fft']), min(times['corrmm']),
                             fastops.conv.direct_cost(*shapes) / fastops.conv.fft_cost(*shapes),
                             fastops.conv.prefer_fft(*shapes))
            t_fft, t_corr, model, chosen = seen[key]
            print('| %s | %s | %d->%d | %dx%d | %dx%d | %.3f | %.3f | %.2f | %.2f | %s | %.1f |'
                  % (net_name, name, c, o, image_hw[0], image_hw[1], filter_hw[0],
                     filter_hw[1], t_fft, t_corr, t_corr / t_fft, model,
                     'fft' if chosen else 'corrmm', os.getloadavg()[0]), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
