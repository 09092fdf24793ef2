"""The slides' pictures of a table: validation curves of every row, first-layer weights.

Faces with keypoints are :func:`evaluation.pictures.face_grid`'s; these two
are the ones the slides show for their parameter searches ("Curves of
training & valid. losses", "Visualization of Conv1's weights").
"""
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from run_folder import atomic_path  # noqa: E402


def plot_valid_curves(curves, path, title):
    """plot_valid_curves(curves, path, title)

    Every row's validation loss per epoch on one log-scale plot, the
    study's curve of the same row dashed in the same colour.

    Parameters
    ----------
    curves : list of (label, history rows, study rows or None)
        Rows are dicts with ``epoch`` and ``valid_loss`` (``history.csv`` or
        a log of the study, as ``run_folder.read_history_csv`` reads).
    path : str
        The PNG to write.
    title : str
    """
    fig, ax = plt.subplots(figsize=(8, 5))
    try:
        colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
        for i, (label, history, study) in enumerate(curves):
            colour = colours[i % len(colours)]
            if history:
                ax.plot([r['epoch'] for r in history],
                        [r['valid_loss'] for r in history], color=colour,
                        label=label)
            if study:
                ax.plot([r['epoch'] for r in study],
                        [r['valid_loss'] for r in study], color=colour,
                        linestyle='--', alpha=0.6, label='%s (study)' % label)
        ax.set_yscale('log')
        ax.set_xlabel('epoch')
        ax.set_ylabel('validation loss (MSE, targets scaled (y-48)/48)')
        ax.set_title(title)
        ax.grid(True, which='both', alpha=0.3)
        if curves:
            ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)


def first_layer_images(W):
    """first_layer_images(W)

    The first layer's weights as small grey images: conv filters
    ``(filters, 1, h, w)`` -> ``(filters, h, w)``; a dense layer on the
    flat 96x96 pixels ``(9216, units)`` -> ``(units, 96, 96)``.

    >>> first_layer_images(np.zeros((32, 1, 3, 3))).shape
    (32, 3, 3)
    >>> first_layer_images(np.zeros((9216, 100))).shape
    (100, 96, 96)
    """
    W = np.asarray(W)
    if W.ndim == 4:
        return W[:, 0]
    if W.ndim == 2 and W.shape[0] == 96 * 96:
        return W.T.reshape((-1, 96, 96))
    raise ValueError('weights of shape %s are neither conv filters on one '
                     'channel nor a dense layer on 96x96 pixels' % (W.shape,))


def plot_first_layer(W, path, title, limit=32):
    """plot_first_layer(W, path, title, limit=32)

    The first ``limit`` filters (or hidden units) of the first layer, each
    scaled to its own range, as the slides' "Visualization of Conv1's
    weights".
    """
    images = first_layer_images(W)[:limit]
    n = len(images)
    ncols = min(8, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols,
                                                    1.3 * nrows + 0.5),
                             squeeze=False)
    try:
        for i, ax in enumerate(axes.flat):
            ax.axis('off')
            if i < n:
                ax.imshow(images[i], cmap='gray', interpolation='nearest')
        fig.suptitle(title, fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.94))
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)
