"""FlipBatchIterator: half of each batch mirrored, consistently and repeatably."""
import compat  # noqa: F401  (before theano/lasagne/nolearn)
import pickle

import numpy as np
import pytest

from data_prep.augment import flip
from data_prep.keypoints import FLIP_PAIRS, KEYPOINT_COLUMNS
from training.batch_iterators import FlipBatchIterator

NOSE_X = KEYPOINT_COLUMNS.index('nose_tip_x')
LEFT_EYE_X = KEYPOINT_COLUMNS.index('left_eye_center_x')
RIGHT_EYE_X = KEYPOINT_COLUMNS.index('right_eye_center_x')


def data(n=10, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.rand(n, 1, 96, 96).astype(np.float32)
    y = rng.uniform(-0.9, 0.9, (n, 30)).astype(np.float32)
    return X, y


def batches(iterator, X, y):
    return [(Xb.copy(), None if yb is None else yb.copy())
            for Xb, yb in iterator(X, y)]


def flipped_rows(X, Xb):
    """Rows of Xb that are mirror images of X (and not X itself)."""
    mirrored = np.all(Xb == X[..., ::-1], axis=(1, 2, 3))
    same = np.all(Xb == X, axis=(1, 2, 3))
    assert np.all(mirrored ^ same), 'each row is either as-is or mirrored'
    return np.flatnonzero(mirrored)


@pytest.mark.parametrize('n, batch_size, expected', [
    (10, 10, [5]), (7, 7, [3]), (20, 8, [4, 4, 2])])
def test_exactly_half_of_each_batch_is_flipped(n, batch_size, expected):
    X, y = data(n)
    out = batches(FlipBatchIterator(batch_size, seed=1), X, y)
    counts = [len(flipped_rows(X[i * batch_size:(i + 1) * batch_size], Xb))
              for i, (Xb, _) in enumerate(out)]
    assert counts == expected


@pytest.mark.parametrize('mode', ['faithful', 'exact'])
def test_keypoints_follow_their_images(mode):
    X, y = data(12)
    [(Xb, yb)] = batches(FlipBatchIterator(12, mode=mode, seed=3), X, y)
    rows = flipped_rows(X, Xb)
    kept = np.setdiff1d(np.arange(12), rows)
    np.testing.assert_array_equal(yb[kept], y[kept])
    np.testing.assert_array_equal(yb[rows], flip(X[rows], y[rows], mode)[1])
    # in pixels: faithful x -> 96 - x, exact x -> 95 - x; y unchanged
    mirror = 96 if mode == 'faithful' else 95
    np.testing.assert_allclose(yb[rows, NOSE_X] * 48 + 48,
                               mirror - (y[rows, NOSE_X] * 48 + 48), atol=1e-4)
    np.testing.assert_array_equal(yb[rows, NOSE_X + 1], y[rows, NOSE_X + 1])
    # the subject's left eye becomes the right one
    np.testing.assert_allclose(yb[rows, LEFT_EYE_X] * 48 + 48,
                               mirror - (y[rows, RIGHT_EYE_X] * 48 + 48),
                               atol=1e-4)
    assert (LEFT_EYE_X, RIGHT_EYE_X) in FLIP_PAIRS


def test_training_data_is_left_unchanged():
    X, y = data(16)
    X0, y0 = X.copy(), y.copy()
    batches(FlipBatchIterator(8, seed=0), X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_same_seed_same_batches_other_seed_other_batches():
    X, y = data(32)
    a = batches(FlipBatchIterator(16, seed=7), X, y)
    b = batches(FlipBatchIterator(16, seed=7), X, y)
    c = batches(FlipBatchIterator(16, seed=8), X, y)
    assert all(np.array_equal(p[0], q[0]) and np.array_equal(p[1], q[1])
               for p, q in zip(a, b))
    assert not all(np.array_equal(p[0], q[0]) for p, q in zip(a, c))


def test_successive_epochs_draw_new_flips():
    X, y = data(32)
    iterator = FlipBatchIterator(32, seed=7)
    first, second = batches(iterator, X, y), batches(iterator, X, y)
    assert not np.array_equal(first[0][0], second[0][0])


def test_without_seed_numpy_s_global_seed_decides():
    X, y = data(32)
    np.random.seed(5)
    a = batches(FlipBatchIterator(16), X, y)
    np.random.seed(5)
    b = batches(FlipBatchIterator(16), X, y)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(a, b))


def test_images_without_keypoints_are_flipped_too():
    X, _ = data(6)
    [(Xb, yb)] = batches(FlipBatchIterator(6, seed=0), X, None)
    assert yb is None
    assert len(flipped_rows(X, Xb)) == 3


def test_flat_rows_are_mirrored_as_images():
    X, y = data(6)
    flat = X.reshape(6, 9216)
    [(Xb, yb)] = batches(FlipBatchIterator(6, seed=0), flat, y)
    rows = flipped_rows(X, Xb.reshape(6, 1, 96, 96))
    assert len(rows) == 3
    np.testing.assert_array_equal(yb[rows], flip(X[rows], y[rows])[1])


def test_pickles_with_its_random_state():
    X, y = data(16)
    iterator = FlipBatchIterator(16, seed=2)
    clone = pickle.loads(pickle.dumps(iterator))
    assert np.array_equal(batches(iterator, X, y)[0][0],
                          batches(clone, X, y)[0][0])
    unseeded = pickle.loads(pickle.dumps(FlipBatchIterator(16)))
    assert unseeded.random is np.random


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="'faithful' or 'exact'"):
        FlipBatchIterator(128, mode='mirror')


@pytest.mark.parametrize('mode', ['faithful', 'exact'])
def test_missing_keypoints_move_with_their_columns(mode):
    """A flip keeps each mask with its keypoint: the NaN of a subject's
    left eye corner becomes the NaN of the right one, and nothing else
    becomes NaN or loses it."""
    X, y = data(12)
    left = KEYPOINT_COLUMNS.index('left_eye_inner_corner_x')
    right = KEYPOINT_COLUMNS.index('right_eye_inner_corner_x')
    y[:, [left, left + 1]] = np.nan  # every row lacks its left inner corner
    y[0, NOSE_X] = np.nan
    [(Xb, yb)] = batches(FlipBatchIterator(12, mode=mode, seed=3), X, y)
    rows = flipped_rows(X, Xb)
    kept = np.setdiff1d(np.arange(12), rows)
    expected = np.isnan(y)
    expected[rows] = expected[rows][:, _swapped()]
    np.testing.assert_array_equal(np.isnan(yb), expected)
    assert np.isnan(yb[rows][:, [right, right + 1]]).all()
    assert not np.isnan(yb[rows][:, [left, left + 1]]).any()
    np.testing.assert_array_equal(yb[kept], y[kept])  # NaN where they were
    assert np.isnan(yb[0, NOSE_X])  # the nose stays the nose, flipped or not


def _swapped():
    """Column order after a flip: each left/right pair exchanged."""
    order = np.arange(len(KEYPOINT_COLUMNS))
    for a, b in FLIP_PAIRS:
        order[a], order[b] = b, a
    return order
