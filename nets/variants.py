"""variant(base, **changes): a registered net with a few keywords changed.

A variant builds its base net with `changes` in place of the base's
keywords, and the caller's overrides replace both, as kfkd-tutorial clones
a net and sets a few parameters. The registry (:data:`nets.NETS`) lists the
variants without a module of their own; the experiments' tables add their
sweeps the same way, as keyword overrides of a registered net
(:mod:`experiments.tables`).

The registry's Net6 variants are the slides "Adjust Hidden Layer"
("Adjusting number of nodes in the hidden layer (300, 500, 1000) has not
noticeable impact") and "Adjust Non-Linear function" ("Change frmo RECT to
Sigmoid and Tanh. Make things a little worse."). The slides give no
declarations; these are the choices here:

- ``net6_h300``, ``net6_h1000``: both hidden layers (hidden4 and hidden5)
  get 300 or 1000 units (Net6 has 500).
- ``net6_sigmoid``, ``net6_tanh``: the two dense hidden layers use the
  sigmoid or tanh; the conv layers keep ReLU (the slide sits among the
  hidden-layer slides) and the output stays linear.

Net6 with one hidden layer removed changes the layer list, so it is its own
module, :mod:`nets.net6_1hl`.

`changes` are shared by every net the variant builds, so they must be plain
values (numbers, strings, tuples, functions, classes). A net whose change is
an object of its own per net, such as Net3's flipping batch iterator, calls
its base itself (:mod:`nets.net3`).

>>> def base(max_epochs=750, **keywords):
...     return dict(keywords, max_epochs=max_epochs)
>>> wide = variant(base, units=1000, depth=2)
>>> wide(depth=3) == {'units': 1000, 'depth': 3, 'max_epochs': 750}
True
>>> variant(base, units=[1000])
Traceback (most recent call last):
...
TypeError: variant changes must be plain values, not list (units)
"""
import inspect
import types

__all__ = ['variant']

_PLAIN = (int, float, str, bool, type(None), type, types.FunctionType,
          types.BuiltinFunctionType)


def _is_plain(value):
    if isinstance(value, tuple):
        return all(_is_plain(item) for item in value)
    return isinstance(value, _PLAIN)


def variant(base, **changes):
    """variant(base, **changes)

    A build function ``build(max_epochs=<base's default>, **overrides)``
    that returns ``base(max_epochs, **changes)`` with `overrides` replacing
    any of `changes`.

    Raises
    ------
    TypeError
        When a change is not a plain value (a list, an iterator, a handler,
        a shared variable: one net's state would leak into the next).
    """
    for name, value in sorted(changes.items()):
        if not _is_plain(value):
            raise TypeError('variant changes must be plain values, not %s '
                            '(%s)' % (type(value).__name__, name))
    epochs = inspect.signature(base).parameters['max_epochs'].default

    def build(max_epochs=epochs, **overrides):
        return base(max_epochs, **dict(changes, **overrides))

    build.__doc__ = 'build(max_epochs=%d, **overrides)\n\n%s with %s.' % (
        epochs, base.__module__, ', '.join(
            '%s=%s' % (name, getattr(value, '__name__', repr(value)))
            for name, value in sorted(changes.items())))
    return build
