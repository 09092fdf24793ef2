"""The registry (nets/__init__.py) and the study's training settings per net."""
import compat  # noqa: F401  (before theano/lasagne/nolearn)
import types

import numpy as np
import pytest
import theano
from lasagne.nonlinearities import rectify, sigmoid, tanh
from nolearn.lasagne import BatchIterator

import nets
from errors import UserError
from training.batch_iterators import FlipBatchIterator
from training.handlers import LinearSchedule, StopOnNonFinite

FLIPPED = {'net3', 'net5', 'net6', 'net6_h300', 'net6_h1000', 'net6_1hl',
           'net6_sigmoid', 'net6_tanh', 'convnet_stack',
           'convnet_stack_increase_filter_size', 'net6lp', 'net6np',
           'net6nplf', 'net6rhl', 'net6rp', 'net6rpxl', 'cnet_nplfxl'}
FIXED_RATE = {'net1', 'net1_dropout', 'net2', 'net3'}

#: Epochs of the study's logs (../shared/data/w207_logs) and slides.
STUDY_EPOCHS = {'net1': 750, 'net1_dropout': 1000, 'net2': 750, 'net3': 750, 'net4': 750,
                'net5': 750, 'net6': 750, 'net6lp': 1000, 'net6np': 1000,
                'net6nplf': 1000, 'cnet_nplfxl': 1000, 'net6rhl': 2000,
                'net6rp': 2000, 'net6rpxl': 1000}


def test_names_are_case_insensitive():
    assert nets.net_builder('CNet_NPLFXL') is nets.NETS['cnet_nplfxl']
    assert nets.build_net('Net6RPXL', max_epochs=3).max_epochs == 3


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(UserError) as error:
        nets.build_net('foo')
    message = str(error.value)
    assert message.startswith("unknown net 'foo'; choose one of: net1, net2,")
    assert all(name in message for name in nets.NETS)
    assert '\n' not in message


@pytest.mark.parametrize('name, epochs', sorted(STUDY_EPOCHS.items()))
def test_default_epochs_are_the_study_s(name, epochs):
    assert nets.default_epochs(name) == epochs
    assert nets.build_net(name).max_epochs == epochs


@pytest.mark.parametrize('name', list(nets.NETS))
def test_study_training_settings(name):
    net = nets.build_net(name)
    assert net.regression is True
    assert net.verbose == 1
    assert net.train_split.eval_size == 0.2
    assert net.batch_iterator_train.batch_size == 128
    assert net.batch_iterator_train.shuffle is False
    assert type(net.batch_iterator_test) is BatchIterator
    assert net.batch_iterator_test.batch_size == 128
    assert net.input_shape == ((None, 9216) if name.startswith('net1')
                               else (None, 1, 96, 96))
    handlers = [type(h) for h in net.on_epoch_finished]
    assert handlers[0] is StopOnNonFinite  # sees every epoch first
    if name in FLIPPED:
        assert type(net.batch_iterator_train) is FlipBatchIterator
        assert net.batch_iterator_train.mode == 'faithful'
    else:
        assert type(net.batch_iterator_train) is BatchIterator
    if name in FIXED_RATE:
        assert (net.update_learning_rate, net.update_momentum) == (0.01, 0.9)
        assert LinearSchedule not in handlers
    else:
        assert net.update_learning_rate.get_value() == np.float32(0.03)
        assert net.update_momentum.get_value() == np.float32(0.9)
        schedules = {h.name: (h.start, h.stop) for h in net.on_epoch_finished
                     if isinstance(h, LinearSchedule)}
        assert schedules == {'update_learning_rate': (0.03, 0.0001),
                             'update_momentum': (0.9, 0.999)}


@pytest.mark.parametrize('name', list(nets.NETS))
def test_each_build_has_its_own_shared_variables_and_iterator(name):
    a, b = nets.build_net(name), nets.build_net(name)
    if name not in FIXED_RATE:
        assert a.update_learning_rate is not b.update_learning_rate
        assert a.update_momentum is not b.update_momentum
    assert a.batch_iterator_train is not b.batch_iterator_train
    # not nolearn's one default instance, shared by every NeuralNet
    assert a.batch_iterator_test is not b.batch_iterator_test
    assert a.train_split is not b.train_split
    assert all(x is not y for x, y in zip(a.on_epoch_finished,
                                          b.on_epoch_finished))


def _described(value):
    """`value` as plain data: equal for equal settings, whatever the objects."""
    if isinstance(value, theano.compile.SharedVariable):
        return 'shared', value.get_value().item()
    if isinstance(value, (list, tuple)):
        return [_described(item) for item in value]
    if hasattr(value, '__dict__') and not isinstance(
            value, (type, types.FunctionType, types.ModuleType)):
        return type(value), {key: _described(item) for key, item
                             in vars(value).items() if key != 'random'}
    return value


def _changed_keywords(name, base):
    net, other = (dict(nets.build_net(n).get_params()) for n in (name, base))
    return {key for key in set(net) | set(other)
            if key not in net or key not in other
            or _described(net[key]) != _described(other[key])}


@pytest.mark.parametrize('name, base, changed', [
    ('net3', 'net2', {'batch_iterator_train'}),
    ('net4', 'net2', {'update_learning_rate', 'update_momentum',
                      'on_epoch_finished'}),
    ('net5', 'net4', {'batch_iterator_train'}),
    ('net6_h300', 'net6', {'hidden4_num_units', 'hidden5_num_units'}),
    ('net6_h1000', 'net6', {'hidden4_num_units', 'hidden5_num_units'}),
    ('net6_sigmoid', 'net6', {'hidden4_nonlinearity', 'hidden5_nonlinearity'}),
    ('net6_tanh', 'net6', {'hidden4_nonlinearity', 'hidden5_nonlinearity'}),
    ('convnet_stack_increase_filter_size', 'convnet_stack',
     {'conv1_filter_size', 'conv2_filter_size'}),
])
def test_a_net_that_is_another_plus_a_change(name, base, changed):
    assert _changed_keywords(name, base) == changed


def test_net1_dropout_is_net1_plus_a_dropout_layer_and_its_epochs():
    assert _changed_keywords('net1_dropout', 'net1') == {
        'layers', 'dropout_p', 'hidden_num_units', 'max_epochs'}


def test_the_same_nets_differ_in_nothing():
    assert _changed_keywords('net6', 'net6') == set()
    assert _changed_keywords('net2', 'net6') >= {'layers', 'dropout1_p'}


def test_overrides_replace_the_slide_s_values():
    net = nets.build_net('net6', hidden4_num_units=300,
                         update_learning_rate=0.05)
    assert nets.layer_shapes(net)['hidden4'] == (None, 300)
    assert net.update_learning_rate == 0.05
    assert nets.layer_shapes(nets.build_net('net1', hidden_num_units=50))[
        'hidden'] == (None, 50)


def test_net1_dropout_is_net1_with_a_dropout_layer():
    net = nets.build_net('net1_dropout', dropout_p=0.3)
    assert list(nets.layer_shapes(net)) == ['input', 'hidden', 'dropout',
                                            'output']
    assert net.dropout_p == 0.3 and net.hidden_num_units == 500
    assert nets.count_params(net) == 9216 * 500 + 500 + 500 * 30 + 30


def test_variants_override_their_base_and_accept_more_overrides():
    net = nets.build_net('net6_h1000', hidden5_num_units=200)
    shapes = nets.layer_shapes(net)
    assert (shapes['hidden4'], shapes['hidden5']) == ((None, 1000), (None, 200))


@pytest.mark.parametrize('name, function', [('net6_sigmoid', sigmoid),
                                            ('net6_tanh', tanh)])
def test_nonlinearity_variants_change_the_hidden_layers_only(name, function):
    net = nets.build_net(name)
    nets.layer_shapes(net)
    layers = net.layers_
    assert layers['hidden4'].nonlinearity is function
    assert layers['hidden5'].nonlinearity is function
    assert layers['conv1'].nonlinearity is rectify
    assert layers['output'].nonlinearity is not function


def test_fast_parameter_count_matches_the_built_nets():
    for name in ('net1', 'net6', 'net6lp', 'net6rp'):
        assert nets.count_params_fast(name) == \
            nets.count_params(nets.build_net(name))
