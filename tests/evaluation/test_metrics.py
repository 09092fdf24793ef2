import numpy as np
import pytest

from data_prep.keypoints import KEYPOINT_COLUMNS
from evaluation.metrics import (error_table, image_rmse, keypoint_rmse,
                                mean_keypoints, overall_rmse,
                                validation_metrics)


def test_keypoint_rmse_per_column_skips_missing_truth():
    y_true = np.array([[0.0, 10.0], [0.0, np.nan], [0.0, 10.0]])
    y_pred = np.array([[3.0, 10.0], [4.0, 99.0], [0.0, 12.0]])
    np.testing.assert_allclose(keypoint_rmse(y_true, y_pred),
                               [np.sqrt(25 / 3.0), np.sqrt(2.0)])
    np.testing.assert_allclose(image_rmse(y_true, y_pred),
                               [np.sqrt(4.5), 4.0, np.sqrt(2.0)])
    assert overall_rmse(y_true, y_pred) == pytest.approx(np.sqrt(29 / 5.0))


def test_shapes_must_agree():
    with pytest.raises(ValueError, match='differ in shape'):
        keypoint_rmse(np.zeros((2, 30)), np.zeros((2, 28)))


def test_error_table_matches_kaggle_rmse_and_mean_baseline():
    rng = np.random.default_rng(0)
    y_train = rng.uniform(20, 70, (50, 30))
    y_true = rng.uniform(20, 70, (10, 30))
    y_pred = y_true + rng.normal(0, 2, y_true.shape)
    table = error_table(y_true, y_pred, y_train)
    assert list(table.index) == list(KEYPOINT_COLUMNS) + ['overall']
    assert table.loc['overall', 'rmse_px'] == pytest.approx(
        np.sqrt(np.mean((y_pred - y_true) ** 2)))
    mean = y_train.mean(axis=0)
    assert table.loc['overall', 'baseline_rmse_px'] == pytest.approx(
        np.sqrt(np.mean((mean - y_true) ** 2)))
    assert table.loc['nose_tip_y', 'rmse_px'] == pytest.approx(
        np.sqrt(np.mean((y_pred[:, 21] - y_true[:, 21]) ** 2)))
    assert table.loc['overall', 'n'] == 300
    assert (table.loc['left_eye_center_x':'mouth_center_bottom_lip_y', 'n']
            == 10).all()


def test_mean_keypoints_ignores_missing():
    np.testing.assert_allclose(mean_keypoints([[1, np.nan], [3, 4]]), [2, 4])


def test_validation_metrics_are_over_labelled_coordinates():
    y_valid = np.array([[0.0, np.nan], [0.5, 0.25]])
    y_pred = np.array([[0.25, 9.0], [0.5, 0.0]])
    metrics = validation_metrics(y_valid, y_pred, [[0.0, np.nan],
                                                   [1.0, 0.5]])
    assert metrics['valid_mse'] == pytest.approx((0.0625 + 0 + 0.0625) / 3)
    assert (metrics['valid_labelled'], metrics['valid_coordinates']) == (3, 4)
    # the baseline: the training rows' column means (0.5, 0.5), labelled only
    assert metrics['baseline_mse'] == pytest.approx((0.25 + 0 + 0.0625) / 3)
