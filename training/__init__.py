"""Training: nolearn handlers, batch iterators, weights, checkpoints and the runner.

See ``CONTRIBUTING.md`` for which module holds what.
"""
