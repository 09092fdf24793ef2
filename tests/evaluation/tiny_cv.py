"""A tiny --cv run on a small file with one planted bad row, shared by the
pseudo-label and suspects tests.

net1 with 10 hidden units, 3 folds of 40 epochs of batches of 8 (enough
to learn the mean face and some more) on 60 complete synthetic
faces, written as a training.csv in which row :data:`BAD_ROW` has its
keypoints turned upside down (eyes below the mouth): a labeller's gross
error that a net which never saw the row cannot follow.
"""
import os

import numpy as np

from data_prep.kaggle_csv import read_kaggle_arrays, write_training_lines
from data_prep.synthetic import write_kaggle_csv
from training.cv import run_cv

ROWS = 60
FOLDS = 3
BAD_ROW = 7


def make_tiny_cv(folder):
    """make_tiny_cv(folder)

    Write ``<folder>/train.csv`` and train ``<folder>/cv`` on it; returns
    ``(data_path, cv_parent)``.
    """
    folder = os.fspath(folder)
    data = os.path.join(folder, 'train.csv')
    write_kaggle_csv(data, ROWS, seed=5, complete_fraction=1.0)
    arrays = read_kaggle_arrays(data, 'training')
    keypoints = arrays['keypoints']
    keypoints[BAD_ROW, 1::2] = 95.0 - keypoints[BAD_ROW, 1::2]
    with open(data, 'w', newline='') as f:
        write_training_lines(f, arrays['images'], keypoints)
    parent = run_cv('net1', FOLDS, epochs=40, batch_size=8, data=data,
                    out=os.path.join(folder, 'cv'),
                    net_overrides={'hidden_num_units': 10},
                    command=['tests'], log=lambda line: None)
    assert np.isfinite(keypoints).all()
    return data, parent
