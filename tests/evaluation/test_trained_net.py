import shutil

import numpy as np
import pytest

from errors import UserError
from data_prep.dataset import load_training_data
from data_prep.keypoints import SPARSE_INDICES
from evaluation.trained_net import load_trained_net, predict_px
from nets import build_net
from run_folder import read_valid_predictions
from tests.evaluation.tiny_run import ROWS
from training.weights import save_weights


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    folder = tmp_path / 'run'
    shutil.copytree(tiny_run, folder)
    return folder


def test_reloaded_net_predicts_what_the_run_wrote(tiny_run):
    net, manifest = load_trained_net(str(tiny_run))
    assert manifest['net'] == 'net1'
    rows, _, y_pred = read_valid_predictions(
        '%s/valid_predictions.csv' % tiny_run)
    _, X, _ = load_training_data('synthetic', limit=ROWS)
    np.testing.assert_allclose(predict_px(net, X[rows]), y_pred, atol=1e-3)


def test_weights_of_another_net_are_refused_naming_net1(run_copy):
    other = build_net('net1', hidden_num_units=20)  # the run's has 10
    other.initialize_layers()
    save_weights(other, str(run_copy / 'weights.npz'))
    with pytest.raises(UserError, match=r'not hold the weights of net1.*'
                       r'hidden\.W has shape \(9216, 20\)'):
        load_trained_net(str(run_copy))


def test_truncated_weights_are_refused_naming_net1(run_copy):
    path = run_copy / 'weights.npz'
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(UserError, match='not a readable weights file.*'
                       'expects the weights of net1'):
        load_trained_net(str(run_copy))


def test_pickled_arrays_are_never_loaded(run_copy):
    np.savez(str(run_copy / 'weights.npz'),
             **{'hidden.W': np.array([{'pickled': True}], dtype=object)})
    with pytest.raises(UserError, match='not a readable weights file'):
        load_trained_net(str(run_copy))


def test_missing_weights_name_the_file(run_copy):
    (run_copy / 'weights.npz').unlink()
    with pytest.raises(UserError, match='weights.npz does not exist.*net1'):
        load_trained_net(str(run_copy))


def test_sparse_run_loads_with_eight_outputs_and_predicts_its_columns(
        tiny_sparse_run):
    net, manifest = load_trained_net(str(tiny_sparse_run))
    assert manifest['labels'] == 'sparse'
    assert net.layers_['output'].num_units == 8
    rows, _, y_pred = read_valid_predictions(
        '%s/valid_predictions.csv' % tiny_sparse_run)
    _, X, _ = load_training_data('synthetic', labels='sparse', limit=ROWS)
    predicted = predict_px(net, X[rows])
    assert predicted.shape == (len(rows), 30)
    assert (np.flatnonzero(np.isfinite(predicted[0]))
            == list(SPARSE_INDICES)).all()
    np.testing.assert_allclose(predicted, y_pred, atol=1e-3)  # NaN alike
    net.keypoint_columns_ = net.keypoint_columns_ + ('nose_tip_x',)
    with pytest.raises(UserError, match='predicts 8 values per face, but 9'):
        predict_px(net, X[:2])
