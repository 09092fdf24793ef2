"""Pictures to judge a net: faces with true and predicted keypoints, charts.

Colours follow ``../shared/data/ytf_kfkd/preview.png``: red = the subject's
left (the larger x), blue = the subject's right, green = the centre line
(nose tip, lip centres). True keypoints are circles, predicted ones
crosses; a keypoint a face lacks (NaN) is not drawn, and the titles of
:func:`worst_faces` (and of the run report's faces) count them
(:func:`missing_points`). Everything is drawn with matplotlib's Agg
backend (no display).
"""
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from data_prep.keypoints import KEYPOINT_COLUMNS  # noqa: E402
from evaluation.metrics import image_rmse  # noqa: E402
from run_folder import atomic_path  # noqa: E402

LEFT, RIGHT, CENTRE = 'tab:red', 'tab:blue', 'tab:green'


def keypoint_colour(column):
    """keypoint_colour(column)

    Colour of a Kaggle keypoint (``left_eye_center_x`` or
    ``left_eye_center``) by side of the subject's face.

    >>> keypoint_colour('left_eye_center_x'), keypoint_colour('mouth_right_corner')
    ('tab:red', 'tab:blue')
    >>> keypoint_colour('nose_tip_y')
    'tab:green'
    """
    if column.startswith('left_') or column.startswith('mouth_left'):
        return LEFT
    if column.startswith('right_') or column.startswith('mouth_right'):
        return RIGHT
    return CENTRE


#: Colour of each of the 15 points (x column, y column pairs).
POINT_COLOURS = tuple(keypoint_colour(c) for c in KEYPOINT_COLUMNS[::2])


def _points(y):
    """(15, 2) x, y of a (30,) keypoint row."""
    return np.asarray(y, dtype=np.float64).reshape(-1, 2)


def missing_points(y_true, y_pred):
    """missing_points(y_true, y_pred)

    For each face, the keypoints predicted whose truth is missing (NaN):
    int (n,). A keypoint not predicted either (a column a sparse run does
    not have) is not counted.

    >>> y_true = np.zeros((2, 30)); y_true[1, :4] = np.nan
    >>> y_pred = np.zeros((2, 30)); y_pred[:, 2:4] = np.nan
    >>> missing_points(y_true, y_pred).tolist()
    [0, 1]
    """
    true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1, 2)
    pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1, 2)
    lacking = ~np.isfinite(true).all(axis=2) & np.isfinite(pred).all(axis=2)
    return lacking.sum(axis=1)


def draw_keypoints(ax, y_true=None, y_pred=None, size=1.0):
    """draw_keypoints(ax, y_true=None, y_pred=None, size=1.0)

    Draw a face's keypoints (pixels, Kaggle column order) on ``ax``: true
    as open circles, predicted as crosses, coloured by side. NaN points
    (missing) are skipped. ``size`` scales the markers.
    """
    colours = np.array(POINT_COLOURS)
    if y_true is not None:
        points = _points(y_true)
        ok = np.isfinite(points).all(axis=1)
        ax.scatter(points[ok, 0], points[ok, 1], s=28 * size,
                   facecolors='none', edgecolors=colours[ok],
                   linewidths=1.0 * size)
    if y_pred is not None:
        points = _points(y_pred)
        ok = np.isfinite(points).all(axis=1)
        ax.scatter(points[ok, 0], points[ok, 1], s=30 * size, marker='x',
                   c=colours[ok], linewidths=1.2 * size)


def _save(fig, path):
    """Write the figure atomically (:func:`run_folder.atomic_path`: never
    half a PNG) and close it."""
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=fig.dpi)
    finally:
        plt.close(fig)


def face_grid(images, y_true, y_pred, path, titles=None, ncols=4,
              suptitle=None):
    """face_grid(images, y_true, y_pred, path, titles=None, ncols=4, suptitle=None)

    A grid of faces with their true (circles) and predicted (crosses)
    keypoints, written to ``path`` (PNG).

    Parameters
    ----------
    images : array (n, 96, 96) or (n, 1, 96, 96)
        Grey faces in [0, 1].
    y_true, y_pred : array (n, 30) or None
        Keypoints in pixels.
    path : str
    titles : sequence of str or None
        One small title per face.
    ncols : int
    suptitle : str or None
    """
    images = np.asarray(images)
    images = images.reshape((len(images),) + images.shape[-2:])
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.2 * ncols,
                                                    2.35 * nrows + 0.5),
                             squeeze=False, dpi=100)
    for i, ax in enumerate(axes.flat):
        ax.axis('off')
        if i >= n:
            continue
        ax.imshow(images[i], cmap='gray', vmin=0, vmax=1,
                  extent=(-0.5, images.shape[2] - 0.5,
                          images.shape[1] - 0.5, -0.5))
        draw_keypoints(ax, None if y_true is None else y_true[i],
                       None if y_pred is None else y_pred[i], size=0.6)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.suptitle(suptitle or 'o true   x predicted   '
                 '(red: subject\'s left, blue: right, green: centre)',
                 fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    _save(fig, path)


def worst_faces(images, y_true, y_pred, path, rows=None, n=16, name=None):
    """worst_faces(images, y_true, y_pred, path, rows=None, n=16, name=None)

    The ``n`` faces with the largest per-image RMSE, worst first, as
    :func:`face_grid` (the slides' "predict bad training data for manual
    review": a face whose labels are wrong shows up here too).

    Parameters
    ----------
    rows : sequence of int or None
        A name for each image in the titles (e.g. its row in the run's
        shuffled data); default: its position.
    name : str or None
        What the faces are (e.g. the run), for the title.

    Returns
    -------
    int array
        Positions of the faces drawn, worst first.
    """
    errors = image_rmse(y_true, y_pred)
    order = np.argsort(-np.nan_to_num(errors, nan=-1.0), kind='stable')[:n]
    names = np.arange(len(errors)) if rows is None else np.asarray(rows)
    missing = missing_points(y_true, y_pred)
    titles = ['row %d: %.1f px%s' % (names[i], errors[i], ', %d missing'
                                     % missing[i] if missing[i] else '')
              for i in order]
    face_grid(np.asarray(images)[order], np.asarray(y_true)[order],
              np.asarray(y_pred)[order], path, titles=titles,
              suptitle='%sworst %d by RMSE (o true, x predicted): check '
              'the labels too' % (name + ': ' if name else '', len(order)))
    return order


def keypoint_rmse_chart(table, path, title='RMSE per keypoint'):
    """keypoint_rmse_chart(table, path, title='RMSE per keypoint')

    Horizontal bars of each keypoint's RMSE in pixels, coloured by side,
    with the mean-keypoint baseline as a black tick and the overall RMSE as
    a dashed line.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`evaluation.metrics.error_table`.
    """
    per_column = table.drop(index='overall')
    names = list(per_column.index)
    positions = np.arange(len(names))[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.22 * len(names) + 1.5), dpi=100)
    ax.barh(positions, per_column['rmse_px'],
            color=[keypoint_colour(c) for c in names], alpha=0.8,
            label='net')
    ax.scatter(per_column['baseline_rmse_px'], positions, marker='|',
               s=120, color='black', label='mean-keypoint baseline')
    overall = table.loc['overall']
    ax.axvline(overall['rmse_px'], color='gray', linestyle='--',
               label='overall %.2f px (baseline %.2f)'
               % (overall['rmse_px'], overall['baseline_rmse_px']))
    ax.set_yticks(positions)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlabel('RMSE (pixels of 96)')
    ax.set_title(title, fontsize=10)
    ax.set_ylim(-0.8, len(names) + 1.6)  # room for the legend on top
    ax.legend(fontsize=7, loc='upper right', ncol=3)
    fig.tight_layout()
    _save(fig, path)


def annotated_photo(photo, boxes, keypoints, path):
    """annotated_photo(photo, boxes, keypoints, path)

    The photo with each face's crop square and its predicted keypoints
    (crosses, coloured by side), written to ``path`` (PNG) at the photo's
    own size.

    Parameters
    ----------
    photo : array (h, w) or (h, w, 3)
        As read (grey or RGB).
    boxes : sequence of (x, y, side)
        Crop squares in photo pixels.
    keypoints : array (n, 30)
        Predicted keypoints in photo pixels.
    """
    photo = np.asarray(photo)
    h, w = photo.shape[:2]
    dpi = 100
    fig = plt.figure(figsize=(w / dpi, h / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(photo, cmap='gray' if photo.ndim == 2 else None,
              interpolation='nearest')
    size = max(0.6, min(h, w) / 300.0)
    for (x, y, side), points in zip(boxes, keypoints):
        ax.add_patch(plt.Rectangle((x, y), side, side, fill=False,
                                   edgecolor='yellow', linewidth=size))
        draw_keypoints(ax, None, points, size=size)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.axis('off')
    _save(fig, path)
