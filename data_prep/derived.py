"""A training file made from others says where it came from, in a file beside it.

A file that a command derives (``python -m evaluation.pseudo_label`` writes
one with keypoints trained nets filled in) has ``<file>.provenance.json``
beside it: the runs and data it was made from and how. A training run on
that file copies it into its manifest (``data.derived_from``), so the run
names its source runs without a new option.

>>> sidecar_path('data/pseudo.csv')
'data/pseudo.provenance.json'
>>> read_derived('no/such/file.csv') is None
True
"""
import os

from run_folder import read_json, write_json

__all__ = ['SIDECAR_SUFFIX', 'sidecar_path', 'read_derived', 'write_derived']

SIDECAR_SUFFIX = '.provenance.json'


def sidecar_path(data_path):
    """sidecar_path(data_path)

    ``<stem>.provenance.json`` beside the data file.
    """
    stem = os.path.splitext(os.fspath(data_path))[0]
    return stem + SIDECAR_SUFFIX


def read_derived(data_path):
    """read_derived(data_path)

    The record beside `data_path` (a dict), or None when the file was not
    derived (no sidecar, or `data_path` is ``'synthetic'`` or a folder).

    Raises
    ------
    run_folder.RunFolderError
        A sidecar that is there but not readable JSON.
    """
    if not data_path or not os.path.isfile(os.fspath(data_path)):
        return None
    path = sidecar_path(data_path)
    return read_json(path) if os.path.isfile(path) else None


def write_derived(data_path, record):
    """write_derived(data_path, record)

    Write `record` (plain values) beside `data_path`, atomically.
    """
    write_json(sidecar_path(data_path), record)
