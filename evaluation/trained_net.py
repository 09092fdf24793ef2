"""A run's trained net, rebuilt and loaded, and its predictions in pixels.

The net is rebuilt from the run's ``manifest.json`` (net name, overrides,
seed) with ``training.run.build`` and its weights are read from the run's
``weights.npz`` by ``training.weights.load_weights`` (no pickle; every name
and shape checked against the net before anything is set).
"""
import numpy as np

import compat  # noqa: F401  (before theano/lasagne/nolearn)
from errors import UserError
from data_prep.scaling import unscale_targets
from run_folder import WEIGHTS, manifest_net_overrides, read_manifest, run_path
from training.run import build, shape_for
from training.weights import load_weights


def load_trained_net(run_folder, weights=None):
    """load_trained_net(run_folder, weights=None)

    The run's net with its trained weights, ready to predict.

    Parameters
    ----------
    run_folder : str
        A folder written by ``training/run.py``.
    weights : str or None
        Another ``.npz`` to load instead of ``<run>/weights.npz``.

    Returns
    -------
    net : nolearn.lasagne.NeuralNet
    manifest : dict

    Raises
    ------
    UserError
        Not a run folder; a weights file that is missing, truncated, not an
        ``.npz``, or holds another net's parameters. The message names the
        net the run expects.
    """
    manifest = read_manifest(run_folder)
    name = manifest.get('net')
    if not name:
        raise UserError('%s/manifest.json names no net' % run_folder)
    path = weights or run_path(run_folder, WEIGHTS)
    net = build(name, manifest.get('seed', 42),
                net_overrides=manifest_net_overrides(manifest))
    net.initialize()  # compiles predict; after it, so it cannot rebuild layers
    try:
        load_weights(net, path, name)
    except UserError as e:
        message = str(e)
        if name not in message:
            message += ' (run %s expects the weights of %s)' % (run_folder,
                                                                 name)
        raise UserError(message)
    return net, manifest


def predict_px(net, X):
    """predict_px(net, X)

    Keypoints the net predicts for images ``X`` (float32 (n, 1, 96, 96),
    preprocessed as the net's training data), in pixels: float64 (n, 30).
    """
    X = shape_for(net, np.asarray(X, dtype=np.float32))
    return unscale_targets(np.asarray(net.predict(X), dtype=np.float64))
