"""training.weights: .npz weights named <layer>.<param>, checked on load."""
import os

import numpy as np
import pytest

import compat  # noqa: F401
import lasagne.random
from errors import UserError
from nets import build_net
from training.weights import load_weights, param_arrays, save_weights


def tiny_net1(hidden=10, seed=0):
    lasagne.random.set_rng(np.random.RandomState(seed))
    net = build_net('net1', hidden_num_units=hidden)
    net.initialize_layers()
    return net


def test_round_trip_names_in_layer_order_and_values(tmp_path):
    net = tiny_net1(seed=0)
    path = str(tmp_path / 'weights.npz')
    save_weights(net, path)
    with np.load(path, allow_pickle=False) as npz:
        assert npz.files == ['hidden.W', 'hidden.b', 'output.W', 'output.b']
        assert npz['hidden.W'].shape == (9216, 10)
        assert npz['output.b'].shape == (30,)
    other = tiny_net1(seed=1)
    assert not np.array_equal(other.layers_['hidden'].W.get_value(),
                              net.layers_['hidden'].W.get_value())
    load_weights(other, path)
    for name, value in param_arrays(net).items():
        np.testing.assert_array_equal(param_arrays(other)[name], value)
    assert os.listdir(str(tmp_path)) == ['weights.npz']  # no temp file left


def test_save_replaces_an_existing_file_whole(tmp_path):
    path = str(tmp_path / 'weights.npz')
    save_weights(tiny_net1(seed=0), path)
    net = tiny_net1(seed=3)
    save_weights(net, path)
    other = tiny_net1(seed=0)
    load_weights(other, path)
    np.testing.assert_array_equal(other.layers_['output'].W.get_value(),
                                  net.layers_['output'].W.get_value())


def test_other_shapes_are_refused_naming_net_and_param(tmp_path):
    path = str(tmp_path / 'weights.npz')
    save_weights(tiny_net1(hidden=10), path)
    net = tiny_net1(hidden=12, seed=5)
    before = net.layers_['hidden'].W.get_value()
    with pytest.raises(UserError) as e:
        load_weights(net, path, net_name='net1')
    message = str(e.value)
    assert 'net1' in message and 'hidden.W' in message
    assert '(9216, 10)' in message and '(9216, 12)' in message
    assert '\n' not in message
    np.testing.assert_array_equal(net.layers_['hidden'].W.get_value(), before)


def test_other_names_are_refused(tmp_path):
    path = str(tmp_path / 'weights.npz')
    np.savez(path, **{'conv1.W': np.zeros((2, 1, 3, 3), np.float32)})
    with pytest.raises(UserError, match='lacks hidden.W.*conv1.W'):
        load_weights(tiny_net1(), path, net_name='net1')


@pytest.mark.parametrize('damage', ['truncate', 'garbage', 'empty'])
def test_unreadable_file_is_a_user_error(tmp_path, damage):
    path = str(tmp_path / 'weights.npz')
    save_weights(tiny_net1(), path)
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write({'truncate': data[:len(data) // 2],
                 'garbage': b'not a zip file at all' * 10,
                 'empty': b''}[damage])
    with pytest.raises(UserError, match='weights.npz is not a readable '
                                        'weights file \\('):
        load_weights(tiny_net1(), path)


def test_pickled_arrays_are_not_loaded(tmp_path):
    path = str(tmp_path / 'weights.npz')
    np.savez(path, **{'hidden.W': np.array([object()], dtype=object)})
    with pytest.raises(UserError, match='not a readable weights file'):
        load_weights(tiny_net1(), path)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match='does not exist'):
        load_weights(tiny_net1(), str(tmp_path / 'nope.npz'))
