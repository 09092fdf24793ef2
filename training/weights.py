"""Weights of a nolearn ``NeuralNet`` as a ``.npz`` file, without pickle.

One array per parameter, named ``<layer>.<param>`` (``conv1.W``,
``conv1.b``, ...) in the net's layer order. Loading checks every name and
shape against the net, so weights of another net are refused with a message
that says which parameter differs instead of being loaded half-way.
"""
import os
import zipfile
from collections import OrderedDict

import numpy as np

from errors import UserError
from run_folder import atomic_open


def param_arrays(net):
    """param_arrays(net)

    The net's parameters as ``OrderedDict`` ``'<layer>.<param>' -> array``.

    Parameters
    ----------
    net : nolearn.lasagne.NeuralNet
        A net whose layers are built (``net.initialize_layers()`` or
        ``net.initialize()`` has run).

    Returns
    -------
    OrderedDict
        Copies of the parameter values, in layer order, every parameter of
        every layer (trainable or not), as ``net.get_all_params_values()``.
    """
    return OrderedDict((name, param.get_value())
                       for name, param in _net_params(net).items())


def _net_params(net):
    """``OrderedDict`` ``'<layer>.<param>' -> theano shared variable``."""
    params = OrderedDict()
    for layer_name, layer in net.layers_.items():
        for index, param in enumerate(layer.get_params()):
            param_name = param.name or 'param%d' % index
            # Lasagne names a named layer's params '<layer>.W' already.
            prefix = '%s.' % layer_name
            if param_name.startswith(prefix):
                param_name = param_name[len(prefix):]
            params[prefix + param_name] = param
    return params


def save_arrays(arrays, path):
    """save_arrays(arrays, path)

    Write a mapping name -> array to ``path`` as an uncompressed ``.npz``,
    atomically and flushed to disk (:func:`run_folder.atomic_open`), so a
    crash leaves either the old file or the new.
    """
    size = sum(np.asarray(a).nbytes for a in arrays.values())
    with atomic_open(path, 'wb', fsync=True, size=size) as f:
        # np.savez's own format, written here because np.savez leaves its
        # ZipFile open when a write fails (a full disk), and that ZipFile's
        # __del__ later prints a traceback; `with` closes both on error.
        with zipfile.ZipFile(f, 'w', allowZip64=True) as archive:
            for name, array in arrays.items():
                with archive.open(name + '.npy', 'w',
                                  force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(array),
                                              allow_pickle=False)


def load_arrays(path, what='weights', names=None):
    """load_arrays(path, what='weights', names=None)

    Read every array of a ``.npz`` file (``allow_pickle=False``) into an
    ``OrderedDict``, in the file's order; only those of `names` that it
    holds when `names` is given (the others are not read).

    Raises
    ------
    UserError
        When the file is missing, truncated or not an ``.npz`` file:
        ``<path> is not a readable <what> file (<reason>)``.
    """
    if not os.path.isfile(path):
        raise UserError('%s does not exist (no %s file there)' % (path, what))
    try:
        with np.load(path, allow_pickle=False) as npz:
            return OrderedDict((name, npz[name]) for name in npz.files
                               if names is None or name in names)
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise UserError('%s is not a readable %s file (%s: %s)'
                        % (path, what, type(e).__name__, e))


def save_weights(net, path):
    """save_weights(net, path)

    Write the net's parameters to ``path`` (``.npz``, keys
    ``<layer>.<param>`` in layer order), atomically.

    Parameters
    ----------
    net : nolearn.lasagne.NeuralNet
        A net whose layers are built.
    path : str
        The file to write; an existing file is replaced only once the new
        one is complete.
    """
    save_arrays(param_arrays(net), path)


def load_weights(net, path, net_name=None):
    """load_weights(net, path, net_name=None)

    Set the net's parameters from a file written by :func:`save_weights`.

    Every name and shape is checked before anything is set, so a refused
    file leaves the net as it was.

    Parameters
    ----------
    net : nolearn.lasagne.NeuralNet
        A net whose layers are built.
    path : str
        A ``.npz`` file from :func:`save_weights`.
    net_name : str or None
        The net's name, for the error message.

    Raises
    ------
    UserError
        When the file cannot be read, or its names or shapes differ from the
        net's (the message names the net and the first difference).
    """
    arrays = load_arrays(path, 'weights')
    params = _net_params(net)
    label = net_name or 'the net'
    missing = [name for name in params if name not in arrays]
    extra = [name for name in arrays if name not in params]
    if missing or extra:
        parts = []
        if missing:
            parts.append('%s lacks %s' % (os.path.basename(path),
                                          ', '.join(missing[:4])))
        if extra:
            parts.append('it has %s, which %s does not'
                         % (', '.join(extra[:4]), label))
        raise UserError('%s does not hold the weights of %s: %s'
                        % (path, label, '; '.join(parts)))
    for name, param in params.items():
        expected = param.get_value(borrow=True).shape
        if arrays[name].shape != expected:
            raise UserError('%s does not hold the weights of %s: %s has shape '
                            '%s, %s expects %s'
                            % (path, label, name, arrays[name].shape, label,
                               expected))
    for name, param in params.items():
        param.set_value(arrays[name].astype(param.dtype, copy=False))
