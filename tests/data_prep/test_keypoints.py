"""Keypoint columns agree with Kaggle's files; the flip pairs are left/right."""
from data_prep.keypoints import (FLIP_PAIRS, KEYPOINT_COLUMNS, SPARSE_COLUMNS,
                                 SPARSE_INDICES)
from tests.conftest import shared_path


def test_columns_match_training_csv_header():
    with open(shared_path('data', 'ytf_kfkd', 'training.csv')) as handle:
        header = handle.readline(5000).rstrip('\n').split(',')
    assert header == list(KEYPOINT_COLUMNS) + ['Image']


def test_columns_match_id_lookup_table_order():
    with open(shared_path('data', 'kaggle', 'IdLookupTable.csv')) as handle:
        handle.readline()
        names = [handle.readline().strip().split(',')[2] for _ in range(30)]
    assert names == list(KEYPOINT_COLUMNS)


def test_flip_pairs_swap_left_and_right_of_the_same_axis():
    assert len(FLIP_PAIRS) == 12
    for left, right in FLIP_PAIRS:
        a, b = KEYPOINT_COLUMNS[left], KEYPOINT_COLUMNS[right]
        assert a[-1] == b[-1]
        assert 'left' in a and a.replace('left', 'right') == b
    used = [i for pair in FLIP_PAIRS for i in pair]
    assert len(set(used)) == 24
    centre = set(range(30)) - set(used)
    assert {KEYPOINT_COLUMNS[i][:-2] for i in centre} == {
        'nose_tip', 'mouth_center_top_lip', 'mouth_center_bottom_lip'}


def test_sparse_columns():
    assert len(SPARSE_COLUMNS) == 8
    assert [KEYPOINT_COLUMNS[i] for i in SPARSE_INDICES] == list(
        SPARSE_COLUMNS)
    assert 'nose_tip_y' in SPARSE_COLUMNS
    assert 'mouth_center_bottom_lip_x' in SPARSE_COLUMNS
