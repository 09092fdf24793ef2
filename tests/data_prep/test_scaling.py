"""Pixel and target scaling of the study."""
import numpy as np

from data_prep.scaling import scale_pixels, scale_targets, unscale_targets


def test_scale_pixels():
    out = scale_pixels(np.array([[0, 255], [51, 102]], dtype=np.uint8))
    assert out.dtype == np.float32
    assert np.allclose(out, [[0, 1], [0.2, 0.4]])
    assert scale_pixels(np.array([255], dtype=np.int64))[0] == 1.0


def test_targets_round_trip():
    y = np.random.default_rng(0).uniform(0, 96, (7, 30))
    scaled = scale_targets(y)
    assert scaled.dtype == np.float32
    assert scaled.min() >= -1 and scaled.max() < 1
    assert np.allclose(unscale_targets(scaled), y, atol=1e-4)


def test_nan_stays_nan():
    assert np.isnan(scale_targets([np.nan, 10.0])[0])
    assert np.isnan(unscale_targets(np.array([np.nan]))[0])
