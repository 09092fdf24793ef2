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


# ------------------------------------------------------------- the labels

def test_for_labels_keywords():
    assert recipe.for_labels('complete') == {}
    assert recipe.for_labels('sparse') == {'output_num_units': 8}
    keywords = recipe.for_labels('all')
    assert sorted(keywords) == ['objective', 'train_split']
    assert isinstance(keywords['objective'], recipe.MaskedObjective)
    split = keywords['train_split']
    assert type(split) is recipe.CountLabelled
    assert type(split.split) is TrainSplit and split.eval_size == 0.2
    mine = TrainSplit(eval_size=0.5)
    assert recipe.for_labels('all', mine)['train_split'].split is mine
    assert recipe.for_labels('all')['objective'] is not keywords['objective']


def _tiny_layers(n_in=3, n_out=4):
    """A linear dense layer, prediction = X W + b, as nolearn's Layers."""
    from lasagne.layers import DenseLayer, InputLayer
    from nolearn.lasagne.base import Layers
    rng = np.random.RandomState(0)
    inputs = InputLayer((None, n_in))
    output = DenseLayer(inputs, n_out, nonlinearity=None,
                        W=rng.randn(n_in, n_out).astype(np.float32),
                        b=rng.randn(n_out).astype(np.float32))
    return Layers([('input', inputs), ('output', output)])


def _loss_and_gradients(objective, layers, deterministic=False):
    import theano.tensor as T
    from lasagne.objectives import squared_error
    target = T.matrix('y')
    loss = objective(layers, loss_function=squared_error, target=target,
                     deterministic=deterministic)
    output = layers['output']
    grads = theano.grad(loss, [output.W, output.b])
    return theano.function([layers['input'].input_var, target],
                           [loss] + grads)


def test_masked_loss_and_gradient_ignore_a_missing_coordinate_exactly():
    layers = _tiny_layers()
    rng = np.random.RandomState(1)
    X = rng.randn(5, 3).astype(np.float32)
    y = rng.randn(5, 4).astype(np.float32)
    y[1, 2] = y[3, 0] = np.nan
    y[:, 3] = np.nan  # output 3 has no target in this batch
    objective = recipe.MaskedObjective()
    objective.count(y, y[:2])  # 13 of 20 labelled: 2.6 a row
    assert objective.train_per_row.get_value() == np.float32(2.6)
    f = _loss_and_gradients(objective, layers)
    loss, grad_W, grad_b = f(X, y)
    assert all(np.isfinite(v).all() for v in (loss, grad_W, grad_b))

    # numpy, float64: the mean over the labelled coordinates, 0 elsewhere
    W = layers['output'].W.get_value().astype(np.float64)
    b = layers['output'].b.get_value().astype(np.float64)
    labelled = ~np.isnan(y)
    residual = np.where(labelled, X.astype(np.float64) @ W + b - y, 0.0)
    assert loss == pytest.approx(np.sum(residual ** 2) / labelled.sum(),
                                 rel=1e-6)
    d_prediction = 2 * residual / labelled.sum()
    np.testing.assert_allclose(grad_W, X.T @ d_prediction, rtol=1e-5,
                               atol=1e-7)
    np.testing.assert_allclose(grad_b, d_prediction.sum(axis=0), rtol=1e-5,
                               atol=1e-7)

    # Exactly nothing from the missing ones: output 3's weights get a zero
    # gradient, and whatever they are, the loss and the other gradients
    # stay the same bit for bit.
    assert (grad_W[:, 3] == 0).all() and grad_b[3] == 0
    output = layers['output']
    output.W.set_value(np.where(np.arange(4) == 3, 1e6, output.W.get_value())
                       .astype(np.float32))
    output.b.set_value(np.where(np.arange(4) == 3, -1e6, output.b.get_value())
                       .astype(np.float32))
    again_loss, again_W, again_b = f(X, y)
    assert np.array_equal(again_loss, loss)
    assert np.array_equal(again_W, grad_W) and np.array_equal(again_b, grad_b)


def test_masked_validation_loss_uses_the_validation_split_s_count():
    layers = _tiny_layers()
    X = np.ones((2, 3), np.float32)
    y = np.zeros((2, 4), np.float32)
    y[0, :] = np.nan  # one row of four labelled coordinates
    objective = recipe.MaskedObjective()
    objective.count(np.zeros((4, 4)), y)
    train = _loss_and_gradients(objective, layers)(X, y)[0]
    valid = _loss_and_gradients(objective, layers, deterministic=True)(X, y)[0]
    prediction = layers['output'].get_output_for(X).eval()
    squared = np.sum(prediction[1] ** 2)
    assert valid == pytest.approx(squared / 4, rel=1e-6)  # 4 labelled
    assert train == pytest.approx(squared / (2 * 4), rel=1e-6)  # 4 a row
    objective.count(np.full((3, 4), np.nan), np.full((1, 4), np.nan))
    assert objective.train_per_row.get_value() == 1  # nothing labelled


def test_masked_loss_of_complete_targets_is_the_study_s_mean():
    from nolearn.lasagne import objective as study_objective
    layers = _tiny_layers()
    rng = np.random.RandomState(2)
    X, y = rng.randn(6, 3).astype(np.float32), rng.randn(6, 4).astype(
        np.float32)
    masked = recipe.MaskedObjective()
    masked.count(y, y)
    ours = _loss_and_gradients(masked, layers)(X, y)
    study = _loss_and_gradients(study_objective, layers)(X, y)
    for a, b in zip(ours, study):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_count_labelled_splits_as_its_split_and_counts():
    import types
    objective = recipe.MaskedObjective()
    split = recipe.CountLabelled(TrainSplit(eval_size=0.2))
    net = types.SimpleNamespace(objective=objective, regression=True)
    X = np.zeros((10, 3), np.float32)
    y = np.zeros((10, 4), np.float32)
    y[:2, :3] = np.nan  # the validation rows: 2 of 8 labelled
    X_train, X_valid, y_train, y_valid = split(X, y, net)
    assert (len(X_train), len(X_valid)) == (8, 2)
    np.testing.assert_array_equal(y_valid, y[:2])
    assert objective.valid_per_row.get_value() == 1
    assert objective.train_per_row.get_value() == 4
    net.objective = 'something else'
    with pytest.raises(TypeError, match='MaskedObjective'):
        split(X, y, net)
