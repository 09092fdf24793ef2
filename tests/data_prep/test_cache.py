"""The parsed-array cache: keyed by content, never stale, survives corruption."""
import hashlib
import os

import numpy as np
import pytest

from data_prep import cache
from data_prep.synthetic import write_kaggle_csv


@pytest.fixture
def csv_path(tmp_path):
    path = str(tmp_path / 'training.csv')
    write_kaggle_csv(path, 12, seed=5)
    return path


def forbid_parsing(monkeypatch):
    def fail(path, kind):
        raise AssertionError('parsed %s instead of using the cache' % path)
    monkeypatch.setattr(cache, 'read_kaggle_arrays', fail)


def test_sha256_of(csv_path):
    with open(csv_path, 'rb') as handle:
        expected = hashlib.sha256(handle.read()).hexdigest()
    assert cache.sha256_of(csv_path, chunk_bytes=1000) == expected


def test_second_load_comes_from_cache(tmp_path, csv_path, monkeypatch):
    cache_dir = str(tmp_path / 'cache')
    first = cache.load_kaggle_arrays(csv_path, 'training', cache_dir)
    entry = cache.cache_path(first['sha256'], 'training', cache_dir)
    assert os.path.isfile(entry)
    forbid_parsing(monkeypatch)
    second = cache.load_kaggle_arrays(csv_path, 'training', cache_dir)
    for key in ('images', 'keypoints', 'image_ids'):
        assert np.array_equal(first[key], second[key], equal_nan=True)
    assert second['sha256'] == first['sha256']


def test_changed_file_is_parsed_again(tmp_path, csv_path):
    cache_dir = str(tmp_path / 'cache')
    first = cache.load_kaggle_arrays(csv_path, 'training', cache_dir)
    write_kaggle_csv(csv_path, 12, seed=6)
    second = cache.load_kaggle_arrays(csv_path, 'training', cache_dir)
    assert second['sha256'] != first['sha256']
    assert not np.array_equal(first['images'], second['images'])
    assert len(os.listdir(cache_dir)) == 2


def test_corrupt_entry_is_rebuilt(tmp_path, csv_path):
    cache_dir = str(tmp_path / 'cache')
    first = cache.load_kaggle_arrays(csv_path, 'training', cache_dir)
    entry = cache.cache_path(first['sha256'], 'training', cache_dir)
    with open(entry, 'wb') as handle:
        handle.write(b'PK\x03\x04 truncated')
    second = cache.load_kaggle_arrays(csv_path, 'training', cache_dir)
    assert np.array_equal(first['images'], second['images'])
    with np.load(entry, allow_pickle=False) as rebuilt:
        assert np.array_equal(rebuilt['images'], first['images'])


def test_entry_with_wrong_shapes_is_rebuilt(tmp_path, csv_path):
    cache_dir = str(tmp_path / 'cache')
    first = cache.load_kaggle_arrays(csv_path, 'training', cache_dir)
    entry = cache.cache_path(first['sha256'], 'training', cache_dir)
    np.savez(entry, images=np.zeros((3, 5), np.uint8),
             image_ids=np.arange(3), keypoints=np.zeros((3, 30)))
    second = cache.load_kaggle_arrays(csv_path, 'training', cache_dir)
    assert second['images'].shape == (12, 96, 96)


def test_cache_folder_from_environment(tmp_path, csv_path, monkeypatch):
    monkeypatch.setenv('KFKD_CACHE', str(tmp_path / 'from_env'))
    assert cache.default_cache_dir() == str(tmp_path / 'from_env')
    cache.load_kaggle_arrays(csv_path, 'training')
    assert len(os.listdir(str(tmp_path / 'from_env'))) == 1


def test_use_cache_false_writes_nothing(tmp_path, csv_path):
    cache_dir = str(tmp_path / 'cache')
    arrays = cache.load_kaggle_arrays(csv_path, 'training', cache_dir,
                                      use_cache=False)
    assert arrays['images'].shape == (12, 96, 96)
    assert not os.path.exists(cache_dir)
