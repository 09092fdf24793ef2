"""One seed for every random number a training run draws.

Lasagne draws the initial weights and each dropout layer's stream seed from
``lasagne.random.get_rng()`` when the layers are built, so the seed must be
set *before* the net's layers are built; nolearn's batch iterators carry
their own ``numpy.random.RandomState`` (``.random``), set after the net is
declared.
"""
import numpy as np

import compat  # noqa: F401  (before lasagne)
import lasagne.random


def seed_everything(seed):
    """seed_everything(seed)

    Seed NumPy's global generator and Lasagne's package generator.

    Call it before the net's layers are built (before ``build_net`` or at
    least before ``initialize``), then :func:`seed_batch_iterators` on the
    declared net.

    Parameters
    ----------
    seed : int

    Examples
    --------
    >>> import compat, lasagne
    >>> seed_everything(1); a = lasagne.random.get_rng().rand()
    >>> seed_everything(1); a == lasagne.random.get_rng().rand()
    True
    """
    seed = int(seed)
    np.random.seed(seed)
    lasagne.random.set_rng(np.random.RandomState(seed))


def batch_iterator_rngs(net):
    """batch_iterator_rngs(net)

    The ``numpy.random.RandomState`` objects that the net's batch iterators
    and train split hold, as ``{'batch_iterator_train.random': rng, ...}``.
    """
    rngs = {}
    for owner_name in ('batch_iterator_train', 'batch_iterator_test',
                       'train_split'):
        owner = getattr(net, owner_name, None)
        if owner is None:
            continue
        for attr, value in sorted(vars(owner).items()):
            if isinstance(value, np.random.RandomState):
                rngs['%s.%s' % (owner_name, attr)] = value
    return rngs


def seed_batch_iterators(net, seed):
    """seed_batch_iterators(net, seed)

    Give every ``RandomState`` of the net's batch iterators and train split
    (nolearn's ``BatchIterator.random``, ``FlipBatchIterator``'s) a fresh
    generator seeded with ``seed``.
    """
    for name in batch_iterator_rngs(net):
        owner_name, attr = name.split('.', 1)
        setattr(getattr(net, owner_name), attr,
                np.random.RandomState(int(seed)))
