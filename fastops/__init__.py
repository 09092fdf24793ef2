"""Faster CPU implementations of Theano ops, with exactly the same math.

Each op here computes what a Theano op computes (same values, same
gradient, same tie and NaN semantics) and is used only where it is exactly
equivalent; everything else falls back to Theano's own op.

- :mod:`fastops.pool`: non-overlapping max pooling (stride == pool size,
  ``ignore_border=True``, no padding) and its gradient.
"""
