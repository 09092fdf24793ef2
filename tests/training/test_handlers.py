"""LinearSchedule, EarlyStopping and StopOnNonFinite on fake and real nets."""
import compat  # noqa: F401  (before theano/lasagne/nolearn)

import numpy as np
import pytest
import theano
from lasagne import layers
from lasagne.updates import nesterov_momentum
from nolearn.lasagne import BatchIterator, NeuralNet

from errors import UserError
from training.handlers import (BestParams, EarlyStopping, LinearSchedule,
                               StopOnNonFinite)


class FakeNet(object):
    """Just what the handlers touch: params, max_epochs, shared rates."""

    def __init__(self, max_epochs=10):
        self.max_epochs = max_epochs
        self.params = [theano.shared(np.zeros((2, 3), np.float32)),
                       theano.shared(np.zeros(3, np.float32))]
        self.update_learning_rate = theano.shared(np.float32(0.03))

    def get_all_params(self):
        return self.params

    def set_weights(self, value):
        for p in self.params:
            p.set_value(np.full_like(p.get_value(), value))

    def weight(self):
        values = {float(v) for p in self.params for v in p.get_value().ravel()}
        assert len(values) == 1
        return values.pop()


def row(epoch, train, valid, validated=True):
    return {'epoch': epoch, 'train_loss': train, 'valid_loss': valid,
            'valid_loss_best': bool(valid < 1) if validated else np.nan}


def tiny_net(max_epochs, on_epoch_finished, learning_rate=None, **kw):
    return NeuralNet(
        layers=[('input', layers.InputLayer), ('hidden', layers.DenseLayer),
                ('output', layers.DenseLayer)],
        input_shape=(None, 4), hidden_num_units=3,
        output_num_units=2, output_nonlinearity=None,
        update=nesterov_momentum,
        update_learning_rate=(theano.shared(np.float32(0.03))
                              if learning_rate is None else learning_rate),
        update_momentum=theano.shared(np.float32(0.9)),
        regression=True, batch_iterator_train=BatchIterator(batch_size=8),
        on_epoch_finished=on_epoch_finished, max_epochs=max_epochs,
        verbose=0, **kw)


def tiny_data(n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.rand(n, 4).astype(np.float32)
    return X, (X[:, :2] - X[:, 2:]).astype(np.float32)


# LinearSchedule -------------------------------------------------------------

def test_schedule_is_start_after_epoch_1_and_stop_after_max_epochs():
    nn = FakeNet(max_epochs=750)
    schedule = LinearSchedule('update_learning_rate', start=0.03, stop=0.0001)
    expected = np.linspace(0.03, 0.0001, 750).astype(np.float32)
    for epoch in (1, 2, 375, 750):
        schedule(nn, [row(epoch, 0.1, 0.1)])
        assert nn.update_learning_rate.get_value() == expected[epoch - 1]
    assert expected[0] == np.float32(0.03)
    assert expected[-1] == np.float32(0.0001)


def test_schedule_past_max_epochs_keeps_stop_and_follows_max_epochs():
    nn = FakeNet(max_epochs=10)
    schedule = LinearSchedule('update_learning_rate', start=1.0, stop=0.1)
    schedule(nn, [row(25, 0.1, 0.1)])  # a second fit: epochs continue
    assert nn.update_learning_rate.get_value() == np.float32(0.1)
    nn.max_epochs = 19  # nothing cached from the first call
    schedule(nn, [row(10, 0.1, 0.1)])
    assert nn.update_learning_rate.get_value() == np.float32(0.55)


def test_schedule_resumes_from_the_history_s_epoch():
    nn = FakeNet(max_epochs=5)
    schedule = LinearSchedule('update_learning_rate', start=0.5, stop=0.1)
    history = [row(e, 0.1, 0.1) for e in range(1, 4)]  # epochs 1-3 done
    # 0.5, 0.4, 0.3, 0.2, 0.1: after epoch 3 comes the third value
    schedule(nn, history)
    assert nn.update_learning_rate.get_value() == np.float32(0.3)


def test_schedule_of_a_plain_number_is_a_user_error():
    nn = FakeNet()
    nn.update_learning_rate = 0.01
    with pytest.raises(UserError, match='update_learning_rate is the fixed'):
        LinearSchedule('update_learning_rate', 0.03, 0.0001)(nn, [row(1, 1, 1)])


def test_second_fit_of_a_scheduled_net_runs_and_keeps_stop():
    net = tiny_net(3, [LinearSchedule('update_learning_rate', 0.03, 0.001),
                       LinearSchedule('update_momentum', 0.9, 0.999)])
    X, y = tiny_data()
    net.fit(X, y)
    assert net.update_learning_rate.get_value() == np.float32(0.001)
    net.fit(X, y)  # the 2016 AdjustVariable raised IndexError here
    assert [r['epoch'] for r in net.train_history_] == [1, 2, 3, 4, 5, 6]
    assert net.update_learning_rate.get_value() == np.float32(0.001)
    assert net.update_momentum.get_value() == np.float32(0.999)


# BestParams -----------------------------------------------------------------

def test_best_params_keeps_a_copy_not_a_view():
    nn = FakeNet()
    best = BestParams()
    assert best.restore(nn) is False
    nn.set_weights(1.0)
    best.keep(nn, epoch=1, loss=0.5)
    kept = best._values[0]
    nn.set_weights(2.0)
    best.keep(nn, epoch=2, loss=0.4)
    assert best._values[0] is kept  # overwritten in place, not reallocated
    nn.set_weights(3.0)
    assert best.restore(nn) is True
    assert nn.weight() == 2.0
    assert (best.epoch, best.loss) == (2, 0.4)


# EarlyStopping --------------------------------------------------------------

def test_early_stopping_restores_the_best_weights(capsys):
    nn = FakeNet()
    stopper = EarlyStopping(patience=3)
    history = []
    losses = [0.9, 0.5, 0.7, 0.6, 0.8]
    for epoch, loss in enumerate(losses, 1):
        nn.set_weights(epoch)
        history.append(row(epoch, loss, loss))
        if epoch < 5:
            stopper(nn, history)
    with pytest.raises(StopIteration):
        stopper(nn, history)
    assert nn.weight() == 2.0
    assert stopper.stopped_epoch == 5
    assert 'keeping the weights of epoch 2 (valid loss 0.500000)' in \
        capsys.readouterr().out


def test_early_stopping_on_a_real_net_stops_and_keeps_the_best():
    stopper = EarlyStopping(patience=2)
    net = tiny_net(200, [stopper], learning_rate=theano.shared(np.float32(0.5)))
    X, y = tiny_data()
    net.fit(X, y)
    assert len(net.train_history_) < 200
    assert stopper.stopped_epoch == net.train_history_[-1]['epoch']
    # the net now computes the best epoch's validation loss
    best = min(r['valid_loss'] for r in net.train_history_)
    assert stopper.best.loss == best
    _, X_valid, _, y_valid = net.train_split(X, y, net)
    assert np.isclose(np.mean((net.predict(X_valid) - y_valid) ** 2), best,
                      rtol=1e-4)


# StopOnNonFinite ------------------------------------------------------------

def test_stop_on_nan_keeps_the_best_epoch_and_says_so(capsys):
    nn = FakeNet()
    stopper = StopOnNonFinite()
    history = []
    for epoch, (train, valid) in enumerate(
            [(0.5, 0.4), (0.3, 0.2), (0.2, 0.25), (np.nan, 0.3)], 1):
        nn.set_weights(epoch)
        history.append(row(epoch, train, valid))
        if epoch < 4:
            stopper(nn, history)
    with pytest.raises(StopIteration):
        stopper(nn, history)
    assert nn.weight() == 2.0
    out = capsys.readouterr().out
    assert out == ('training stopped at epoch 4: train loss is nan; keeping '
                   'the weights of epoch 2 (best valid loss 0.200000)\n')
    assert stopper.message == out.strip()
    assert stopper.stopped_epoch == 4


def test_stop_on_inf_valid_loss_and_first_epoch_failure():
    nn = FakeNet()
    stopper = StopOnNonFinite()
    with pytest.raises(StopIteration):
        stopper(nn, [row(1, 0.5, np.inf)])
    assert stopper.message == (
        'training stopped at epoch 1: valid loss is inf; no earlier finite '
        'epoch, so the weights are not usable')
    assert stopper.best.epoch is None


def test_stop_on_non_finite_without_validation_tracks_train_loss():
    nn = FakeNet()
    stopper = StopOnNonFinite()
    history = []
    for epoch, train in enumerate([0.5, 0.3, 0.4], 1):
        nn.set_weights(epoch)
        history.append(row(epoch, train, np.nan, validated=False))
        stopper(nn, history)  # a NaN valid loss here means "no validation"
    nn.set_weights(9)
    history.append(row(4, np.inf, np.nan, validated=False))
    with pytest.raises(StopIteration):
        stopper(nn, history)
    assert nn.weight() == 2.0
    assert 'keeping the weights of epoch 2 (best train loss 0.300000)' in \
        stopper.message


def test_diverging_real_net_stops_with_finite_weights(capsys):
    stopper = StopOnNonFinite()

    def explode_after_epoch_2(nn, history):
        if history[-1]['epoch'] == 2:
            nn.update_learning_rate.set_value(np.float32(1e9))

    net = tiny_net(50, [stopper, explode_after_epoch_2],
                   learning_rate=theano.shared(np.float32(0.01)))
    X, y = tiny_data()
    net.fit(X, y)
    assert 2 < stopper.stopped_epoch < 50
    assert len(net.train_history_) == stopper.stopped_epoch
    last = net.train_history_[-1]
    assert not (np.isfinite(last['train_loss'])
                and np.isfinite(last['valid_loss']))
    assert stopper.best.epoch in (1, 2)
    assert 'training stopped at epoch %d' % stopper.stopped_epoch in \
        capsys.readouterr().out
    assert all(np.all(np.isfinite(p.get_value()))
               for p in net.get_all_params())
    assert np.all(np.isfinite(net.predict(X)))
