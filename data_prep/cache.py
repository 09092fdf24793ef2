"""Cache of parsed Kaggle arrays, keyed by the SHA-256 of the file's bytes.

Parsing Kaggle's ``training.csv`` takes seconds; loading the cached arrays
takes a fraction of one. Entries are plain ``np.savez`` files (no pickle)
named ``<kind>-<sha256>.npz`` in ``$KFKD_CACHE`` or ``<repo>/.cache/data/``.
A changed file has another hash, so it never meets a stale entry; an entry
that cannot be read (truncated, corrupt, wrong shapes) is ignored and
rebuilt.
"""
import hashlib
import os
import zipfile

import numpy as np

from data_prep.kaggle_csv import read_kaggle_arrays
from data_prep.keypoints import KEYPOINT_COLUMNS, SIDE
from paths import REPO
from run_folder import atomic_open

#: Bumped when the parsed arrays change meaning, so old entries are unused.
CACHE_VERSION = 1


def default_cache_dir():
    """default_cache_dir()

    ``$KFKD_CACHE`` if set, else ``<repo>/.cache/data``.
    """
    return os.environ.get('KFKD_CACHE') or os.path.join(REPO, '.cache',
                                                        'data')


def sha256_of(path, chunk_bytes=1 << 22):
    """sha256_of(path, chunk_bytes=4 MiB)

    Hex SHA-256 of the file's bytes, read in chunks.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(chunk_bytes), b''):
            digest.update(chunk)
    return digest.hexdigest()


def cache_path(sha256, kind, cache_dir=None):
    """cache_path(sha256, kind, cache_dir=None)

    Where the entry of a file with this hash and kind lives.
    """
    return os.path.join(cache_dir or default_cache_dir(),
                        '%s-v%d-%s.npz' % (kind, CACHE_VERSION, sha256))


def _read_entry(path, kind):
    """The cached arrays, or None if the entry is absent or unusable."""
    try:
        with np.load(path, allow_pickle=False) as entry:
            images = entry['images']
            image_ids = entry['image_ids']
            keypoints = entry['keypoints'] if kind == 'training' else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    n = len(images)
    if (images.dtype != np.uint8 or images.shape != (n, SIDE, SIDE)
            or image_ids.shape != (n,)
            or (keypoints is not None
                and keypoints.shape != (n, len(KEYPOINT_COLUMNS)))):
        return None
    return {'images': images, 'keypoints': keypoints, 'image_ids': image_ids}


def _write_entry(path, arrays):
    """Write atomically, so a crash never leaves a half-written entry."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_open(path, 'wb') as out:
        np.savez(out, **{k: v for k, v in arrays.items() if v is not None})


def load_kaggle_arrays(path, kind, cache_dir=None, use_cache=True):
    """load_kaggle_arrays(path, kind, cache_dir=None, use_cache=True)

    :func:`data_prep.kaggle_csv.read_kaggle_arrays`, through the cache.

    Parameters
    ----------
    path : str
        A Kaggle CSV or zip.
    kind : {'training', 'test'}
    cache_dir : str or None
        Defaults to :func:`default_cache_dir`.
    use_cache : bool
        False parses the file and neither reads nor writes the cache.

    Returns
    -------
    arrays : dict
        As :func:`read_kaggle_arrays`, plus ``sha256`` (hex string).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        # Let the reader raise its one-line DataError.
        return read_kaggle_arrays(path, kind)
    sha256 = sha256_of(path)
    entry = cache_path(sha256, kind, cache_dir)
    arrays = _read_entry(entry, kind) if use_cache else None
    if arrays is None:
        arrays = read_kaggle_arrays(path, kind)
        if use_cache:
            try:
                _write_entry(entry, arrays)
            except OSError:
                pass  # a read-only cache only costs speed
    arrays['sha256'] = sha256
    return arrays
