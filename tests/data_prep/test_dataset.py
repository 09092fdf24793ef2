"""load_dataset: the study's selection, scaling and shuffle; synthetic data."""
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import sklearn.utils

from errors import DataError, UserError
from data_prep.dataset import (Dataset, describe_cleaning, expand_columns,
                               load_dataset, load_training_data)
from data_prep.keypoints import SPARSE_INDICES
from data_prep.synthetic import write_kaggle_csv
from tests.conftest import REPO


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / 'data'
    folder.mkdir()
    write_kaggle_csv(str(folder / 'training.csv'), 40, seed=9)
    write_kaggle_csv(str(folder / 'test.csv'), 7, seed=10, kind='test')
    return str(folder)


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / 'cache')


def test_complete_rows_scaled_and_shuffled(data_dir, cache_dir):
    data = load_dataset(data_dir, cache_dir=cache_dir)
    assert isinstance(data, Dataset)
    assert data.X.shape == (12, 1, 96, 96) and data.X.dtype == np.float32
    assert data.y.shape == (12, 30) and data.y.dtype == np.float32
    assert 0 <= data.X.min() and data.X.max() <= 1
    assert -1 <= data.y.min() and data.y.max() < 1
    assert data.mask.all()
    assert data.path == os.path.join(data_dir, 'training.csv')
    assert len(data.sha256) == 64
    assert (data.kind, data.labels, data.preprocess) == (
        'training', 'complete', 'none')


def test_shuffle_is_the_studys(data_dir, cache_dir):
    ordered = load_dataset(data_dir, shuffle_seed=None, cache_dir=cache_dir)
    shuffled = load_dataset(data_dir, cache_dir=cache_dir)
    assert (np.diff(ordered.image_ids) > 0).all()
    X, y = sklearn.utils.shuffle(ordered.X, ordered.y, random_state=42)
    assert np.array_equal(shuffled.X, X) and np.array_equal(shuffled.y, y)
    assert not np.array_equal(shuffled.image_ids, ordered.image_ids)


def test_all_rows_with_mask(data_dir, cache_dir):
    data = load_dataset(data_dir, labels='all', shuffle_seed=None,
                        cache_dir=cache_dir)
    assert data.X.shape == (40, 1, 96, 96)
    assert data.mask.all(axis=1).sum() == 12
    assert (data.mask.sum(axis=1) >= 8).all()
    assert (data.y[~data.mask] == 0).all()
    assert data.image_ids.tolist() == list(range(1, 41))


def test_test_set(data_dir, cache_dir):
    data = load_dataset(data_dir, kind='test', cache_dir=cache_dir)
    assert data.y is None and data.mask is None
    assert data.X.shape == (7, 1, 96, 96)
    assert data.image_ids.tolist() == list(range(1, 8))  # never shuffled


def test_preprocess_is_applied(data_dir, cache_dir):
    plain = load_dataset(data_dir, cache_dir=cache_dir)
    equalized = load_dataset(data_dir, preprocess='equalize',
                             cache_dir=cache_dir)
    assert np.array_equal(plain.y, equalized.y)
    assert not np.allclose(plain.X, equalized.X)
    assert equalized.preprocess == 'equalize'


def test_zip_in_folder(tmp_path, data_dir, cache_dir):
    folder = tmp_path / 'zipped'
    folder.mkdir()
    with zipfile.ZipFile(str(folder / 'training.zip'), 'w') as archive:
        archive.write(os.path.join(data_dir, 'training.csv'), 'training.csv')
    from_zip = load_dataset(str(folder), cache_dir=cache_dir)
    from_csv = load_dataset(data_dir, cache_dir=cache_dir)
    assert from_zip.path.endswith('training.zip')
    assert np.array_equal(from_zip.X, from_csv.X)


def test_data_folder_from_environment(data_dir, cache_dir, monkeypatch):
    monkeypatch.setenv('KFKD_DATA', data_dir)
    assert load_dataset(cache_dir=cache_dir).X.shape[0] == 12


def test_file_path_is_accepted(data_dir, cache_dir):
    path = os.path.join(data_dir, 'training.csv')
    assert load_dataset(path, cache_dir=cache_dir).path == path


def test_missing_data_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError) as caught:
        load_dataset(str(tmp_path))
    assert 'kaggle competitions download' in str(caught.value)
    assert '--data synthetic' in str(caught.value)


def test_synthetic():
    data = load_dataset('synthetic', n_synthetic=30)
    assert data.X.shape == (30, 1, 96, 96) and data.mask.all()
    assert data.path == 'synthetic'
    again = load_dataset('synthetic', n_synthetic=30)
    assert np.array_equal(data.X, again.X) and data.sha256 == again.sha256
    everything = load_dataset('synthetic', labels='all', n_synthetic=30)
    assert everything.mask.all(axis=1).sum() == 9
    test = load_dataset('synthetic', kind='test', n_synthetic=5)
    assert test.y is None and test.image_ids.tolist() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize('keyword, value, valid', [
    ('labels', 'some', 'complete, all, sparse'),
    ('clean', 'tidy', 'none, study, auto'),
    ('preprocess', 'blur', 'none, stretch, equalize, adaptive'),
    ('kind', 'valid', 'training, test'),
])
def test_unknown_options(keyword, value, valid):
    with pytest.raises(UserError) as caught:
        load_dataset('synthetic', n_synthetic=2, **{keyword: value})
    assert repr(value) in str(caught.value) and valid in str(caught.value)


def test_data_prep_never_imports_the_training_stack():
    code = ('import sys, data_prep.dataset, data_prep.augment; '
            'bad = [m for m in ("theano", "lasagne", "nolearn", "compat") '
            'if m in sys.modules]; print(bad); sys.exit(bool(bad))')
    result = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------- labels, cleaning

def test_sparse_rows_are_those_with_the_eight(data_dir, cache_dir):
    everything = load_dataset(data_dir, labels='all', shuffle_seed=None,
                              cache_dir=cache_dir)
    sparse = load_dataset(data_dir, labels='sparse', shuffle_seed=None,
                          cache_dir=cache_dir)
    has_eight = everything.mask[:, list(SPARSE_INDICES)].all(axis=1)
    assert sparse.image_ids.tolist() == everything.image_ids[has_eight].tolist()
    assert sparse.y.shape == (has_eight.sum(), 30)


@pytest.mark.parametrize('labels, columns, rows', [
    ('complete', 30, 12), ('all', 30, 40), ('sparse', 8, 40)])
def test_training_data_of_each_label_set(data_dir, cache_dir, labels,
                                         columns, rows, monkeypatch):
    monkeypatch.setenv('KFKD_CACHE', cache_dir)
    dataset, X, y = load_training_data(data_dir, labels=labels)
    assert X.shape == (rows, 1, 96, 96) and y.shape == (rows, columns)
    assert y.dtype == np.float32
    indices = list(range(30)) if columns == 30 else list(SPARSE_INDICES)
    # NaN exactly where the keypoint is missing, the scaled value elsewhere
    mask = dataset.mask[:, indices]
    np.testing.assert_array_equal(np.isnan(y), ~mask)
    np.testing.assert_array_equal(y[mask], dataset.y[:, indices][mask])
    assert (labels == 'all') == bool(np.isnan(y).any())
    assert dataset.cleaning == {'method': 'none', 'clean_list': None,
                                'rows_in_file': 40, 'rows_dropped': 0,
                                'counts': {}, 'dropped': []}


def test_cleaning_sees_every_row_before_the_labels(data_dir, cache_dir,
                                                   tmp_path):
    complete = load_dataset(data_dir, shuffle_seed=None, cache_dir=cache_dir)
    first, other = complete.image_ids[:2] - 1  # 0-based rows of the file
    listed = tmp_path / 'drop.txt'
    listed.write_text('%d\n%d\n' % (first, other))
    cleaned = load_dataset(data_dir, shuffle_seed=None, cache_dir=cache_dir,
                           clean_list=str(listed))
    # the file's row numbers, whatever the label set keeps
    assert cleaned.image_ids.tolist() == complete.image_ids[2:].tolist()
    record = cleaned.cleaning
    assert [r['row'] for r in record['dropped']] == sorted([first, other])
    assert record['counts'] == {'clean_list': 2}
    assert record['clean_list'] == str(listed)
    assert describe_cleaning(record) == (
        'cleaning none + --clean-list %s: 2 of 40 rows dropped '
        '(clean_list 2)' % listed)
    test = load_dataset(data_dir, kind='test', cache_dir=cache_dir,
                        clean_list=str(listed))
    assert test.cleaning is None and len(test.X) == 7


def test_cleaning_must_drop_what_the_run_dropped(data_dir, cache_dir,
                                                 tmp_path, monkeypatch):
    monkeypatch.setenv('KFKD_CACHE', cache_dir)
    listed = tmp_path / 'drop.txt'
    listed.write_text('3\n')
    load_training_data(data_dir, clean_list=str(listed), dropped_rows=[3])
    with pytest.raises(UserError, match='drops 1 rows .* the run dropped 2'):
        load_training_data(data_dir, clean_list=str(listed),
                           dropped_rows=[3, 4])


def test_study_cleaning_is_refused_on_another_file(data_dir, cache_dir):
    with pytest.raises(DataError, match="Kaggle's own training.csv"):
        load_dataset(data_dir, clean='study', cache_dir=cache_dir)


def test_auto_cleaning_on_synthetic_faces_drops_a_blanked_one(monkeypatch):
    import data_prep.dataset as dataset_module
    real = dataset_module.make_faces

    def with_a_blank(n, seed):
        images, keypoints = real(n, seed)
        images[4] = 90
        return images, keypoints
    monkeypatch.setattr(dataset_module, 'make_faces', with_a_blank)
    data = load_dataset('synthetic', n_synthetic=20, clean='auto')
    assert len(data.X) == 19 and 5 not in data.image_ids
    assert data.cleaning['counts'] == {'blank_image': 1}
    assert data.cleaning['dropped'][0]['values'] == {'pixel_std': 0.0}


def test_expand_columns_puts_nan_in_the_others():
    y = expand_columns(np.ones((3, 8)), [
        'left_eye_center_x', 'left_eye_center_y', 'right_eye_center_x',
        'right_eye_center_y', 'nose_tip_x', 'nose_tip_y',
        'mouth_center_bottom_lip_x', 'mouth_center_bottom_lip_y'])
    assert y.shape == (3, 30)
    assert (np.flatnonzero(np.isfinite(y[0])) == list(SPARSE_INDICES)).all()
