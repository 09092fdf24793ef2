"""A tiny trained run folder shared by the evaluation and predict.py tests.

net1 with 10 hidden units, 2 epochs on 200 synthetic faces: seconds to
train, and every file of a real run folder. Its predictions are poor, which
the tests do not mind: they check plumbing, numbers and files.
"""
import os

from training.run import run

ROWS = 200
N_VALID = 40  # nolearn's TrainSplit(eval_size=0.2)


def make_tiny_run(folder, labels='complete'):
    """make_tiny_run(folder, labels='complete')

    Train the tiny run into ``folder`` (must not exist); returns its path.
    ``labels='sparse'`` makes the 8-output run of the same faces.
    """
    return run('net1', epochs=2, data='synthetic', limit=ROWS,
               net_overrides={'hidden_num_units': 10}, out=os.fspath(folder),
               command=['tests'], labels=labels)
