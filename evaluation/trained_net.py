"""A run's trained net, rebuilt and loaded, and its predictions in pixels.

The net is rebuilt from the run's ``manifest.json`` (net name, overrides,
seed, label set: a ``--labels sparse`` net has 8 outputs) with
``training.run.build`` and its weights are read from the run's
``weights.npz`` by ``training.weights.load_weights`` (no pickle; every name
and shape checked against the net before anything is set). The net keeps
the columns it predicts (the manifest's ``columns``) as
``keypoint_columns_``; :func:`predict_px` gives Kaggle's 30 columns
whatever the run predicts, NaN in those it does not.
"""
import numpy as np

import compat  # noqa: F401  (before theano/lasagne/nolearn)
from errors import UserError
from data_prep.dataset import expand_columns
from data_prep.keypoints import KEYPOINT_COLUMNS
from data_prep.scaling import unscale_targets
from run_folder import (WEIGHTS, manifest_columns, manifest_net_overrides,
                        read_manifest, run_path)
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
                net_overrides=manifest_net_overrides(manifest),
                labels=manifest.get('labels', 'complete'))
    net.keypoint_columns_ = manifest_columns(manifest)
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
    preprocessed as the net's training data), in pixels: float64 (n, 30)
    in Kaggle's column order, NaN in the columns the net does not predict
    (``net.keypoint_columns_``, set by :func:`load_trained_net`; all 30
    when absent).

    Raises
    ------
    UserError
        The net's outputs are not one per column it should predict.
    """
    columns = getattr(net, 'keypoint_columns_', KEYPOINT_COLUMNS)
    X = shape_for(net, np.asarray(X, dtype=np.float32))
    y = np.asarray(net.predict(X), dtype=np.float64)
    if y.shape[1] != len(columns):
        raise UserError('the net predicts %d values per face, but %d '
                        'keypoint columns are expected of it'
                        % (y.shape[1], len(columns)))
    return expand_columns(unscale_targets(y), columns)
