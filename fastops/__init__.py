"""Faster CPU implementations of Theano ops, with the same math.

Each op here computes what a Theano op computes and is used only where it
is equivalent; everything else falls back to Theano's own op. Two promises:

- exactly equal (same values, same gradient, same tie and NaN semantics):

  - :mod:`fastops.pool`: non-overlapping max pooling (stride == pool size,
    ``ignore_border=True``, no padding) and its gradient;
  - :mod:`fastops.rng`: Theano's MRG31k3p uniform generator (dropout
    masks), bit for bit, on every OpenMP thread;

- equal within float32 rounding: :mod:`fastops.conv`, stride-1 unpadded
  ("valid") float32 convolution and both its gradients by FFT, used per
  layer where a cost model says it is faster. Every element of each result
  is within ``2e-5 * max|CorrMM's result|`` of Theano's ``CorrMM``
  (measured: 1e-7 to 1e-6; ``tests/fastops/test_conv.py``), so training
  losses agree to about 1e-5 relative, not bit for bit.

The ops are CPU ops: :mod:`compat` uses them only where Theano computes on
the CPU. This package imports Theano, numpy and scipy and nothing of the
project's; set Theano's flags first (``import compat``, as for Lasagne).
"""
