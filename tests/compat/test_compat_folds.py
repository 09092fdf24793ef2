"""compat.folds: scikit-learn 0.17's KFold and StratifiedKFold, old API, old layout."""
import numpy as np
import pytest
from sklearn.model_selection import KFold as ModernKFold

from compat.folds import KFold, StratifiedKFold


@pytest.mark.parametrize('n, n_folds, sizes', [
    (10, 5, [2, 2, 2, 2, 2]),
    (11, 5, [3, 2, 2, 2, 2]),
    (14, 5, [3, 3, 3, 3, 2]),
    (2140, 5, [428] * 5),
])
def test_kfold_old_fold_layout(n, n_folds, sizes):
    folds = list(KFold(n, n_folds))
    assert len(KFold(n, n_folds)) == n_folds
    assert [len(test) for _, test in folds] == sizes
    starts = np.cumsum([0] + sizes[:-1])
    for (train, test), start, size in zip(folds, starts, sizes):
        np.testing.assert_array_equal(test, np.arange(start, start + size))
        np.testing.assert_array_equal(np.sort(np.r_[train, test]), np.arange(n))


@pytest.mark.parametrize('n, n_folds', [(11, 5), (2140, 5), (7, 3)])
def test_unshuffled_kfold_is_todays_kfold_with_the_old_call(n, n_folds):
    ours = list(KFold(n, n_folds))
    theirs = list(ModernKFold(n_folds).split(np.zeros(n)))
    for (train, test), (train_ref, test_ref) in zip(ours, theirs):
        np.testing.assert_array_equal(test, test_ref)
        np.testing.assert_array_equal(train, train_ref)


def test_shuffled_kfold_is_reproducible_and_still_a_partition():
    first = [test for _, test in KFold(20, 4, shuffle=True, random_state=3)]
    again = [test for _, test in KFold(20, 4, shuffle=True, random_state=3)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert sorted(np.concatenate(first)) == list(range(20))
    assert not np.array_equal(np.concatenate(first), np.arange(20))


@pytest.mark.parametrize('n_folds', [1, 11])
def test_kfold_refuses_impossible_fold_counts(n_folds):
    with pytest.raises(ValueError, match='n_folds=%d must be between 2 and n=10' % n_folds):
        KFold(10, n_folds)


def test_stratified_kfold_old_layout():
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 0])
    folds = list(StratifiedKFold(y, 2))
    # sklearn 0.17: class 0 (6 rows) -> blocks of 3, class 1 (4 rows) -> 2.
    np.testing.assert_array_equal(folds[0][1], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(folds[1][1], [5, 6, 7, 8, 9])
    assert len(StratifiedKFold(y, 2)) == 2


def test_stratified_kfold_keeps_the_class_balance_in_every_fold():
    y = np.repeat([0, 1, 2], [30, 20, 10])
    for train, test in StratifiedKFold(y, 5):
        assert np.bincount(y[test]).tolist() == [6, 4, 2]
        assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 60


def test_stratified_kfold_warns_about_a_class_smaller_than_the_folds():
    with pytest.warns(UserWarning, match='least populated class in y has only 2 members'):
        StratifiedKFold([0, 0, 0, 1, 1], 3)
