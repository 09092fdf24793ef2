"""K-fold cross-validation splits in the old scikit-learn layout, as nolearn splits.

nolearn 0.6.1's ``TrainSplit(eval_size=0.2)`` validates on the first block
of ``sklearn.cross_validation.KFold(n, 5)`` (unshuffled, contiguous blocks;
``compat.folds.KFold`` where scikit-learn no longer has it). :class:`FoldSplit`
validates on block ``k`` of ``KFold(n, K)`` instead, so fold 1 of 5 holds
out exactly the rows a default run holds out. A fold is ``(k, K)``,
1-based, as a run's ``manifest.json`` records it (``"fold": [k, K]``).
``training.run.run(..., fold=(k, K))`` trains one fold; ``training.cv``
runs all K and sums them up.

>>> rows = fold_rows(10, (2, 3))[1]
>>> rows.tolist()
[4, 5, 6]
"""
import compat
from errors import UserError

__all__ = ['FoldSplit', 'check_fold', 'fold_rows', 'fold_overrides']


def check_fold(fold):
    """check_fold(fold)

    ``fold`` as a pair of ints ``(k, K)`` with ``K >= 2`` and
    ``1 <= k <= K``.

    >>> check_fold([2, 5])
    (2, 5)
    >>> check_fold((6, 5))
    Traceback (most recent call last):
    ...
    errors.UserError: fold=(6, 5): need folds K >= 2 and fold 1 <= k <= K
    """
    try:
        k, n_folds = (int(v) for v in fold)
    except (TypeError, ValueError):
        raise UserError('fold=%r: expected a pair (k, K), fold k of K' % (fold,))
    if n_folds < 2 or not 1 <= k <= n_folds:
        raise UserError('fold=(%d, %d): need folds K >= 2 and fold 1 <= k <= K'
                        % (k, n_folds))
    return k, n_folds


def fold_rows(n, fold):
    """fold_rows(n, fold)

    ``(train_rows, valid_rows)`` of fold ``(k, K)`` of ``n`` rows: the
    ``k``-th block of ``compat.folds.KFold(n, K)`` validates (the first ``n % K``
    blocks hold one row more), the others train.

    >>> train, valid = fold_rows(2140, (1, 5))
    >>> valid[0], valid[-1], len(train)  # TrainSplit(eval_size=0.2)'s rows
    (0, 427, 1712)

    Raises
    ------
    UserError
        More folds than rows.
    """
    k, n_folds = check_fold(fold)
    if n_folds > n:
        raise UserError('%d folds of %d rows: every fold needs a row to '
                        'validate on' % (n_folds, n))
    for i, (train, valid) in enumerate(compat.folds.KFold(n, n_folds), 1):
        if i == k:
            return train, valid


class FoldSplit(object):
    """FoldSplit(k, n_folds)

    A nolearn ``train_split``: ``net.train_split(X, y, net)`` returns
    ``X_train, X_valid, y_train, y_valid`` with fold ``k`` of ``n_folds``
    (:func:`fold_rows`) held out, rows in their order.

    >>> import numpy as np
    >>> X = np.arange(10).reshape(10, 1)
    >>> X_train, X_valid, y_train, y_valid = FoldSplit(5, 5)(X, X, None)
    >>> X_valid.ravel().tolist(), len(X_train)
    ([8, 9], 8)
    """

    def __init__(self, k, n_folds):
        self.k, self.n_folds = check_fold((k, n_folds))

    def __call__(self, X, y, net):
        train, valid = fold_rows(len(y), (self.k, self.n_folds))
        return X[train], X[valid], y[train], y[valid]

    def __repr__(self):
        return 'FoldSplit(%d, %d)' % (self.k, self.n_folds)


def fold_overrides(net_overrides, fold):
    """fold_overrides(net_overrides, fold)

    The ``NeuralNet`` keywords that train fold ``fold``: `net_overrides`
    plus ``train_split=FoldSplit(k, K)``; `net_overrides` itself when
    `fold` is None.

    >>> fold_overrides({'hidden_num_units': 10}, (3, 5))
    {'hidden_num_units': 10, 'train_split': FoldSplit(3, 5)}
    >>> fold_overrides(None, None) is None
    True

    Raises
    ------
    UserError
        A bad fold, or `net_overrides` with a ``train_split`` of its own
        (which the fold would replace).
    """
    if fold is None:
        return net_overrides
    k, n_folds = check_fold(fold)
    overrides = dict(net_overrides or {})
    if 'train_split' in overrides:
        raise UserError('fold=(%d, %d) replaces the net\'s train_split, and '
                        'this net has one of its own (%r)'
                        % (k, n_folds, overrides['train_split']))
    overrides['train_split'] = FoldSplit(k, n_folds)
    return overrides
