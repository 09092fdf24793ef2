"""Synthetic faces: Kaggle's exact format, Kaggle's missing pattern, keypoints on features."""
import numpy as np
import pytest

from data_prep.kaggle_csv import read_kaggle_arrays
from data_prep.keypoints import KEYPOINT_COLUMNS, SPARSE_INDICES
from data_prep.synthetic import kaggle_missing_mask, make_faces, write_kaggle_csv


@pytest.fixture(scope='module')
def faces():
    return make_faces(60, seed=7)


def test_shapes_and_range(faces):
    images, keypoints = faces
    assert images.shape == (60, 96, 96) and images.dtype == np.uint8
    assert keypoints.shape == (60, 30)
    assert ((keypoints >= 0) & (keypoints < 96)).all()
    assert images.std(axis=(1, 2)).min() > 5  # not blank


def test_deterministic_for_a_seed(faces):
    images, keypoints = make_faces(60, seed=7)
    assert np.array_equal(images, faces[0])
    assert np.array_equal(keypoints, faces[1])
    assert not np.array_equal(make_faces(60, seed=8)[0], images)


def test_left_is_larger_x(faces):
    keypoints = faces[1]
    column = {name: i for i, name in enumerate(KEYPOINT_COLUMNS)}
    for left, right in (('left_eye_center_x', 'right_eye_center_x'),
                        ('mouth_left_corner_x', 'mouth_right_corner_x'),
                        ('left_eyebrow_outer_end_x',
                         'right_eyebrow_outer_end_x')):
        assert (keypoints[:, column[left]] > keypoints[:, column[right]]).all()


def test_eye_centres_are_on_dark_pupils(faces):
    images, keypoints = faces
    darker = 0
    for image, points in zip(images.astype(float), keypoints):
        for i in (0, 2):  # left and right eye centre
            x, y = np.round(points[i:i + 2]).astype(int)
            pupil = image[y, x]
            # The eye corners are on the (brighter) white of the eye.
            corners = [image[int(round(points[j + 1])), int(round(points[j]))]
                       for j in ((4, 6) if i == 0 else (8, 10))]
            darker += pupil < min(corners) - 10
    assert darker >= 0.9 * 2 * len(images)


def test_written_csv_parses_with_kaggle_pattern(tmp_path):
    path = str(tmp_path / 'training.csv')
    written = write_kaggle_csv(path, 50, seed=2)
    arrays = read_kaggle_arrays(path, 'training')
    keypoints = arrays['keypoints']
    assert keypoints.shape == (50, 30)
    assert np.allclose(keypoints, written, atol=1e-9, equal_nan=True)
    present = ~np.isnan(keypoints)
    assert present.all(axis=1).sum() == 15  # 30% of 50
    partial = present[~present.all(axis=1)]
    assert (partial.sum(axis=1) == 8).all()
    assert partial[:, list(SPARSE_INDICES)].all()
    assert ((keypoints[present] >= 0) & (keypoints[present] < 96)).all()
    images, _ = make_faces(50, seed=2)
    assert np.array_equal(arrays['images'], images)


def test_csv_text_looks_like_kaggle(tmp_path):
    path = tmp_path / 'training.csv'
    write_kaggle_csv(str(path), 4, seed=2, complete_fraction=1.0)
    header, first = path.read_text().splitlines()[:2]
    assert header == ','.join(KEYPOINT_COLUMNS) + ',Image'
    fields = first.split(',')
    assert len(fields) == 31
    assert len(fields[0].split('.')[1]) == 10  # Kaggle-like decimals
    pixels = fields[30].split(' ')
    assert len(pixels) == 9216
    assert all(p == str(int(p)) for p in pixels)


def test_same_seed_same_file(tmp_path):
    a, b = tmp_path / 'a.csv', tmp_path / 'b.csv'
    write_kaggle_csv(str(a), 10, seed=4)
    write_kaggle_csv(str(b), 10, seed=4)
    assert a.read_bytes() == b.read_bytes()


def test_test_csv(tmp_path):
    path = str(tmp_path / 'test.csv')
    assert write_kaggle_csv(path, 6, seed=3, kind='test') is None
    with open(path) as handle:
        assert handle.readline() == 'ImageId,Image\n'
    arrays = read_kaggle_arrays(path, 'test')
    assert arrays['image_ids'].tolist() == [1, 2, 3, 4, 5, 6]
    assert arrays['images'].shape == (6, 96, 96)


def test_missing_mask_fraction():
    mask = kaggle_missing_mask(1000, seed=1, complete_fraction=0.3)
    assert mask.all(axis=1).sum() == 300
    assert mask[:, list(SPARSE_INDICES)].all()
