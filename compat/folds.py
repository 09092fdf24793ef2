"""scikit-learn 0.17's ``KFold`` and ``StratifiedKFold``, with their old API and fold layout.

nolearn 0.6.1's ``TrainSplit`` imports them from ``sklearn.cross_validation``
(removed in scikit-learn 0.20); :func:`compat.shims.patch_cross_validation`
puts them there. The layout is the old one: unshuffled, fold ``i`` is a
contiguous block and the first ``n % n_folds`` folds hold one more row, so
``TrainSplit(eval_size=0.2)`` validates on exactly the first 20% of rows.
"""
import warnings

import numpy as np

__all__ = ['KFold', 'StratifiedKFold']


class KFold(object):
    """KFold(n, n_folds=3, shuffle=False, random_state=None)

    scikit-learn 0.17's ``cross_validation.KFold``: iterating yields
    ``(train_index, test_index)``; unshuffled, fold ``i`` is a contiguous
    block and the first ``n % n_folds`` folds hold one more row.

    Examples
    --------
    >>> train, test = next(iter(KFold(2140, 5)))
    >>> test[0], test[-1], len(test), len(train)
    (0, 427, 428, 1712)
    """

    def __init__(self, n, n_folds=3, shuffle=False, random_state=None):
        if n_folds < 2 or n_folds > n:
            raise ValueError('n_folds=%r must be between 2 and n=%r'
                             % (n_folds, n))
        self.n = int(n)
        self.n_folds = int(n_folds)
        self.shuffle = shuffle
        self.random_state = random_state
        self.idxs = np.arange(self.n)
        if shuffle:
            rng = (random_state if isinstance(random_state, np.random.RandomState)
                   else np.random.RandomState(random_state))
            rng.shuffle(self.idxs)

    def _test_indices(self):
        fold_sizes = np.full(self.n_folds, self.n // self.n_folds, dtype=int)
        fold_sizes[:self.n % self.n_folds] += 1
        current = 0
        for size in fold_sizes:
            yield self.idxs[current:current + size]
            current += size

    def __iter__(self):
        for test_index in self._test_indices():
            test_mask = np.zeros(self.n, dtype=bool)
            test_mask[test_index] = True
            yield np.arange(self.n)[~test_mask], np.arange(self.n)[test_mask]

    def __len__(self):
        return self.n_folds


class StratifiedKFold(object):
    """StratifiedKFold(y, n_folds=3, shuffle=False, random_state=None)

    scikit-learn 0.17's ``cross_validation.StratifiedKFold``: each class is
    split by an old-style :class:`KFold` and fold ``i`` takes each class's
    ``i``-th block.

    Examples
    --------
    >>> train, test = next(iter(StratifiedKFold([0, 0, 0, 0, 1, 1, 1, 1], 2)))
    >>> list(test)
    [0, 1, 4, 5]
    """

    def __init__(self, y, n_folds=3, shuffle=False, random_state=None):
        y = np.asarray(y)
        self.n = y.shape[0]
        self.n_folds = int(n_folds)
        self.y = y
        labels, y_inversed = np.unique(y, return_inverse=True)
        counts = np.bincount(y_inversed)
        if n_folds > counts.min():
            warnings.warn('The least populated class in y has only %d members,'
                          ' which is too few. The minimum number of labels for'
                          ' any class cannot be less than n_folds=%d.'
                          % (counts.min(), n_folds), UserWarning)
        rng = random_state
        if shuffle and not isinstance(rng, np.random.RandomState):
            rng = np.random.RandomState(random_state)
        per_label = [KFold(max(count, self.n_folds), self.n_folds,
                           shuffle=shuffle, random_state=rng)
                     for count in counts]
        test_folds = np.zeros(self.n, dtype=int)
        for fold, splits in enumerate(zip(*per_label)):
            for label, (_, test_split) in zip(labels, splits):
                label_folds = test_folds[y == label]
                test_split = test_split[test_split < len(label_folds)]
                label_folds[test_split] = fold
                test_folds[y == label] = label_folds
        self.test_folds = test_folds

    def __iter__(self):
        for fold in range(self.n_folds):
            test_mask = self.test_folds == fold
            yield np.flatnonzero(~test_mask), np.flatnonzero(test_mask)

    def __len__(self):
        return self.n_folds
