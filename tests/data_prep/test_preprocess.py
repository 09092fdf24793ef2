"""The slides' contrast preprocessing: shapes, ranges, no NaN on flat images."""
import numpy as np
import pytest

from errors import UserError
from data_prep.preprocess import PREPROCESS_METHODS, preprocess


@pytest.fixture
def faces():
    rng = np.random.default_rng(0)
    return rng.uniform(0.1, 0.7, (3, 1, 96, 96)).astype(np.float32)


@pytest.mark.parametrize('method', PREPROCESS_METHODS)
def test_shape_dtype_range(faces, method):
    out = preprocess(faces, method)
    assert out.shape == faces.shape and out.dtype == np.float32
    assert np.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1
    assert out is not faces


@pytest.mark.parametrize('method', ['equalize', 'adaptive'])
def test_equalizing_spreads_the_histogram(faces, method):
    out = preprocess(faces, method)
    assert out.max() - out.min() > 0.9 > faces.max() - faces.min()


def test_stretch_is_the_slides_call():
    X = np.array([0.0, 0.4, 0.8, 0.9] * 2304, np.float32).reshape(1, 96, 96)
    out = preprocess(X, 'stretch')
    assert np.allclose(out.ravel()[:4], [0, 0.5, 1, 1])


@pytest.mark.parametrize('method', PREPROCESS_METHODS)
@pytest.mark.parametrize('level', [0.0, 0.5, 1.0])
def test_flat_images_give_no_nan(method, level):
    X = np.full((2, 1, 96, 96), level, np.float32)
    out = preprocess(X, method)
    assert not np.isnan(out).any()
    if method in ('none', 'equalize', 'adaptive'):
        assert np.array_equal(out, X)


def test_unknown_method_lists_valid_ones(faces):
    with pytest.raises(UserError) as caught:
        preprocess(faces, 'clahe')
    assert str(caught.value) == ("unknown preprocess method 'clahe'; valid: "
                                 "none, stretch, equalize, adaptive")
