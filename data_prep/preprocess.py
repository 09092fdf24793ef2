"""Contrast preprocessing of the slides ("Data Processing - Normalization").

Each image is processed on its own with ``skimage.exposure``, on the float
image in [0, 1] (the study scaled pixels by /255 first):

* ``'stretch'``: ``rescale_intensity(img, in_range=(0, 0.8))``, the slides'
  exact call. On an image in [0, 1] it maps 0..0.8 to 0..1 and clips the
  brightest fifth to 1; it is *not* a per-image percentile stretch, whatever
  the slides' caption says.
* ``'equalize'``: ``equalize_hist(img)``.
* ``'adaptive'``: ``equalize_adapthist(img, clip_limit=0.03)``.

A flat (constant) image has no contrast to spread: ``equalize`` and
``adaptive`` return it unchanged. (In 2016 ``equalize_adapthist`` gave NaN
on such images; scikit-image 0.21 turns them white; neither is useful.)
"""
import numpy as np
from skimage import exposure

from errors import UserError

PREPROCESS_METHODS = ('none', 'stretch', 'equalize', 'adaptive')


def _stretch(img):
    return exposure.rescale_intensity(img, in_range=(0, 0.8))


def _equalize(img):
    return exposure.equalize_hist(img)


def _adaptive(img):
    return exposure.equalize_adapthist(img, clip_limit=0.03)


_METHODS = {'stretch': _stretch, 'equalize': _equalize,
            'adaptive': _adaptive}
_NEED_CONTRAST = ('equalize', 'adaptive')


def check_method(method):
    """check_method(method)

    Raise :class:`errors.UserError` unless ``method`` is in
    :data:`PREPROCESS_METHODS`.
    """
    if method not in PREPROCESS_METHODS:
        raise UserError('unknown preprocess method %r; valid: %s'
                        % (method, ', '.join(PREPROCESS_METHODS)))


def preprocess(X, method):
    """preprocess(X, method)

    Apply a contrast method to each image.

    Parameters
    ----------
    X : array (..., 96, 96), values in [0, 1]
        E.g. (n, 1, 96, 96) float32 from :func:`data_prep.scaling.scale_pixels`.
    method : str
        One of :data:`PREPROCESS_METHODS`.

    Returns
    -------
    float32 array of the same shape, in [0, 1], never NaN.

    >>> X = np.linspace(0, 1, 2 * 96 * 96).reshape(2, 1, 96, 96)
    >>> out = preprocess(X, 'stretch')
    >>> out.shape, out.dtype.name, float(out.max())
    ((2, 1, 96, 96), 'float32', 1.0)
    >>> preprocess(X, 'sharpen')
    Traceback (most recent call last):
    errors.UserError: unknown preprocess method 'sharpen'; valid: none, stretch, equalize, adaptive
    """
    check_method(method)
    X = np.asarray(X)
    if method == 'none':
        return X.astype(np.float32, copy=True)
    images = X.reshape((-1,) + X.shape[-2:]).astype(np.float64)
    out = np.empty(images.shape, dtype=np.float32)
    function = _METHODS[method]
    for i, img in enumerate(images):
        if method in _NEED_CONTRAST and img.min() == img.max():
            out[i] = img
        else:
            out[i] = function(img)
    out = np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0)
    return out.reshape(X.shape)
