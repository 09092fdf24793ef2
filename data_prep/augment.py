"""Data augmentation of the slides: pure numpy transforms of (images, keypoints).

Images are float32 (n, 1, 96, 96) or (n, 96, 96) in [0, 1]; keypoints are
(n, 30) in the scaled units of :func:`data_prep.scaling.scale_targets`,
(y - 48) / 48, NaN where missing. Every function returns new arrays and
leaves its inputs alone.

Coordinates: pixel (row r, column c) has its centre at x = c, y = r, so the
columns are x = 0..95 (the convention under which ``95 - x`` mirrors them).

Keypoints that leave the frame: a geometric transform (:func:`shift`,
:func:`stretch`, :func:`crop`, :func:`rotate`) sets both coordinates of a
keypoint that ends outside [0, 96) to NaN, the same "missing" that Kaggle's
empty cells become, so ``~np.isnan(y)`` is the mask of usable targets.
Image pixels that come from outside the frame are filled with ``fill``
(default 0, black). :func:`flip` never marks keypoints (the study's mapping
sends x = 0 px to 96 px; that edge case is kept as the study had it).
"""
import numpy as np
import scipy.fft

from data_prep.keypoints import FLIP_PAIRS, SIDE

_CENTRE = (SIDE - 1) / 2.0  # 47.5: the middle of pixel centres 0..95


def _images(X):
    X = np.asarray(X, dtype=np.float32)
    return X.reshape((-1, SIDE, SIDE)), X.shape


def _keypoints_px(y):
    return np.asarray(y, dtype=np.float64) * 48 + 48


def _keypoints_scaled(y_px):
    return ((y_px - 48) / 48).astype(np.float32)


def _warp(X, A, b, fill):
    """Images under the affine map output = A @ input + b (bilinear)."""
    images, shape = _images(X)
    inverse = np.linalg.inv(A)
    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    qx, qy = cols - b[0], rows - b[1]
    px = inverse[0, 0] * qx + inverse[0, 1] * qy
    py = inverse[1, 0] * qx + inverse[1, 1] * qy
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    wx, wy = px - x0, py - y0
    out = np.zeros(images.shape, dtype=np.float64)
    outside = np.zeros((SIDE, SIDE))
    for dx, dy, w in ((0, 0, (1 - wx) * (1 - wy)), (1, 0, wx * (1 - wy)),
                      (0, 1, (1 - wx) * wy), (1, 1, wx * wy)):
        xs, ys = x0 + dx, y0 + dy
        inside = (xs >= 0) & (xs < SIDE) & (ys >= 0) & (ys < SIDE)
        values = images[:, np.clip(ys, 0, SIDE - 1), np.clip(xs, 0, SIDE - 1)]
        out += values * (w * inside)
        outside += w * ~inside
    out += fill * outside
    return out.astype(np.float32).reshape(shape)


def _move(y, A, b):
    """Keypoints under output = A @ input + b; NaN where they leave."""
    if y is None:
        return None
    y_px = _keypoints_px(y)
    x, yy = y_px[:, 0::2], y_px[:, 1::2]
    new_x = A[0, 0] * x + A[0, 1] * yy + b[0]
    new_y = A[1, 0] * x + A[1, 1] * yy + b[1]
    gone = ((new_x < 0) | (new_x >= SIDE) | (new_y < 0) | (new_y >= SIDE))
    new_x[gone] = np.nan
    new_y[gone] = np.nan
    out = np.empty_like(y_px)
    out[:, 0::2], out[:, 1::2] = new_x, new_y
    return _keypoints_scaled(out)


def _affine(X, y, A, b, fill):
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return _warp(X, A, b, fill), _move(y, A, b)


def _about_centre(A):
    """Offset b that keeps the image centre fixed under A."""
    c = np.array([_CENTRE, _CENTRE])
    return c - np.asarray(A) @ c


def flip(X, y, mode='faithful', pairs=FLIP_PAIRS):
    """flip(X, y, mode='faithful', pairs=FLIP_PAIRS)

    Mirror the images left-right and the keypoints with them.

    Parameters
    ----------
    X : images, see module
    y : (n, 30) scaled keypoints or None
    mode : {'faithful', 'exact'}
        ``'faithful'``: the study's (Nouri's tutorial's) mapping, x -> -x in
        scaled units, i.e. x_px -> 96 - x_px, one pixel to the right of
        the true mirror of the flipped image. ``'exact'``: x_px -> 95 - x_px, the
        true mirror of pixel columns 0..95.
    pairs : sequence of (int, int)
        Left/right columns to swap (a subject's left eye becomes the right).

    Returns
    -------
    X_flipped, y_flipped

    >>> X = np.zeros((1, 96, 96), np.float32); X[0, 10, 20] = 1
    >>> y = np.full((1, 30), np.nan, np.float32)
    >>> y[0, 2:4] = (np.array([20, 10]) - 48) / 48  # right eye at x=20
    >>> Xf, yf = flip(X, y, mode='exact')
    >>> int(np.argmax(Xf[0, 10])), float(yf[0, 0] * 48 + 48)
    (75, 75.0)
    """
    if mode not in ('faithful', 'exact'):
        raise ValueError("mode must be 'faithful' or 'exact', not %r"
                         % (mode,))
    X_flipped = np.asarray(X, dtype=np.float32)[..., ::-1].copy()
    if y is None:
        return X_flipped, None
    y_flipped = np.array(y, dtype=np.float32)
    y_flipped[:, 0::2] *= -1
    if mode == 'exact':
        y_flipped[:, 0::2] -= np.float32(1.0 / 48)
    for left, right in pairs:
        y_flipped[:, [left, right]] = y_flipped[:, [right, left]]
    return X_flipped, y_flipped


def shift(X, y, dx, dy, fill=0.0):
    """shift(X, y, dx, dy, fill=0.0)

    Move the image content ``dx`` pixels right and ``dy`` pixels down.
    Returns ``(X_shifted, y_shifted)``; see the module for keypoints that
    leave the frame.
    """
    return _affine(X, y, np.eye(2), (dx, dy), fill)


def stretch(X, y, sx, sy, fill=0.0):
    """stretch(X, y, sx, sy, fill=0.0)

    Scale the content by ``sx`` horizontally, ``sy`` vertically about the
    image centre. Returns ``(X_stretched, y_stretched)``.
    """
    A = np.diag([float(sx), float(sy)])
    return _affine(X, y, A, _about_centre(A), fill)


def rotate(X, y, degrees, fill=0.0):
    """rotate(X, y, degrees, fill=0.0)

    Rotate the content about the image centre, counter-clockwise as shown
    on screen for positive ``degrees`` (the slides: "a few degrees").
    Returns ``(X_rotated, y_rotated)``.
    """
    t = np.deg2rad(degrees)
    A = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    return _affine(X, y, A, _about_centre(A), fill)


def crop(X, y, box, fill=0.0):
    """crop(X, y, box, fill=0.0)

    Cut the pixels ``box = (left, top, right, bottom)`` (columns
    left..right-1, rows top..bottom-1) and resize them back to 96x96.
    Returns ``(X_cropped, y_cropped)``.
    """
    left, top, right, bottom = box
    if not (0 <= left < right <= SIDE and 0 <= top < bottom <= SIDE):
        raise ValueError('crop box %r is not inside the 96x96 image'
                         % (tuple(box),))
    sx, sy = SIDE / float(right - left), SIDE / float(bottom - top)
    # Pixel edges left-0.5 .. right-0.5 go to -0.5 .. 95.5.
    A = np.diag([sx, sy])
    b = ((0.5 - left) * sx - 0.5, (0.5 - top) * sy - 0.5)
    return _affine(X, y, A, b, fill)


def brightness(X, factor):
    """brightness(X, factor)

    Images times ``factor``, clipped to [0, 1]; keypoints do not move.

    >>> brightness(np.array([0.2, 0.8], np.float32), 1.5)
    array([0.3, 1. ], dtype=float32)
    """
    return np.clip(np.asarray(X, dtype=np.float32) * np.float32(factor),
                   0, 1)


def dct_filter(X, kind='lowpass', window=5):
    """dct_filter(X, kind='lowpass', window=5)

    The slides' DCT augmentation: 2-D DCT (normalised) of each image, zero
    a window x window corner of the coefficients, inverse DCT (normalised).

    Parameters
    ----------
    X : images, see module
    kind : {'lowpass', 'highpass'}
        ``'highpass'`` zeroes the top-left corner (the lowest frequencies,
        with the mean); ``'lowpass'`` zeroes the bottom-right corner (the
        highest frequencies).
    window : int
        Side of the zeroed corner (the slides tried 5 and 10); 0 changes
        nothing.

    Returns
    -------
    float32 images of the same shape. Not clipped: a high-pass image has
    lost its mean and has values below 0, as the slides' images did.
    Keypoints do not move.
    """
    if kind not in ('lowpass', 'highpass'):
        raise ValueError("kind must be 'lowpass' or 'highpass', not %r"
                         % (kind,))
    images, shape = _images(X)
    coefficients = scipy.fft.dctn(images.astype(np.float64), axes=(-2, -1),
                                  norm='ortho')
    if window > 0:
        if kind == 'highpass':
            coefficients[:, :window, :window] = 0
        else:
            coefficients[:, -window:, -window:] = 0
    out = scipy.fft.idctn(coefficients, axes=(-2, -1), norm='ortho')
    return out.astype(np.float32).reshape(shape)
