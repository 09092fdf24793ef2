"""Every layer shape and parameter count the slides print, net by net.

The 100M-parameter nets allocate about 440 MB each while their layers are
built (nothing is compiled here); each is freed before the next.
"""
import compat  # noqa: F401  (before theano/lasagne/nolearn)
import gc

import pytest

import nets

S = (None, 1, 96, 96)


def _maps(*shape):
    return (None,) + shape


#: Slide "Architecture of a Basic Conv Net" (Net2; Net3-5 have its layers).
NET2_SHAPES = [
    ('input', S), ('conv1', _maps(32, 94, 94)), ('pool1', _maps(32, 47, 47)),
    ('conv2', _maps(64, 46, 46)), ('pool2', _maps(64, 23, 23)),
    ('conv3', _maps(128, 22, 22)), ('pool3', _maps(128, 11, 11)),
    ('hidden4', (None, 500)), ('hidden5', (None, 500)), ('output', (None, 30)),
]

#: Slide "Net6 Architecture".
NET6_SHAPES = [
    ('input', S), ('conv1', _maps(32, 94, 94)), ('pool1', _maps(32, 47, 47)),
    ('dropout1', _maps(32, 47, 47)), ('conv2', _maps(64, 46, 46)),
    ('pool2', _maps(64, 23, 23)), ('dropout2', _maps(64, 23, 23)),
    ('conv3', _maps(128, 22, 22)), ('pool3', _maps(128, 11, 11)),
    ('dropout3', _maps(128, 11, 11)), ('hidden4', (None, 500)),
    ('dropout4', (None, 500)), ('hidden5', (None, 500)), ('output', (None, 30)),
]


def _no_pool(c1, c2, c3, hidden4=True):
    shapes = [('input', S), ('conv1', _maps(*c1)), ('dropout1', _maps(*c1)),
              ('conv2', _maps(*c2)), ('dropout2', _maps(*c2)),
              ('conv3', _maps(*c3)), ('dropout3', _maps(*c3))]
    if hidden4:
        shapes += [('hidden4', (None, 500)), ('dropout4', (None, 500))]
    return shapes + [('hidden5', (None, 500)), ('output', (None, 30))]


def _replaced_pools(c1, r1, c2, r2, c3, r3):
    return [('input', S), ('conv1', _maps(*c1)), ('conv_rpool1', _maps(*r1)),
            ('dropout1', _maps(*r1)), ('conv2', _maps(*c2)),
            ('conv_rpool2', _maps(*r2)), ('dropout2', _maps(*r2)),
            ('conv3', _maps(*c3)), ('conv_rpool3', _maps(*r3)),
            ('dropout3', _maps(*r3)), ('hidden4', (None, 500)),
            ('dropout4', (None, 500)), ('hidden5', (None, 500)),
            ('output', (None, 30))]


# name -> (layer shapes as printed, learnable parameters as printed or None)
SLIDES = {
    'net1': ([('input', (None, 9216)), ('hidden', (None, 100)),
              ('output', (None, 30))], None),
    'net2': (NET2_SHAPES, None),
    'net3': (NET2_SHAPES, None),
    'net4': (NET2_SHAPES, None),
    'net5': (NET2_SHAPES, None),
    'net6': (NET6_SHAPES, None),
    # "Net6LP - Large Pools - Results"
    'net6lp': ([
        ('input', S), ('conv1', _maps(32, 94, 94)), ('pool1', _maps(32, 23, 23)),
        ('dropout1', _maps(32, 23, 23)), ('conv2', _maps(64, 22, 22)),
        ('pool2', _maps(64, 5, 5)), ('dropout2', _maps(64, 5, 5)),
        ('conv3', _maps(128, 4, 4)), ('pool3', _maps(128, 1, 1)),
        ('dropout3', _maps(128, 1, 1)), ('hidden4', (None, 500)),
        ('dropout4', (None, 500)), ('hidden5', (None, 500)),
        ('output', (None, 30))], 371502),
    # "Experiments - Net6NP - Results"
    'net6np': (_no_pool((6, 94, 94), (12, 93, 93), (24, 92, 92)), 101835566),
    # "Net6NPLF Results"
    'net6nplf': (_no_pool((6, 92, 92), (12, 88, 88), (24, 84, 84)), 84947222),
    # "Experiments - Net6RHL Results"
    'net6rhl': (_no_pool((6, 92, 92), (12, 86, 86), (36, 78, 78),
                         hidden4=False), 109566254),
    # "Experiments - Net6RP Results" (no count printed)
    'net6rp': (_replaced_pools((6, 92, 92), (6, 46, 46), (12, 42, 42),
                               (12, 21, 21), (32, 17, 17), (32, 8, 8)), None),
    # "Net6RPXL"
    'net6rpxl': (_replaced_pools((32, 92, 92), (32, 46, 46), (64, 40, 40),
                                 (64, 20, 20), (128, 12, 12), (128, 6, 6)),
                 3421198),
    # "CNet_NPLFXL"
    'cnet_nplfxl': (_no_pool((6, 92, 92), (12, 86, 86), (36, 78, 78)),
                    109816754),
    # "Stack conv layer, increase filter size"
    'convnet_stack_increase_filter_size': ([
        ('input', S), ('conv1', _maps(32, 94, 94)), ('conv2', _maps(64, 90, 90)),
        ('pool3', _maps(64, 45, 45)), ('dropout3', _maps(64, 45, 45)),
        ('conv5', _maps(128, 44, 44)), ('pool6', _maps(128, 22, 22)),
        ('dropout6', _maps(128, 22, 22)), ('hidden5', (None, 500)),
        ('output', (None, 30))], None),
}


@pytest.mark.parametrize('name', sorted(SLIDES))
def test_layer_shapes_and_parameters_are_the_slides(name):
    shapes, n_params = SLIDES[name]
    net = nets.build_net(name)
    assert list(nets.layer_shapes(net).items()) == shapes
    if n_params is not None:
        assert nets.count_params(net) == n_params
    del net
    gc.collect()


# Counts the slides do not print, computed by hand from the layer tables
# (e.g. Net2: 320 + 8,256 + 32,896 + 7,744,500 + 250,500 + 15,030).
@pytest.mark.parametrize('name, n_params', [
    ('net1', 9216 * 100 + 100 + 100 * 30 + 30),
    ('net2', 8051502),
    ('net6', 8051502),
    ('net6rp', 1306496),
    ('net6_1hl', 8051502 - 250500),
    ('net6_h300', 320 + 8256 + 32896 + (15488 * 300 + 300) + (300 * 300 + 300)
     + (300 * 30 + 30)),
    ('net6_h1000', 320 + 8256 + 32896 + (15488 * 1000 + 1000)
     + (1000 * 1000 + 1000) + (1000 * 30 + 30)),
    ('convnet_stack', 31043082),
    ('convnet_stack_increase_filter_size', 31076010),
])
def test_parameter_counts_computed_from_the_tables(name, n_params):
    assert nets.count_params(nets.build_net(name)) == n_params


def test_convnet_stack_uses_the_2x2_and_3x3_filters_the_text_names():
    shapes = nets.layer_shapes(nets.build_net('convnet_stack'))
    assert shapes['conv1'] == (None, 32, 95, 95)
    assert shapes['conv2'] == (None, 64, 93, 93)
    # from pool6 on the table's shapes hold again
    assert shapes['pool6'] == (None, 128, 22, 22)


def test_net6_1hl_drops_hidden4_and_its_dropout():
    names = list(nets.layer_shapes(nets.build_net('net6_1hl')))
    assert names[-3:] == ['dropout3', 'hidden5', 'output']
