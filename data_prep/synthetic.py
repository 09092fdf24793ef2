"""Synthetic faces with known keypoints, written in exactly Kaggle's format.

For trying the whole pipeline without Kaggle's files (``--data synthetic``).
Each face is a head ellipse with eyes (pupil at the eye-centre keypoint,
corners at the ends of the eye), eyebrows (a stroke from inner to outer
end), a nose (tip keypoint at the centre of its base) and lips (corners at
the ends, top/bottom lip keypoints on the lip edges), drawn at a varying
position, size, small rotation, pose, brightness and noise. "Left" is the
subject's left, the larger x, as in Kaggle's data.

Rendering is vectorised over a block of faces: every pixel's position in a
face's own frame is computed once, and each feature is an anti-aliased
coverage map of it.
"""
import numpy as np

from data_prep.kaggle_csv import image_texts, write_training_lines
from data_prep.keypoints import (KEYPOINT_COLUMNS, SIDE,
                                 SPARSE_INDICES)

_BLOCK = 256  # faces rendered at once (bounds memory to a few 10 MB)
_INDEX = {name: i for i, name in enumerate(KEYPOINT_COLUMNS)}


def _face_parameters(n, rng):
    """Per-face shape, pose and lighting, each an (n,) array."""
    u = rng.uniform
    p = {
        'cx': u(45, 51, n), 'cy': u(45, 51, n),
        'scale': u(0.8, 1.02, n), 'angle': np.deg2rad(u(-10, 10, n)),
        'yaw': u(-3.5, 3.5, n),
        'eye_dx': u(16, 20, n), 'eye_y': u(-12.5, -8.5, n),
        'eye_a': u(5.5, 7.5, n), 'eye_b': u(2.6, 3.8, n),
        'brow_gap': u(6.5, 9.5, n), 'brow_in': u(7, 10, n),
        'brow_out': u(10.5, 13, n), 'brow_tilt': u(-2, 2, n),
        'nose_y': u(11, 16, n),
        'mouth_y': u(25, 30, n), 'mouth_w': u(11, 16, n),
        'lip_top': u(2, 3.5, n), 'lip_bottom': u(2.5, 5, n),
        'background': u(0.05, 0.95, n), 'gradient': u(-0.2, 0.2, n),
        'skin': u(0.4, 0.85, n), 'contrast': u(0.7, 1.15, n),
        'noise': u(0.01, 0.04, n),
    }
    # Keep the head visible against the background.
    close = np.abs(p['skin'] - p['background']) < 0.15
    p['background'][close] = np.where(p['skin'][close] > 0.5, 0.15, 0.9)
    return p


def _canonical_keypoints(p):
    """(n, 15, 2) keypoints in the face's own frame (pixels, y down)."""
    n = len(p['cx'])
    yaw = p['yaw']
    eye_x = p['eye_dx']  # pose (yaw) moves the eyes less than nose and mouth
    pts = np.empty((n, 15, 2))

    def put(i, x, y):
        pts[:, i, 0], pts[:, i, 1] = x, y

    eye_y = p['eye_y']
    brow_y = eye_y - p['brow_gap']
    mouth_x = yaw
    put(0, eye_x + 0.3 * yaw, eye_y)                       # left eye centre
    put(1, -eye_x + 0.3 * yaw, eye_y)                      # right eye centre
    put(2, eye_x + 0.3 * yaw - p['eye_a'], eye_y)          # left inner
    put(3, eye_x + 0.3 * yaw + p['eye_a'], eye_y)          # left outer
    put(4, -eye_x + 0.3 * yaw + p['eye_a'], eye_y)         # right inner
    put(5, -eye_x + 0.3 * yaw - p['eye_a'], eye_y)         # right outer
    put(6, eye_x + 0.3 * yaw - p['brow_in'], brow_y)       # left brow inner
    put(7, eye_x + 0.3 * yaw + p['brow_out'], brow_y + p['brow_tilt'])
    put(8, -eye_x + 0.3 * yaw + p['brow_in'], brow_y)      # right brow inner
    put(9, -eye_x + 0.3 * yaw - p['brow_out'], brow_y + p['brow_tilt'])
    put(10, 0.8 * yaw, p['nose_y'])                        # nose tip
    put(11, mouth_x + p['mouth_w'], p['mouth_y'])          # mouth left
    put(12, mouth_x - p['mouth_w'], p['mouth_y'])          # mouth right
    put(13, mouth_x, p['mouth_y'] - p['lip_top'])          # top lip
    put(14, mouth_x, p['mouth_y'] + p['lip_bottom'])       # bottom lip
    return pts


def _to_image(pts, p):
    """Face frame -> image pixels: rotate, scale, move to the centre."""
    cos, sin = np.cos(p['angle'])[:, None], np.sin(p['angle'])[:, None]
    s = p['scale'][:, None]
    x, y = pts[..., 0], pts[..., 1]
    return np.stack([p['cx'][:, None] + s * (cos * x - sin * y),
                     p['cy'][:, None] + s * (sin * x + cos * y)], axis=-1)


def _coverage(distance_px):
    """Anti-aliased inside-ness from a signed distance in pixels."""
    return np.clip(0.5 - distance_px, 0.0, 1.0)


def _ellipse(u, v, x, y, a, b, scale):
    """Coverage of an axis-aligned ellipse (face frame) at (x, y)."""
    r = np.sqrt(((u - x) / a) ** 2 + ((v - y) / b) ** 2)
    return _coverage((r - 1) * np.minimum(a, b) * scale)


def _stroke(u, v, x0, y0, x1, y1, half_width, scale):
    """Coverage of a round-ended line from (x0, y0) to (x1, y1)."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((u - x0) * dx + (v - y0) * dy) / (dx * dx + dy * dy), 0, 1)
    d = np.hypot(u - x0 - t * dx, v - y0 - t * dy)
    return _coverage((d - half_width) * scale)


def _mix(image, coverage, value):
    return image + coverage * (value - image)


def _render(p, pts, rng):
    """float (m, 96, 96) in [0, 1] for a block of faces."""
    m = len(p['cx'])

    # float32: a third faster than float64 and far finer than uint8 output.
    def col(name):
        return p[name][:, None, None].astype(np.float32)

    grid = np.arange(SIDE, dtype=np.float32)
    gx, gy = grid[None, None, :], grid[None, :, None]
    dx, dy = gx - col('cx'), gy - col('cy')
    cos, sin, s = np.cos(col('angle')), np.sin(col('angle')), col('scale')
    u = (cos * dx + sin * dy) / s  # pixel positions in each face's frame
    v = (-sin * dx + cos * dy) / s

    def k(i, axis):
        return pts[:, i, axis][:, None, None].astype(np.float32)

    image = col('background') + col('gradient') * (gx - 48) / 96 + 0 * gy
    skin = col('skin')
    head_x = 0.4 * col('yaw')
    head = _ellipse(u, v, head_x, 3.0, 35.0, 45.0, s)
    shade = 1 - 0.25 * (((u - head_x) / 35) ** 2 + ((v - 3) / 45) ** 2)
    image = _mix(image, head, skin * shade)
    for centre in (0, 1):  # eyes: white of the eye, then a dark pupil
        ex, ey = k(centre, 0), k(centre, 1)
        white = np.minimum(skin + 0.25, 1.0)
        image = _mix(image, _ellipse(u, v, ex, ey, col('eye_a'),
                                     col('eye_b'), s), white)
        radius = 0.8 * col('eye_b')
        image = _mix(image, _ellipse(u, v, ex, ey, radius, radius, s),
                     0.08 * skin)
    for inner, outer in ((6, 7), (8, 9)):
        image = _mix(image, _stroke(u, v, k(inner, 0), k(inner, 1),
                                    k(outer, 0), k(outer, 1), 1.4, s),
                     0.3 * skin)
    nx, ny = k(10, 0), k(10, 1)  # nose: ridge, base, nostrils
    image = _mix(image, 0.5 * _stroke(u, v, 0.5 * nx, k(0, 1), nx, ny - 2,
                                      1.0, s), 0.75 * skin)
    image = _mix(image, _ellipse(u, v, nx, ny, 4.5, 2.6, s), 0.78 * skin)
    for side in (-2.2, 2.2):
        image = _mix(image, _ellipse(u, v, nx + side, ny + 0.8, 1.3, 0.9, s),
                     0.2 * skin)
    mx, my = k(13, 0), k(11, 1)  # lips: upper and lower half ellipses
    lip_b = np.where(v < my, col('lip_top'), col('lip_bottom'))
    image = _mix(image, _ellipse(u, v, mx, my, col('mouth_w'), lip_b, s),
                 0.5 * skin)
    image = _mix(image, _stroke(u, v, k(12, 0) + 1.5, my, k(11, 0) - 1.5, my,
                                0.5, s), 0.15 * skin)
    image = (image - 0.5) * col('contrast') + 0.5
    image = image + col('noise') * rng.standard_normal((m, SIDE, SIDE),
                                                       dtype=np.float32)
    return np.clip(image, 0.0, 1.0)


def make_faces(n, seed=0):
    """make_faces(n, seed=0)

    Render ``n`` synthetic faces with all 30 keypoints.

    Parameters
    ----------
    n : int
    seed : int
        Same seed, same faces.

    Returns
    -------
    images : uint8 (n, 96, 96)
    keypoints : float64 (n, 30)
        Pixels, in :data:`KEYPOINT_COLUMNS` order, all inside [0, 96).

    >>> images, keypoints = make_faces(3, seed=1)
    >>> images.shape, images.dtype.name, keypoints.shape
    ((3, 96, 96), 'uint8', (3, 30))
    >>> bool(keypoints[0, 0] > keypoints[0, 2])  # left eye: larger x
    True
    """
    rng = np.random.default_rng(seed)
    params = _face_parameters(n, rng)
    points = _to_image(_canonical_keypoints(params), params)
    images = np.empty((n, SIDE, SIDE), dtype=np.uint8)
    for start in range(0, n, _BLOCK):
        block = slice(start, min(n, start + _BLOCK))
        pb = {name: value[block] for name, value in params.items()}
        rendered = _render(pb, _canonical_keypoints(pb), rng)
        images[block] = np.round(rendered * 255).astype(np.uint8)
    keypoints = points.reshape(n, -1)
    if n and not ((keypoints >= 0) & (keypoints < SIDE)).all():
        raise AssertionError('a synthetic keypoint left the frame')
    return images, keypoints


def kaggle_missing_mask(n, seed=0, complete_fraction=0.3):
    """kaggle_missing_mask(n, seed=0, complete_fraction=0.3)

    bool (n, 30): which keypoints a row has, in Kaggle's pattern:
    ``round(n * complete_fraction)`` rows have all 30, the others only
    :data:`SPARSE_COLUMNS`.

    >>> mask = kaggle_missing_mask(10, seed=0)
    >>> int(mask.all(axis=1).sum()), int(mask.sum(axis=1).min())
    (3, 8)
    """
    rng = np.random.default_rng([seed, 1])
    mask = np.zeros((n, len(KEYPOINT_COLUMNS)), dtype=bool)
    mask[:, list(SPARSE_INDICES)] = True
    complete = rng.permutation(n)[:int(round(n * complete_fraction))]
    mask[complete] = True
    return mask


def write_kaggle_csv(path, n, seed=0, kind='training',
                     complete_fraction=0.3):
    """write_kaggle_csv(path, n, seed=0, kind='training', complete_fraction=0.3)

    Write ``n`` synthetic faces as Kaggle's ``training.csv`` or ``test.csv``.

    Parameters
    ----------
    path : str
    n : int
    seed : int
        Same seed, same file.
    kind : {'training', 'test'}
        training: the 30 keypoint columns (10 decimals, like Kaggle's;
        empty where missing) and Image; test: ImageId (1-based) and Image.
    complete_fraction : float
        Share of training rows with all 30 keypoints; the others have only
        the 8 :data:`SPARSE_COLUMNS`, like Kaggle's.

    Returns
    -------
    keypoints : float64 (n, 30) or None
        What was written (NaN where left empty); None for test.
    """
    if kind not in ('training', 'test'):
        raise ValueError("kind must be 'training' or 'test', not %r" % kind)
    images, keypoints = make_faces(n, seed)
    if kind == 'training':
        keypoints = np.where(kaggle_missing_mask(n, seed, complete_fraction),
                             keypoints, np.nan)
        with open(path, 'w', newline='\n') as out:
            write_training_lines(out, images, keypoints)
        return keypoints
    prefixes = ['%d,' % (i + 1) for i in range(n)]
    with open(path, 'w', newline='\n') as out:
        out.write('ImageId,Image\n')
        for start in range(0, n, _BLOCK):
            texts = image_texts(images[start:start + _BLOCK])
            out.write(''.join(prefix + text + '\n' for prefix, text
                              in zip(prefixes[start:start + _BLOCK], texts)))
    return None
