"""What a trained net looks at: saliency per keypoint, conv1's filters, activation maps.

The slides end with "explore use of visualization techniques that reveal
input stimuli exciting" and show "Visualization of Conv1's weights".
For one face:

- :func:`saliency_maps`: per keypoint, the gradient of its two outputs
  (x and y) with respect to every input pixel, combined as the length of
  the pair, ``sqrt((dx/dI)^2 + (dy/dI)^2)`` in pixels per unit of input
  (Simonyan et al. 2014's saliency, for a regression net): the pixels
  whose change moves the predicted point most;
- :func:`first_conv_filters`: the first convolution layer's weights;
- :func:`mean_activations`: each convolution layer's maps for the face,
  averaged over the maps.

:func:`explain` writes them to a new folder inside the run
(``predict.py explain RUN [IMAGE | --valid N]`` is the command line)::

    saliency.png      the face, each keypoint's saliency over it, the
                      predicted point (x) and the labelled one (o) if known
    conv1_filters.png the first convolution layer's filters (none: net1)
    activations.png   the mean activation map of each convolution layer
    saliency.npz      maps (15, 96, 96), the face, predicted keypoints
    explain.json      per keypoint, the share of saliency within
                      NEAR_PX pixels of the predicted point
"""
import os

import numpy as np

from data_prep.keypoints import KEYPOINT_COLUMNS
from data_prep.preprocess import preprocess
from data_prep.scaling import unscale_targets
from errors import UserError
from evaluation.faces_in_photo import read_photo, to_grey
from evaluation.run_report import load_run_data
from evaluation.trained_net import predict_px
from run_folder import (VALID_PREDICTIONS, atomic_folder, atomic_path, free_folder,
                        read_valid_predictions, run_path, write_json)
from training.run import shape_for

__all__ = ['NEAR_PX', 'saliency_maps', 'mass_near', 'conv_layers',
           'first_conv_filters', 'mean_activations', 'default_explain_folder',
           'face_to_explain', 'explain']

#: Radius in pixels of "near a keypoint" in explain.json's shares.
NEAR_PX = 5.0

#: The 15 keypoint names.
POINTS = tuple(c[:-2] for c in KEYPOINT_COLUMNS[::2])


def _theano():
    import compat  # noqa: F401  (before theano and lasagne)
    import lasagne
    import theano
    return theano, theano.tensor, lasagne


def saliency_maps(net, face):
    """saliency_maps(net, face)

    Per keypoint the net predicts, the saliency of the input pixels.

    Parameters
    ----------
    net : nolearn.lasagne.NeuralNet
        Initialized (``evaluation.trained_net.load_trained_net``); its
        ``keypoint_columns_`` name its outputs (all 30 when absent).
    face : float32 (96, 96) or (1, 96, 96)
        One face, preprocessed as the net's training data.

    Returns
    -------
    dict
        keypoint name (``'left_eye_center'``) -> float64 (96, 96), the
        length of the gradient of the keypoint's (x, y) outputs at each
        pixel, for the keypoints whose two columns the net predicts.
    """
    theano, T, lasagne = _theano()
    columns = list(getattr(net, 'keypoint_columns_', KEYPOINT_COLUMNS))
    k = len(columns)
    face = np.asarray(face, dtype=np.float32).reshape(1, 1, 96, 96)
    X = shape_for(net, np.repeat(face, k, axis=0))
    x = T.TensorType(theano.config.floatX, (False,) * X.ndim)('x')
    y = lasagne.layers.get_output(net.layers_[-1], x, deterministic=True)
    # Copy j of the face feeds output j: one gradient gives every output's
    # own gradient (the copies do not interact in a deterministic pass).
    grads = theano.grad((y * T.eye(k, dtype=y.dtype)).sum(), x)
    g = np.asarray(theano.function([x], grads)(X), dtype=np.float64)
    # Outputs are scaled targets; in pixels of the keypoint's move per unit
    # of input (the slope of scaling.unscale_targets).
    g = g.reshape(k, 96, 96) * float(unscale_targets(1.0) - unscale_targets(0.0))
    maps = {}
    for name in POINTS:
        if name + '_x' in columns and name + '_y' in columns:
            gx = g[columns.index(name + '_x')]
            gy = g[columns.index(name + '_y')]
            maps[name] = np.sqrt(gx ** 2 + gy ** 2)
    return maps


def mass_near(saliency, point, radius=NEAR_PX):
    """mass_near(saliency, point, radius=NEAR_PX)

    The share of a (96, 96) saliency map's sum within `radius` pixels of
    `point` (x, y in pixels; pixel (row r, column c) is at x=c, y=r).

    >>> s = np.zeros((96, 96)); s[40, 30] = 3.0; s[80, 80] = 1.0
    >>> mass_near(s, (30.0, 41.0), radius=2)
    0.75
    """
    saliency = np.asarray(saliency, dtype=np.float64)
    total = saliency.sum()
    if not total > 0:
        return float('nan')
    rows, cols = np.mgrid[:saliency.shape[0], :saliency.shape[1]]
    near = (cols - point[0]) ** 2 + (rows - point[1]) ** 2 <= radius ** 2
    return float(saliency[near].sum() / total)


def conv_layers(net):
    """conv_layers(net)

    The net's convolution layers in order (layers with 4-d weights: the
    plain, cuDNN and cuda-convnet ones alike).
    """
    return [layer for layer in net.get_all_layers()
            if getattr(layer, 'W', None) is not None
            and layer.W.get_value().ndim == 4]


def first_conv_filters(net):
    """first_conv_filters(net)

    The first convolution layer's name and weights, float32 (filters,
    channels, h, w); ``(None, None)`` for a net without one (net1).
    """
    layers = conv_layers(net)
    if not layers:
        return None, None
    return layers[0].name, layers[0].W.get_value()


def mean_activations(net, face):
    """mean_activations(net, face)

    Each convolution layer's output for one face, averaged over its maps:
    a list of ``(name, float64 (h, w))``, in the net's order (empty for a
    net without convolutions).
    """
    layers = conv_layers(net)
    if not layers:
        return []
    theano, T, lasagne = _theano()
    X = shape_for(net, np.asarray(face, dtype=np.float32).reshape(1, 1, 96, 96))
    x = T.TensorType(theano.config.floatX, (False,) * X.ndim)('x')
    outputs = lasagne.layers.get_output(layers, x, deterministic=True)
    values = theano.function([x], outputs)(X)
    return [(layer.name, np.asarray(v, dtype=np.float64)[0].mean(axis=0))
            for layer, v in zip(layers, values)]


def default_explain_folder(run_folder, what):
    """default_explain_folder(run_folder, what)

    ``<run>/explain-<what>``, with ``-2``, ``-3``... when taken.

    >>> default_explain_folder('runs/net6-x', 'valid3')
    'runs/net6-x/explain-valid3'
    """
    return free_folder(os.path.join(os.fspath(run_folder), 'explain-%s' % what))


def face_to_explain(run_folder, manifest, image=None, valid=None, data=None):
    """face_to_explain(run_folder, manifest, image=None, valid=None, data=None)

    The face to explain: the 96x96 grey `image` file, or the run's
    `valid`-th validation face (1-based; the first when neither is given),
    preprocessed as the run's data.

    Returns
    -------
    face : float32 (96, 96)
    y_true : float64 (30,) or None
        The validation face's labelled keypoints (None for an image).
    what : str
        For titles.
    stem : str
        For the default folder's name.

    Raises
    ------
    UserError
        Both or a bad `valid`; an image missing, unreadable or not 96x96.
    """
    if image is not None and valid is not None:
        raise UserError('give an IMAGE or --valid N, not both')
    if image is not None:
        photo = read_photo(image)
        if photo.shape[:2] != (96, 96):
            raise UserError('%s is %dx%d pixels; explain takes a 96x96 face '
                            'framed as the training faces are (predict.py '
                            'image finds faces in photos)'
                            % (image, photo.shape[1], photo.shape[0]))
        face = preprocess(to_grey(photo).astype(np.float32)[None, None],
                          manifest.get('preprocess', 'none'))[0, 0]
        stem = os.path.splitext(os.path.basename(image))[0]
        return face, None, os.path.basename(image), stem
    n = 1 if valid is None else int(valid)
    rows, y_true, _ = read_valid_predictions(run_path(run_folder,
                                                      VALID_PREDICTIONS))
    if not 1 <= n <= len(rows):
        raise UserError('--valid %d: the run has validation faces 1 to %d'
                        % (n, len(rows)))
    X, _ = load_run_data(manifest, data)
    return (X[rows[n - 1]].reshape(96, 96), y_true[n - 1],
            'validation face %d' % n, 'valid%d' % n)


def _figure(nrows, ncols, size=1.9):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols,
                                                    size * nrows + 0.5),
                             squeeze=False, dpi=100)
    for ax in axes.flat:
        ax.axis('off')
    return plt, fig, axes


def _save(plt, fig, path, title):
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=fig.dpi)
    finally:
        plt.close(fig)


def _saliency_picture(path, face, maps, y_pred, y_true, title):
    plt, fig, axes = _figure(3, 5)
    for ax, name in zip(axes.flat, POINTS):
        ax.imshow(face, cmap='gray', vmin=0, vmax=1)
        if name in maps:
            s = maps[name]
            ax.imshow(s / (s.max() or 1.0), cmap='hot', alpha=0.6, vmin=0,
                      vmax=1)
        i = KEYPOINT_COLUMNS.index(name + '_x')
        if y_true is not None and np.isfinite(y_true[i:i + 2]).all():
            ax.scatter([y_true[i]], [y_true[i + 1]], s=30, facecolors='none',
                       edgecolors='cyan', linewidths=1.0)
        if np.isfinite(y_pred[i:i + 2]).all():
            ax.scatter([y_pred[i]], [y_pred[i + 1]], s=30, marker='x',
                       c='cyan', linewidths=1.2)
        ax.set_title(name.replace('_', ' '), fontsize=7)
    _save(plt, fig, path, title)


def _grid_picture(path, panels, title, ncols=6, cmap='gray'):
    nrows = max(1, -(-len(panels) // ncols))
    # Few panels are drawn larger, so that the title fits above them.
    plt, fig, axes = _figure(nrows, min(ncols, max(1, len(panels))),
                             1.4 if len(panels) > 6 else 2.6)
    for ax, (name, image) in zip(axes.flat, panels):
        ax.imshow(image, cmap=cmap, interpolation='nearest')
        ax.set_title(name, fontsize=7)
    _save(plt, fig, path, title)


def explain(net, manifest, face, what, out, y_true=None, log=print):
    """explain(net, manifest, face, what, out, y_true=None, log=print)

    Write the pictures of one face (see the module's doc) to the new
    folder `out`.

    Parameters
    ----------
    net, manifest
        ``evaluation.trained_net.load_trained_net``'s.
    face : float32 (96, 96)
        Preprocessed as the run's data.
    what : str
        Names the face in titles (``'validation face 3'``, a file name).
    out : str
        A folder that does not exist yet (filled aside, renamed into place).
    y_true : float (30,) or None
        The face's labelled keypoints in pixels, drawn when given.

    Returns
    -------
    dict
        What ``explain.json`` holds.
    """
    if os.path.exists(out):
        raise UserError('%s exists; explain writes a new folder' % out)
    face = np.asarray(face, dtype=np.float32).reshape(96, 96)
    y_pred = predict_px(net, face.reshape(1, 1, 96, 96))[0]
    maps = saliency_maps(net, face)
    near = {name: mass_near(s, y_pred[KEYPOINT_COLUMNS.index(name + '_x'):][:2])
            for name, s in maps.items()}
    layer, filters = first_conv_filters(net)
    activations = mean_activations(net, face)
    name = '%s (%s)' % (manifest.get('net', '?'), what)
    summary = {'net': manifest.get('net'), 'face': what,
               'near_px': NEAR_PX, 'saliency_share_near_prediction': near,
               'predicted_px': dict(zip(KEYPOINT_COLUMNS, y_pred.tolist())),
               'first_conv_layer': layer,
               'conv_layers': [n for n, _ in activations]}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with atomic_folder(out) as tmp:
        _saliency_picture(os.path.join(tmp, 'saliency.png'), face, maps,
                          y_pred, y_true, '%s: saliency of each keypoint '
                          '(x predicted, o labelled)' % name)
        if filters is not None:
            _grid_picture(os.path.join(tmp, 'conv1_filters.png'),
                          [('%d' % (i + 1), f[0]) for i, f in
                           enumerate(filters)],
                          '%s: the %d filters of %s' % (
                              manifest.get('net', '?'), len(filters), layer))
            _grid_picture(os.path.join(tmp, 'activations.png'),
                          [(n, a) for n, a in activations],
                          '%s: mean activation of each convolution layer'
                          % name, ncols=len(activations), cmap='viridis')
        np.savez_compressed(os.path.join(tmp, 'saliency.npz'), face=face,
                            predicted_px=y_pred,
                            points=np.array([n for n in maps]),
                            maps=np.array([maps[n] for n in maps]))
        write_json(os.path.join(tmp, 'explain.json'), summary)
    log('%s: saliency share within %.0f px of the predicted point: median '
        '%.2f' % (name, NEAR_PX, float(np.nanmedian(list(near.values())))))
    for f in sorted(os.listdir(out)):
        log(os.path.join(out, f))
    return summary
