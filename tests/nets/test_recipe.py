"""The study's two training recipes: their keywords and fresh objects per call."""
import compat  # noqa: F401  (before theano/lasagne/nolearn)
import numpy as np
import pytest
import theano
from lasagne.updates import nesterov_momentum
from nolearn.lasagne import BatchIterator, TrainSplit

from nets import recipe
from training.batch_iterators import FlipBatchIterator
from training.handlers import LinearSchedule, StopOnNonFinite

RECIPES = [recipe.fixed_rate, lambda flip=False: recipe.scheduled(flip)]


def test_fixed_rate_is_net1_to_net3_s():
    keywords = recipe.fixed_rate()
    assert keywords['update'] is nesterov_momentum
    assert (keywords['update_learning_rate'], keywords['update_momentum']) \
        == (0.01, 0.9)
    assert [type(h) for h in keywords['on_epoch_finished']] == \
        [StopOnNonFinite]


def test_scheduled_moves_learning_rate_and_momentum_over_the_epochs():
    keywords = recipe.scheduled(flip=True)
    rate, momentum = (keywords['update_learning_rate'],
                      keywords['update_momentum'])
    assert isinstance(rate, theano.compile.SharedVariable)
    assert (rate.get_value(), momentum.get_value()) == \
        (np.float32(0.03), np.float32(0.9))
    handlers = keywords['on_epoch_finished']
    assert type(handlers[0]) is StopOnNonFinite
    assert [(type(h), h.name, h.start, h.stop) for h in handlers[1:]] == [
        (LinearSchedule, 'update_learning_rate', 0.03, 0.0001),
        (LinearSchedule, 'update_momentum', 0.9, 0.999)]


@pytest.mark.parametrize('make', RECIPES)
@pytest.mark.parametrize('flip', [False, True])
def test_batches_split_and_the_rest(make, flip):
    keywords = make(flip=flip)
    train = keywords['batch_iterator_train']
    assert type(train) is (FlipBatchIterator if flip else BatchIterator)
    assert (train.batch_size, train.shuffle) == (128, False)
    assert type(keywords['batch_iterator_test']) is BatchIterator
    assert keywords['batch_iterator_test'].batch_size == 128
    assert type(keywords['train_split']) is TrainSplit
    assert keywords['train_split'].eval_size == 0.2
    assert (keywords['regression'], keywords['verbose']) == (True, 1)
    assert 'max_epochs' not in keywords  # the net's own


@pytest.mark.parametrize('make', RECIPES)
def test_every_call_makes_new_objects(make):
    a, b = make(flip=True), make(flip=True)
    for name, value in a.items():
        if isinstance(value, list):
            assert all(x is not y for x, y in zip(value, b[name])), name
        elif not isinstance(value, (int, float)) and name != 'update':
            assert value is not b[name], name
