"""Scaling of pixels and targets as the study (and Nouri's tutorial) did.

Pixels go to [0, 1] by /255; keypoint targets in pixels go to about
[-1, 1] by (y - 48) / 48, and back.
"""
import numpy as np


def scale_pixels(images):
    """scale_pixels(images)

    Integer pixel values 0..255 to float32 in [0, 1].

    >>> scale_pixels(np.array([0, 51, 255], dtype=np.uint8))
    array([0. , 0.2, 1. ], dtype=float32)
    """
    return np.asarray(images, dtype=np.float32) / np.float32(255)


def scale_targets(y):
    """scale_targets(y)

    Keypoints in pixels (0..96) to float32 (y - 48) / 48; NaN stays NaN.

    >>> scale_targets([0.0, 48.0, 72.0])
    array([-1. ,  0. ,  0.5], dtype=float32)
    """
    return ((np.asarray(y, dtype=np.float32) - np.float32(48))
            / np.float32(48))


def unscale_targets(y):
    """unscale_targets(y)

    Inverse of :func:`scale_targets`: y * 48 + 48, in pixels (keeps the
    float dtype of ``y``).

    >>> unscale_targets(np.array([-1.0, 0.0, 0.5]))
    array([ 0., 48., 72.])
    """
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        y = y.astype(np.float64)
    return y * 48 + 48
