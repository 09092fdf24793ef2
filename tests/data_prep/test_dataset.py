"""load_dataset: the study's selection, scaling and shuffle; synthetic data."""
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import sklearn.utils

from errors import DataError, UserError
from data_prep.dataset import Dataset, load_dataset
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
    ('labels', 'some', 'complete, all'),
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
