"""The study's nets, by name.

Each module holds one net of the slides as a visible nolearn ``NeuralNet``
declaration in ``build(max_epochs=<the study's epochs>, **overrides)``,
trained with one of the two recipes of :mod:`nets.recipe`. A net that is
another plus a change says so: Net3 is Net2 plus flips, and the registry's
Net6 variants are :func:`nets.variants.variant` of Net6.

>>> list(NETS)[:3]
['net1', 'net2', 'net3']
>>> default_epochs('Net6RHL'), default_epochs('cnet_nplfxl')
(2000, 1000)
>>> build_net('net0')
Traceback (most recent call last):
...
errors.UserError: unknown net 'net0'; choose one of: net1, net2, ...
"""
import collections
import inspect

import numpy as np

import compat  # noqa: F401  (before lasagne/nolearn/theano)
import lasagne.utils
import theano
from lasagne.nonlinearities import sigmoid, tanh

from errors import UserError
from nets import (cnet_nplfxl, convnet_stack,
                  convnet_stack_increase_filter_size, net1, net1_dropout, net2,
                  net3, net4, net5, net6, net6_1hl, net6lp, net6np, net6nplf,
                  net6rhl, net6rp, net6rpxl)
from nets.variants import variant

#: Net name -> build function, in the order of the slides.
NETS = collections.OrderedDict([
    ('net1', net1.build),
    ('net2', net2.build),
    ('net3', net3.build),
    ('net4', net4.build),
    ('net5', net5.build),
    ('net6', net6.build),
    ('net1_dropout', net1_dropout.build),
    # Slide "Adjust Hidden Layer": both hidden layers 300 or 1000 units wide
    ('net6_h300', variant(net6.build, hidden4_num_units=300,
                          hidden5_num_units=300)),
    ('net6_h1000', variant(net6.build, hidden4_num_units=1000,
                           hidden5_num_units=1000)),
    ('net6_1hl', net6_1hl.build),
    # Slide "Adjust Non-Linear function": the dense hidden layers only
    ('net6_sigmoid', variant(net6.build, hidden4_nonlinearity=sigmoid,
                             hidden5_nonlinearity=sigmoid)),
    ('net6_tanh', variant(net6.build, hidden4_nonlinearity=tanh,
                          hidden5_nonlinearity=tanh)),
    ('convnet_stack', convnet_stack.build),
    ('convnet_stack_increase_filter_size',
     convnet_stack_increase_filter_size.build),
    ('net6lp', net6lp.build),
    ('net6np', net6np.build),
    ('net6nplf', net6nplf.build),
    ('net6rhl', net6rhl.build),
    ('net6rp', net6rp.build),
    ('net6rpxl', net6rpxl.build),
    ('cnet_nplfxl', cnet_nplfxl.build),
])


def net_builder(name):
    """net_builder(name)

    The build function of the net called `name` (any letter case).

    Raises
    ------
    errors.UserError
        When no net has that name; the message lists the names.
    """
    key = str(name).lower()
    if key not in NETS:
        raise UserError('unknown net %r; choose one of: %s'
                        % (str(name), ', '.join(NETS)))
    return NETS[key]


def build_net(name, **overrides):
    """build_net(name, **overrides)

    The net called `name` (any letter case) as an uninitialized nolearn
    ``NeuralNet``; `overrides` (``max_epochs`` or any ``NeuralNet``
    keyword) replace the slide's values.
    """
    return net_builder(name)(**overrides)


def default_epochs(name):
    """default_epochs(name)

    The epochs the study trained the net called `name` for.
    """
    return inspect.signature(net_builder(name)).parameters[
        'max_epochs'].default


def _layers(net):
    if getattr(net, 'layers_', None) is None or not net.layers_:
        net.initialize_layers()  # builds the layers; compiles nothing
    return net.layers_


def count_params(net):
    """count_params(net)

    The number of learnable (trainable) parameter values of `net`, as
    nolearn's layer summary prints it ("Neural Network with N learnable
    parameters"). Creates the layers when ``net`` has none yet, without
    compiling anything.
    """
    _layers(net)
    return int(sum(p.get_value(borrow=True).size
                   for p in net.get_all_params(trainable=True)))


def layer_shapes(net):
    """layer_shapes(net)

    Layer name -> output shape (batch axis None), in order. Creates the
    layers when ``net`` has none yet, without compiling anything.
    """
    return collections.OrderedDict(
        (name, tuple(layer.output_shape))
        for name, layer in _layers(net).items())


def list_nets():
    """list_nets()

    ``[(name, parameter count), ...]`` of every registered net, in the
    registry's order. Counts come from the layer shapes
    (:func:`count_params_fast`), without allocating the weights.
    """
    return [(name, count_params_fast(name)) for name in NETS]


def count_params_fast(net_name):
    """count_params_fast(net_name)

    Learnable parameters of a registered net, from the shapes Lasagne would
    allocate: ``lasagne.utils.create_param`` is replaced, while the layers
    are built, by a stand-in that records the shape and allocates nothing.
    """
    shapes = []
    real_create_param = lasagne.utils.create_param

    def create_param(spec, shape, name=None):
        shapes.append(tuple(shape))
        # A symbolic stand-in of the right rank: layers only read shapes.
        return theano.shared(np.zeros((1,) * len(shape),
                                      dtype=theano.config.floatX), name=name)

    lasagne.utils.create_param = create_param
    try:
        net = build_net(net_name)
        net.initialize_layers()
    finally:
        lasagne.utils.create_param = real_create_param
    return int(sum(int(np.prod(s)) for s in shapes))
