"""Augmentations move keypoints with the pixels they label."""
import numpy as np
import pytest
import scipy.fft

from data_prep.augment import (brightness, crop, dct_filter, flip, rotate,
                               shift, stretch)
from data_prep.keypoints import FLIP_PAIRS

DOT = (30.0, 40.0)  # x, y in pixels: the keypoint left_eye_center


def dot_image(x, y, sigma=1.5):
    rows, cols = np.mgrid[0:96, 0:96]
    image = np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2 * sigma ** 2))
    return image.astype(np.float32)[None, None]  # (1, 1, 96, 96)


def dot_keypoints(x, y):
    keypoints = np.full((1, 30), np.nan, np.float32)
    keypoints[0, :2] = (np.array([x, y]) - 48) / 48
    return keypoints


def dot_centre(image):
    """Brightness-weighted centre (x, y) of the dot."""
    image = image.reshape(96, 96).astype(np.float64)
    image = np.where(image > 0.2 * image.max(), image, 0)
    rows, cols = np.mgrid[0:96, 0:96]
    return (cols * image).sum() / image.sum(), (rows * image).sum() / image.sum()


TRANSFORMS = {
    'shift': lambda X, y: shift(X, y, 7.5, -4),
    'stretch': lambda X, y: stretch(X, y, 1.2, 0.85),
    'rotate': lambda X, y: rotate(X, y, 8),
    'crop': lambda X, y: crop(X, y, (10, 6, 86, 90)),
    'flip_exact': lambda X, y: flip(X, y, mode='exact'),
    'flip_faithful': lambda X, y: flip(X, y, mode='faithful'),
}


@pytest.mark.parametrize('name', sorted(TRANSFORMS))
def test_keypoint_stays_on_the_dot(name):
    X, y = dot_image(*DOT), dot_keypoints(*DOT)
    X_out, y_out = TRANSFORMS[name](X, y)
    assert X_out.shape == X.shape and X_out.dtype == np.float32
    column = 2 if name.startswith('flip') else 0  # the left eye became right
    x_px, y_px = y_out[0, column:column + 2] * 48 + 48
    dot_x, dot_y = dot_centre(X_out)
    # Within 1 px; the study's faithful flip is exactly 1 px off.
    assert abs(x_px - dot_x) <= 1 + 1e-3 and abs(y_px - dot_y) <= 1
    if name == 'flip_exact':
        assert abs(x_px - dot_x) < 0.01
    assert np.isnan(y_out[0, 4:]).all()  # missing stays missing


def test_rotation_direction_is_counter_clockwise_on_screen():
    X, y = dot_image(80, 47.5), dot_keypoints(80, 47.5)
    _, y_out = rotate(X, y, 90)
    x_px, y_px = y_out[0, :2] * 48 + 48
    assert x_px == pytest.approx(47.5, abs=1e-4)
    assert y_px == pytest.approx(15, abs=1e-4)  # moved up


def test_keypoints_leaving_the_frame_become_nan():
    y = dot_keypoints(50, 40)
    y[0, 2:4] = (np.array([10, 40]) - 48) / 48  # stays inside
    _, y_out = shift(dot_image(50, 40), y, 60, 0)
    assert np.isnan(y_out[0, :2]).all()
    assert y_out[0, 2] * 48 + 48 == pytest.approx(70, abs=1e-4)
    assert y_out[0, 3] * 48 + 48 == pytest.approx(40, abs=1e-4)


def test_pixels_from_outside_are_filled():
    X = np.ones((2, 96, 96), np.float32)
    X_out, y_out = shift(X, None, 10, 0, fill=0.25)
    assert y_out is None
    assert np.allclose(X_out[:, :, :10], 0.25)
    assert np.allclose(X_out[:, :, 10:], 1)


def test_inputs_are_not_changed():
    X, y = dot_image(*DOT), dot_keypoints(*DOT)
    X0, y0 = X.copy(), y.copy()
    for transform in TRANSFORMS.values():
        transform(X, y)
    brightness(X, 2)
    dct_filter(X, 'highpass', 5)
    assert np.array_equal(X, X0) and np.array_equal(y, y0, equal_nan=True)


def test_flip_twice_is_identity():
    rng = np.random.default_rng(0)
    X = rng.random((3, 1, 96, 96)).astype(np.float32)
    y = rng.uniform(-0.9, 0.9, (3, 30)).astype(np.float32)
    X2, y2 = flip(*flip(X, y, mode='exact'), mode='exact')
    assert np.array_equal(X2, X)
    assert np.allclose(y2, y, atol=1e-6)


def test_flip_swaps_pairs_and_modes_differ_by_one_pixel():
    y = np.arange(30, dtype=np.float32)[None] / 40 - 0.4
    _, faithful = flip(np.zeros((1, 96, 96)), y, mode='faithful')
    _, exact = flip(np.zeros((1, 96, 96)), y, mode='exact')
    for left, right in FLIP_PAIRS:
        if left % 2:  # y columns: swapped, unchanged
            assert faithful[0, left] == y[0, right]
        else:  # x columns: swapped and mirrored
            assert faithful[0, left] == pytest.approx(-y[0, right])
    assert faithful[0, 20] == pytest.approx(-y[0, 20])  # nose: not swapped
    assert np.allclose((faithful - exact)[0, 0::2] * 48, 1)
    assert np.allclose((faithful - exact)[0, 1::2], 0)


def test_flip_rejects_unknown_mode():
    with pytest.raises(ValueError):
        flip(np.zeros((1, 96, 96)), None, mode='mirror')


def test_crop_rejects_box_outside():
    with pytest.raises(ValueError):
        crop(np.zeros((1, 96, 96)), None, (10, 10, 100, 50))


def test_brightness_clips():
    out = brightness(np.array([[0.2, 0.7]], np.float32), 1.5)
    assert np.allclose(out, [[0.3, 1.0]])


def test_dct_window_zero_is_identity():
    X = np.random.default_rng(1).random((2, 1, 96, 96)).astype(np.float32)
    for kind in ('lowpass', 'highpass'):
        assert np.allclose(dct_filter(X, kind, 0), X, atol=1e-6)


@pytest.mark.parametrize('window', [5, 10])
def test_dct_zeroes_the_slides_corners(window):
    X = np.random.default_rng(2).random((2, 96, 96)).astype(np.float32)
    high = scipy.fft.dctn(dct_filter(X, 'highpass', window), axes=(-2, -1),
                          norm='ortho')
    low = scipy.fft.dctn(dct_filter(X, 'lowpass', window), axes=(-2, -1),
                         norm='ortho')
    assert np.abs(high[:, :window, :window]).max() < 1e-4
    assert np.abs(high[:, -window:, -window:]).min() > 0
    assert np.abs(low[:, -window:, -window:]).max() < 1e-4
    assert np.abs(high[:, 0, 0]).max() < 1e-4  # high-pass: mean gone
    assert np.abs(dct_filter(X, 'highpass', window).mean()) < 1e-4
    assert dct_filter(X, 'lowpass', window).mean() == pytest.approx(
        X.mean(), abs=1e-5)


def test_dct_rejects_unknown_kind():
    with pytest.raises(ValueError):
        dct_filter(np.zeros((1, 96, 96)), 'bandpass')
