"""Faces in an ordinary photo: find them, crop them as the training data, map back.

Coordinates are in pixels with pixel ``i`` centred at ``i`` (Kaggle's
keypoints and matplotlib's ``imshow`` use the same), x to the right, y down.

Detection uses the LBP frontal-face cascade that ships inside
scikit-image (``skimage.data.lbp_frontal_face_cascade_filename()``), so no
model is downloaded. Its parameters (:data:`DETECT`) were tuned on the
photos scikit-image ships: ``astronaut`` gives exactly one face (at
``min_neighbor_number`` 10 to 16; at 8 a patch of her flag counts too) and
``coffee``, ``chelsea`` (a cat), ``rocket``, ``page``, ``coins``, ``moon``
give none.

Cropping: a net only knows faces framed as in its training data (Kaggle:
inter-ocular distance about 39 px of 96, eyes' midpoint at about (48.3,
37.8)). The detector's square relates to the eyes as measured by running it
on 275 real faces of ``../shared/data/ytf_kfkd`` (upscaled 4x; medians):
the square is :data:`BOX_WIDTH_PER_IOD` inter-ocular distances wide and the
eyes' midpoint sits :data:`EYES_FROM_BOX_CENTRE` box widths from its
centre. :func:`crop_square` puts the eyes where the training data has them,
at its scale; parts of the square outside the photo repeat the edge pixels.
"""
import collections
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage
from skimage import color, data, transform
from skimage.feature import Cascade

from errors import UserError
from data_prep.keypoints import KEYPOINT_COLUMNS, SIDE

#: ``Cascade.detect_multi_scale`` keywords (besides the sizes).
DETECT = dict(scale_factor=1.1, step_ratio=1, min_neighbor_number=12,
              intersection_score_threshold=0.5)

#: Smallest face searched for, in pixels of the (downscaled) photo.
MIN_FACE = 48

#: Photos with a longer side are searched downscaled to it (speed: the
#: cascade's cost grows with the area; a face smaller than
#: MIN_FACE / MAX_SEARCH_SIDE of the photo is too small to crop anyway).
MAX_SEARCH_SIDE = 1024
#: Photos with a longer side are decoded reduced to it (memory: a
#: 12000x12000 photo takes 3.8 GB as float64; the search is at
#: MAX_SEARCH_SIDE anyway, and a face crop is 96 px).
MAX_PHOTO_SIDE = 2048

#: Detector square width / inter-ocular distance (median of 275 faces).
BOX_WIDTH_PER_IOD = 2.39

#: Eyes' midpoint minus the square's centre, in square widths (x, y).
EYES_FROM_BOX_CENTRE = (0.01, -0.10)

Framing = collections.namedtuple('Framing', ['iod', 'eye_x', 'eye_y'])
Framing.__doc__ = """Framing(iod, eye_x, eye_y)

How faces sit in the 96x96 training images: inter-ocular distance and
the eyes' midpoint, in pixels.
"""

#: Kaggle's training faces.
KAGGLE_FRAMING = Framing(iod=39.0, eye_x=48.3, eye_y=37.8)

_EYES = (KEYPOINT_COLUMNS.index('left_eye_center_x'),
         KEYPOINT_COLUMNS.index('right_eye_center_x'))


def framing_of(keypoints_px):
    """framing_of(keypoints_px)

    The :class:`Framing` of a set of faces: medians over the rows that
    have both eye centres.

    Parameters
    ----------
    keypoints_px : array (n, 30)
        Keypoints in pixels, Kaggle's column order (NaN where missing).

    >>> y = np.full((1, 30), np.nan)
    >>> y[0, :4] = [66.0, 38.0, 28.0, 36.0]
    >>> framing_of(y)
    Framing(iod=38.05..., eye_x=47.0, eye_y=37.0)
    """
    y = np.asarray(keypoints_px, dtype=np.float64)
    left = y[:, _EYES[0]:_EYES[0] + 2]
    right = y[:, _EYES[1]:_EYES[1] + 2]
    ok = np.isfinite(left).all(axis=1) & np.isfinite(right).all(axis=1)
    if not ok.any():
        raise UserError('no face with both eye centres to frame crops by')
    iod = np.hypot(*(left[ok] - right[ok]).T)
    middle = (left[ok] + right[ok]) / 2
    return Framing(float(np.median(iod)), float(np.median(middle[:, 0])),
                   float(np.median(middle[:, 1])))


def read_photo(path):
    """read_photo(path)

    A photo (JPEG, PNG, anything Pillow reads) as a uint8 array, turned
    upright by its EXIF orientation: (h, w) if grey, else (h, w, 3) RGB
    (transparency is dropped onto white).

    Raises
    ------
    UserError
        Missing or unreadable file.
    """
    return read_photo_reduced(path, max_side=None)[0]


def read_photo_reduced(path, max_side=MAX_PHOTO_SIDE):
    """read_photo_reduced(path, max_side=MAX_PHOTO_SIDE)

    :func:`read_photo`, decoded at most `max_side` pixels on its longer
    side (None: as it is): a JPEG at a reduced size by its decoder itself
    (Pillow's ``draft``), so that a photo of any size costs little memory
    (a 12000x12000 one would take 3.8 GB as float64 grey).

    Returns
    -------
    photo : uint8 array
    scale : float
        The photo's size over the array's (1.0 when not reduced): the
        array's pixel ``i`` is the photo's ``(i + 0.5) * scale - 0.5``.

    Raises
    ------
    UserError
        Missing or unreadable file.
    """
    if not os.path.isfile(path):
        raise UserError('%s: no such photo' % path)
    try:
        with warnings.catch_warnings():
            if max_side is not None:
                # Pillow warns of a "decompression bomb" above 89 Mpixels;
                # decoded reduced, such a photo is none.
                warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            image = Image.open(path)
        with image:
            full = max(image.size)
            if max_side is not None and full > max_side:
                image.draft(image.mode if image.mode in ('L', 'RGB') else None,
                            (max_side, max_side))
                image.thumbnail((max_side, max_side), Image.BILINEAR)
            scale = full / float(max(image.size))
            return _as_array(ImageOps.exif_transpose(image)), scale
    except (UnidentifiedImageError, OSError, ValueError,
            Image.DecompressionBombError) as e:
        raise UserError('%s: not a readable image (%s)' % (path, e))


def _as_array(image):
    """A Pillow image as read_photo's uint8 array."""
    if image.mode in ('L', 'I;16', 'I', 'F', '1'):
        grey = np.asarray(image.convert('F'), dtype=np.float64)
        if image.mode in ('I;16', 'I'):
            grey = grey / max(1.0, grey.max()) * 255
        return np.clip(np.round(grey), 0, 255).astype(np.uint8)
    if image.mode in ('RGBA', 'LA', 'PA') or 'transparency' in image.info:
        image = image.convert('RGBA')
        canvas = Image.new('RGBA', image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(canvas, image)
    return np.asarray(image.convert('RGB'), dtype=np.uint8)


def to_grey(photo):
    """to_grey(photo)

    float64 (h, w) in [0, 1]: luminance of an RGB uint8 photo (as
    ``skimage.color.rgb2gray``), or a grey one / 255.

    >>> to_grey(np.array([[0, 255]], dtype=np.uint8))
    array([[0., 1.]])
    """
    photo = np.asarray(photo)
    if photo.ndim == 3:
        return color.rgb2gray(photo[..., :3])
    return photo.astype(np.float64) / 255.0


_CASCADE = []


def _cascade():
    """The detector, loaded once (it is read from an XML file)."""
    if not _CASCADE:
        _CASCADE.append(Cascade(data.lbp_frontal_face_cascade_filename()))
    return _CASCADE[0]


def _overlap(a, b):
    """Shared area of two (x, y, w, h) boxes over the smaller one's area."""
    dx = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    dy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if dx <= 0 or dy <= 0:
        return 0.0
    return dx * dy / min(a[2] * a[3], b[2] * b[3])


def detect_faces(grey):
    """detect_faces(grey)

    Frontal faces in a grey photo.

    Parameters
    ----------
    grey : array (h, w) in [0, 1]

    Returns
    -------
    list of (x, y, width, height)
        The detector's squares in photo pixels (left and top edges), left
        to right; of two squares overlapping by more than 30% of the
        smaller, only the larger is kept.
    """
    grey = np.asarray(grey, dtype=np.float64)
    factor = min(1.0, MAX_SEARCH_SIDE / float(max(grey.shape)))
    search = grey
    if factor < 1.0:
        search = transform.rescale(grey, factor, anti_aliasing=True)
    longest = max(search.shape) + 1
    found = _cascade().detect_multi_scale(
        img=search, min_size=(MIN_FACE, MIN_FACE),
        max_size=(longest, longest), **DETECT)
    boxes = []
    # Each square's edges in photo pixels (the search image's pixel i
    # covers [i - 0.5, i + 0.5] / factor around the photo's).
    for d in sorted(found, key=lambda d: -d['width'] * d['height']):
        box = ((d['c'] - 0.5) / factor, (d['r'] - 0.5) / factor,
               d['width'] / factor, d['height'] / factor)
        if all(_overlap(box, kept) <= 0.3 for kept in boxes):
            boxes.append(box)
    return sorted(boxes)


def crop_square(box, framing=KAGGLE_FRAMING):
    """crop_square(box, framing=KAGGLE_FRAMING)

    The square of the photo that frames the detected face as ``framing``.

    Parameters
    ----------
    box : (x, y, width, height)
        From :func:`detect_faces`.
    framing : Framing

    Returns
    -------
    (left, top, side)
        Edges and side of the square in photo pixels; it may reach outside
        the photo.

    >>> left, top, side = crop_square((100, 50, 95.6, 95.6))
    >>> round(side, 2)  # 96 px * (95.6 / 2.39 px inter-ocular) / 39 px
    98.46
    """
    x, y, width, height = box
    iod = width / BOX_WIDTH_PER_IOD
    eyes_x = x + width / 2 + EYES_FROM_BOX_CENTRE[0] * width
    eyes_y = y + height / 2 + EYES_FROM_BOX_CENTRE[1] * width
    scale = iod / framing.iod  # photo pixels per crop pixel
    # Crop pixel k is centred at photo left + (k + 0.5) * scale.
    left = eyes_x - (framing.eye_x + 0.5) * scale
    top = eyes_y - (framing.eye_y + 0.5) * scale
    return (left, top, SIDE * scale)


def crop_faces(grey, squares):
    """crop_faces(grey, squares)

    Each square of a grey photo as a 96x96 image, float32 (n, 1, 96, 96)
    in [0, 1], like the training images before preprocessing. A square
    larger than 96 px is smoothed first (no aliasing); beyond the photo's
    edge its edge pixels repeat.
    """
    grey = np.asarray(grey, dtype=np.float64)
    crops = np.empty((len(squares), 1, SIDE, SIDE), dtype=np.float32)
    for i, (left, top, side) in enumerate(squares):
        scale = side / SIDE
        source = grey
        if scale > 1:
            source = ndimage.gaussian_filter(grey, (scale - 1) / 2,
                                             mode='nearest')
        # warp maps each output (col, row) to the input position it reads.
        inverse = transform.AffineTransform(
            scale=(scale, scale),
            translation=(left + 0.5 * scale, top + 0.5 * scale))
        crops[i, 0] = transform.warp(source, inverse, output_shape=(SIDE, SIDE),
                                     order=1, mode='edge')
    return np.clip(crops, 0.0, 1.0)


def to_photo_pixels(keypoints_px, squares):
    """to_photo_pixels(keypoints_px, squares)

    Keypoints predicted on the crops, in pixels of the photo.

    Parameters
    ----------
    keypoints_px : array (n, 30)
        In pixels of the 96x96 crops, Kaggle's column order (x, y pairs).
    squares : sequence of (left, top, side)

    >>> to_photo_pixels(np.full((1, 30), 47.5), [(10.0, 20.0, 192.0)])[0, :2]
    array([106., 116.])
    """
    keypoints = np.asarray(keypoints_px, dtype=np.float64)
    out = np.empty_like(keypoints)
    for i, (left, top, side) in enumerate(squares):
        scale = side / SIDE
        out[i, 0::2] = left + (keypoints[i, 0::2] + 0.5) * scale
        out[i, 1::2] = top + (keypoints[i, 1::2] + 0.5) * scale
    return out
