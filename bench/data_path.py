"""Time the data path on a Kaggle-sized training.csv (7049 synthetic rows).

Prints the time to write the file, to parse and validate it, and to load
it again from the SHA-256 keyed cache (each the median of 3), then the
time per image of each contrast preprocessing method.

    python bench/data_path.py [--rows 7049]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data_prep.cache import load_kaggle_arrays, sha256_of  # noqa: E402
from data_prep.kaggle_csv import read_kaggle_arrays  # noqa: E402
from data_prep.preprocess import PREPROCESS_METHODS, preprocess  # noqa: E402
from data_prep.scaling import scale_pixels  # noqa: E402
from data_prep.synthetic import write_kaggle_csv  # noqa: E402


def median_seconds(function, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', type=int, default=7049,
                        help="rows to write (Kaggle's training.csv: 7049)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'training.csv')
        cache_dir = os.path.join(folder, 'cache')
        start = time.perf_counter()
        write_kaggle_csv(path, args.rows, seed=0)
        written = time.perf_counter() - start
        size_mb = os.path.getsize(path) / 1e6
        parse = median_seconds(lambda: read_kaggle_arrays(path, 'training'))
        sha = median_seconds(lambda: sha256_of(path))
        load_kaggle_arrays(path, 'training', cache_dir)  # fills the cache
        cached = median_seconds(
            lambda: load_kaggle_arrays(path, 'training', cache_dir))
        images = load_kaggle_arrays(path, 'training', cache_dir)['images']
    X = scale_pixels(images[:200])[:, None]
    per_image = {method: median_seconds(lambda: preprocess(X, method))
                 / len(X) for method in PREPROCESS_METHODS}
    print('rows                      %d (%.0f MB)' % (args.rows, size_mb))
    print('write synthetic csv       %.2f s' % written)
    print('parse + validate          %.2f s  (median of 3)' % parse)
    print('sha256 of the file        %.2f s  (median of 3)' % sha)
    print('cached reload (incl. sha) %.2f s  (median of 3)' % cached)
    for method, seconds in per_image.items():
        print('preprocess %-14s %.2f ms per image' % (method, 1e3 * seconds))


if __name__ == '__main__':
    main()
