"""Batch iterators for nolearn's ``NeuralNet``.

:class:`FlipBatchIterator` is Daniel Nouri's iterator of the same name
(used by the study's Net3, Net5, Net6, the Net6 variants and CNet_NPLFXL):
it mirrors a random half of every training batch, images and keypoints.
A missing keypoint (NaN, ``--labels all``) stays missing and moves with its
column: a flipped face's missing left eye corner is its missing right one.
"""
import compat  # noqa: F401  (before nolearn)
import numpy as np
from nolearn.lasagne import BatchIterator

from data_prep.augment import flip
from data_prep.keypoints import FLIP_PAIRS, SIDE


class FlipBatchIterator(BatchIterator):
    """FlipBatchIterator(batch_size, mode='faithful', seed=None)

    A nolearn ``BatchIterator`` that mirrors a random half of each batch.

    For each batch of ``n`` it picks ``n // 2`` rows without replacement
    and flips them with :func:`data_prep.augment.flip`: the images are
    reversed left-right (flat rows of 9216 as 96x96 images) and the
    keypoints follow (x negated in
    the study's `mode`, left/right pairs of :data:`FLIP_PAIRS` swapped).
    The batch is copied first: nolearn hands out views of the training set,
    which must stay as it was. Batches are not reshuffled (nolearn's
    ``shuffle=False``, as in the study).

    Parameters
    ----------
    batch_size : int
        Rows per batch (the study: 128).
    mode : {'faithful', 'exact'}
        ``'faithful'``: x_px -> 96 - x_px, the study's mapping (Nouri's
        ``yb[indices, ::2] * -1``). ``'exact'``: x_px -> 95 - x_px, the
        true mirror of pixel columns 0..95.
    seed : int or None
        Seed of the iterator's own ``numpy.random.RandomState``, which then
        alone decides the flips. None draws from numpy's global random
        state, as Nouri's ``np.random.choice`` did, so ``np.random.seed``
        makes runs repeat.

    Examples
    --------
    >>> X = np.arange(4 * 96 * 96, dtype=np.float32).reshape(4, 1, 96, 96)
    >>> y = np.zeros((4, 30), np.float32)
    >>> Xb, yb = next(iter(FlipBatchIterator(batch_size=4, seed=0)(X, y)))
    >>> int((Xb[:, 0, 0, 0] != X[:, 0, 0, 0]).sum())  # rows flipped
    2
    """

    def __init__(self, batch_size, mode='faithful', seed=None):
        if mode not in ('faithful', 'exact'):
            raise ValueError("mode must be 'faithful' or 'exact', not %r"
                             % (mode,))
        super(FlipBatchIterator, self).__init__(batch_size, shuffle=False)
        self.mode = mode
        self.seed = seed
        self.random = (np.random if seed is None
                       else np.random.RandomState(seed))

    def transform(self, Xb, yb):
        """transform(Xb, yb)

        Copies of `Xb` and `yb` with a random half of the rows mirrored.
        """
        Xb, yb = super(FlipBatchIterator, self).transform(Xb, yb)
        n = len(Xb)
        indices = self.random.choice(n, n // 2, replace=False)
        Xb = np.array(Xb, copy=True)
        # flat rows (Net1's (n, 9216)) are mirrored as the 96x96 images they are
        images = Xb.reshape((n, -1, SIDE, SIDE)) if Xb.ndim == 2 else Xb
        images[indices], y_flipped = flip(
            images[indices], None if yb is None else yb[indices],
            mode=self.mode, pairs=FLIP_PAIRS)
        if yb is not None:
            yb = np.array(yb, copy=True)
            yb[indices] = y_flipped
        return Xb, yb

    def __getstate__(self):
        state = super(FlipBatchIterator, self).__getstate__()
        if state.get('random') is np.random:
            del state['random']  # the global state: not ours to pickle
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if 'random' not in state:
            self.random = np.random

    def __repr__(self):
        return 'FlipBatchIterator(batch_size=%r, mode=%r, seed=%r)' % (
            self.batch_size, self.mode, self.seed)
