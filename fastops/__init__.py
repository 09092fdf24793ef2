"""Faster CPU implementations of Theano ops, with exactly the same math.

Each op here computes what a Theano op computes (same values, same
gradient, same tie and NaN semantics) and is used only where it is exactly
equivalent; everything else falls back to Theano's own op.

- :mod:`fastops.pool`: non-overlapping max pooling (stride == pool size,
  ``ignore_border=True``, no padding) and its gradient.
- :mod:`fastops.rng`: Theano's MRG31k3p uniform generator (dropout masks),
  bit for bit, on every OpenMP thread.

The ops are CPU ops: :mod:`compat` uses them only where Theano computes on
the CPU. This package imports Theano and nothing of the project's; set
Theano's flags first (``import compat``, as for Lasagne).
"""
