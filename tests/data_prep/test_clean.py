"""Cleaning: none drops nothing, study its 15 rows of Kaggle's file only, auto each rule on faces
built to break it, the clean list's format and errors."""
import json

import numpy as np
import pytest

from errors import DataError, UserError
from data_prep import clean
from data_prep.kaggle_csv import read_kaggle_arrays
from data_prep.keypoints import FLIP_PAIRS, KEYPOINT_COLUMNS
from data_prep.synthetic import kaggle_missing_mask, make_faces
from tests.conftest import shared_path

C = {name: i for i, name in enumerate(KEYPOINT_COLUMNS)}
ROW = 3  # the row each test breaks


@pytest.fixture(scope='module')
def faces():
    return make_faces(10, seed=3)


@pytest.fixture
def broken(faces):
    """Copies of the faces to break."""
    return faces[0].copy(), faces[1].copy()


def only_flags(keypoints, images):
    """{rule: rows} of the rules that found something."""
    return {rule: rows for rule, rows in clean.auto_flags(keypoints, images).items() if rows}


def test_synthetic_faces_break_no_rule():
    images, keypoints = make_faces(300, seed=11)
    assert only_flags(keypoints, images) == {}
    sparse = np.where(kaggle_missing_mask(300, seed=11), keypoints, np.nan)
    assert only_flags(sparse, images) == {}


def test_every_rule_is_returned_in_order(faces):
    assert list(clean.auto_flags(faces[1], faces[0])) == list(clean.AUTO_RULES)


def test_duplicate_image_keeps_the_first(broken):
    images, keypoints = broken
    images[7], keypoints[7] = images[2], keypoints[2] + 0.5  # within 1 px
    images[8], keypoints[8] = images[2], keypoints[2]
    keypoints[8, 4:] = np.nan  # fewer keypoints is no conflict
    assert only_flags(keypoints, images) == {
        'duplicate_image': {7: {'duplicate_of': 2}, 8: {'duplicate_of': 2}}}


def test_duplicate_with_conflicting_labels(broken):
    images, keypoints = broken
    images[6], keypoints[6] = images[1], keypoints[1].copy()
    keypoints[6, C['nose_tip_x']] += 3.0
    flags = only_flags(keypoints, images)
    assert flags == {'duplicate_conflicting_labels': {6: {
        'duplicate_of': 1, 'max_difference_px': 3.0,
        'max_difference_column': 'nose_tip_x'}}}


def test_left_eye_not_on_right(broken):
    images, keypoints = broken
    left, right = C['left_eye_center_x'], C['right_eye_center_x']
    keypoints[ROW, [left, right]] = keypoints[ROW, [right, left]]
    assert only_flags(keypoints, images) == {'left_eye_not_on_right': {ROW: {
        'left_eye_center_x': round(keypoints[ROW, left], 2),
        'right_eye_center_x': round(keypoints[ROW, right], 2)}}}


def test_mirrored_labels_are_one_rule_not_every_point(broken):
    # Left and right swapped throughout (a label set mirrored): the eyes say it once; no
    # keypoint is judged off its side against eyes that are themselves swapped.
    images, keypoints = broken
    for a, b in FLIP_PAIRS:
        keypoints[ROW, [a, b]] = keypoints[ROW, [b, a]]
    assert list(only_flags(keypoints, images)) == ['left_eye_not_on_right']


def test_eyes_below_nose(broken):
    images, keypoints = broken
    middle = (keypoints[ROW, C['left_eye_center_y']] + keypoints[ROW, C['right_eye_center_y']]) / 2
    keypoints[ROW, C['nose_tip_y']] = middle - 1.0
    assert only_flags(keypoints, images) == {'eyes_below_nose': {ROW: {
        'nose_tip_y': round(middle - 1.0, 2), 'eye_centres_middle_y': round(middle, 2)}}}


def test_eyes_below_nose_with_one_eye_missing(broken):
    images, keypoints = broken
    keypoints[ROW, [C['right_eye_center_x'], C['right_eye_center_y']]] = np.nan
    keypoints[ROW, C['nose_tip_y']] = keypoints[ROW, C['left_eye_center_y']]
    assert list(only_flags(keypoints, images)) == ['eyes_below_nose']
    keypoints[ROW, [C['left_eye_center_x'], C['left_eye_center_y']]] = np.nan
    assert only_flags(keypoints, images) == {}  # no eye: not judged


def test_mouth_above_nose(broken):
    images, keypoints = broken
    nose = keypoints[ROW, C['nose_tip_y']]
    keypoints[ROW, C['mouth_center_top_lip_y']] = nose - 6
    keypoints[ROW, C['mouth_center_bottom_lip_y']] = nose - 2
    assert only_flags(keypoints, images) == {'mouth_above_nose': {ROW: {
        'nose_tip_y': round(nose, 2), 'mouth_center_top_lip_y': round(nose - 6, 2),
        'mouth_center_bottom_lip_y': round(nose - 2, 2)}}}


def test_mouth_above_nose_on_the_sparse_lip_alone(broken):
    images, keypoints = broken
    keypoints[ROW, C['mouth_center_top_lip_y']] = np.nan  # Kaggle's sparse rows
    keypoints[ROW, C['mouth_center_bottom_lip_y']] = keypoints[ROW, C['nose_tip_y']]
    assert list(only_flags(keypoints, images)) == ['mouth_above_nose']
    assert set(only_flags(keypoints, images)['mouth_above_nose'][ROW]) == {
        'nose_tip_y', 'mouth_center_bottom_lip_y'}


def test_top_lip_below_bottom_lip(broken):
    images, keypoints = broken
    top, bottom = C['mouth_center_top_lip_y'], C['mouth_center_bottom_lip_y']
    keypoints[ROW, [top, bottom]] = keypoints[ROW, [bottom, top]]
    assert list(only_flags(keypoints, images)) == ['top_lip_below_bottom_lip']


@pytest.mark.parametrize('name, limit, shift', [
    ('mouth_left_corner_x', 'right_eye_center_x', -1.0),
    ('left_eyebrow_inner_end_x', 'right_eye_center_x', 0.0),
    ('right_eye_outer_corner_x', 'left_eye_center_x', 2.0),
])
def test_keypoint_off_its_side(broken, name, limit, shift):
    images, keypoints = broken
    keypoints[ROW, C[name]] = keypoints[ROW, C[limit]] + shift
    assert only_flags(keypoints, images) == {'keypoint_off_its_side': {ROW: {
        name: round(keypoints[ROW, C[name]], 2), limit: round(keypoints[ROW, C[limit]], 2)}}}


def test_keypoint_past_the_middle_but_not_the_other_eye_is_kept(broken):
    images, keypoints = broken
    left, right = keypoints[ROW, C['left_eye_center_x']], keypoints[ROW, C['right_eye_center_x']]
    # 0.4 eye distances past the middle: a turned face's inner eyebrow end can be there.
    keypoints[ROW, C['left_eyebrow_inner_end_x']] = (left + right) / 2 - 0.4 * (left - right)
    assert only_flags(keypoints, images) == {}


def test_blank_image(broken):
    images, keypoints = broken
    rng = np.random.default_rng(0)
    images[ROW] = 128 + rng.integers(-1, 2, size=(96, 96))
    images[5] = 0
    flags = only_flags(keypoints, images)
    assert list(flags) == ['blank_image']
    assert sorted(flags['blank_image']) == [ROW, 5]
    assert flags['blank_image'][5] == {'pixel_std': 0.0}
    assert flags['blank_image'][ROW]['pixel_std'] < clean.BLANK_STD


def test_nearly_uniform_image(broken):
    images, keypoints = broken
    rng = np.random.default_rng(1)
    images[ROW] = np.clip(np.round(rng.normal(128, 5, size=(96, 96))), 0, 255)
    flags = only_flags(keypoints, images)
    assert list(flags) == ['nearly_uniform_image']
    assert 4.5 < flags['nearly_uniform_image'][ROW]['pixel_std'] < 5.5
    images[ROW] = np.clip(np.round(rng.normal(128, 9, size=(96, 96))), 0, 255)
    assert only_flags(keypoints, images) == {}


def test_mostly_flat_image(broken):
    images, keypoints = broken
    images[ROW, :70] = 20  # 73% of the frame one grey level, the face below
    images[ROW, :70, ::2] = 22  # within the band
    flags = only_flags(keypoints, images)
    assert list(flags) == ['mostly_flat_image']
    values = flags['mostly_flat_image'][ROW]
    assert values['flat_share'] >= 70 * 96 / 9216.0 - 0.005
    lo, hi = map(int, values['flat_levels'].split('-'))
    assert lo <= 20 and 22 <= hi and hi - lo == clean.FLAT_BAND - 1
    images[ROW, :50] = 20  # 52% flat: kept
    images[ROW, 50:70] = faces_below = make_faces(1, seed=4)[0][0, 50:70]
    assert faces_below.std() > 10
    assert only_flags(keypoints, images) == {}


def test_auto_takes_flat_or_square_images(faces):
    images, keypoints = faces
    assert clean.auto_flags(keypoints, images.reshape(10, -1)) == clean.auto_flags(
        keypoints, images)
    with pytest.raises(ValueError, match='uint8'):
        clean.auto_flags(keypoints, images / 255.0)
    with pytest.raises(ValueError, match=r'\(n, 30\)'):
        clean.auto_flags(keypoints[:, :8], images)


# ------------------------------------------------------------------ select

def test_none_drops_nothing_even_broken_faces(broken):
    images, keypoints = broken
    images[ROW] = 0
    keep, dropped = clean.select(keypoints, images, method='none')
    assert keep.tolist() == list(range(10)) and keep.dtype == np.int64
    assert dropped == []


def test_select_merges_rules_and_list_into_json_records(broken, tmp_path):
    images, keypoints = broken
    images[ROW] = 0
    left, right = C['left_eye_center_x'], C['right_eye_center_x']
    keypoints[8, [left, right]] = keypoints[8, [right, left]]
    listed = tmp_path / 'drop.txt'
    listed.write_text('# by eye\n%d\n1\n' % ROW)
    keep, dropped = clean.select(keypoints, images, method='auto', clean_list=str(listed))
    assert keep.tolist() == [0, 2, 4, 5, 6, 7, 9]
    assert [d['row'] for d in dropped] == [1, ROW, 8]
    assert dropped[0] == {'row': 1, 'image_id': 2, 'rules': ['clean_list'],
                          'values': {'clean_list_line': 3}}
    assert dropped[1] == {'row': ROW, 'image_id': ROW + 1,
                          'rules': ['blank_image', 'clean_list'],
                          'values': {'pixel_std': 0.0, 'clean_list_line': 2}}
    assert dropped[2]['rules'] == ['left_eye_not_on_right']
    assert json.loads(json.dumps(dropped)) == dropped
    assert clean.count_rules(dropped) == {'clean_list': 2, 'blank_image': 1,
                                          'left_eye_not_on_right': 1}


def test_clean_list_alone_with_none(faces, tmp_path):
    listed = tmp_path / 'drop.txt'
    listed.write_text('9\n0\n')
    keep, dropped = clean.select(faces[1], faces[0], clean_list=str(listed))
    assert keep.tolist() == list(range(1, 9))
    assert [(d['row'], d['rules']) for d in dropped] == [(0, ['clean_list']),
                                                         (9, ['clean_list'])]


def test_unknown_method(faces):
    with pytest.raises(UserError, match=r"unknown --clean 'tidy'; valid: none, study, auto"):
        clean.select(faces[1], faces[0], method='tidy')


# ------------------------------------------------------------------- study

def kaggle_shaped(n_rows=clean.KAGGLE_TRAINING_ROWS, n_complete=clean.KAGGLE_COMPLETE_ROWS):
    """Keypoints with Kaggle's row count and missing pattern (the values do not matter)."""
    keypoints = np.full((n_rows, 30), 40.0)
    keypoints[n_complete:, 4:20] = np.nan
    return keypoints


def test_study_drops_its_15_rows_of_a_kaggle_shaped_file():
    keep, dropped = clean.select(kaggle_shaped(), None, method='study')
    assert len(keep) == 7049 - 15
    assert [d['row'] for d in dropped] == sorted(clean.STUDY_BAD_ROWS)
    assert {d['row'] for d in dropped} == {6492, 6493, 2321, 3296, 5556, 1877, 2289, 2199,
                                           4263, 4828, 2194, 1907, 4490, 2090, 1747}
    assert all(d['rules'] == ['study_bad_row'] and d['values'] == {} for d in dropped)
    assert dropped[0]['image_id'] == 1748
    assert not np.isin(keep, list(clean.STUDY_BAD_ROWS)).any()


@pytest.mark.parametrize('n_rows, n_complete', [(3385, 3385), (7049, 2115), (7050, 2140)])
def test_study_refuses_another_file(n_rows, n_complete):
    with pytest.raises(DataError) as e:
        clean.select(kaggle_shaped(n_rows, n_complete), None, method='study',
                     source='data/training.csv')
    message = str(e.value)
    assert '\n' not in message
    assert message.startswith("data/training.csv: --clean study drops 15 rows of Kaggle's own "
                              "training.csv (7049 rows, 2140 with all 30 keypoints); this file "
                              "has %d rows, %d complete" % (n_rows, n_complete))


def test_study_refuses_synthetic_faces(faces):
    with pytest.raises(DataError, match='this file has 10 rows, 10 complete'):
        clean.select(faces[1], faces[0], method='study')


# -------------------------------------------------------------- clean list

@pytest.mark.parametrize('text', [
    '4\n7\n',
    '# rows to drop\n\n  7 \r\n4',
    'row,image_id,rules,values\n4,5,blank_image,"pixel_std=0.0"\n7,8,clean_list,x\n',
    'image_id,Row\n5,4\n8,7\n',
    '\ufeff4\n7\n',  # a spreadsheet's byte-order mark
])
def test_clean_list_formats(tmp_path, text):
    path = tmp_path / 'list.csv'
    path.write_bytes(text.encode('utf-8'))
    assert sorted(clean.read_clean_list(str(path), 10)) == [4, 7]


def test_clean_list_empty_drops_nothing(tmp_path):
    path = tmp_path / 'list.txt'
    path.write_text('# reviewed: keep them all\n')
    assert clean.read_clean_list(str(path), 10) == {}


@pytest.mark.parametrize('text, message', [
    ('4\nseven\n', "line 2: 'seven' is not a row number (0-based data rows"),
    ('-1\n', "line 1: '-1' is not a row number"),
    ('2.5\n', "line 1: '2.5' is not a row number"),
    ('4\n10\n', 'line 2: row 10 is past the last data row (9) of the training file'),
    ('4\n\n4\n', 'line 3: row 4 is listed twice (first on line 1)'),
    ('4,blurry\n', "line 1: '4,blurry' holds more than a row number"),
    ('row,rules\n,blank_image\n', "line 2: '' is not a row number"),
])
def test_clean_list_errors_name_file_and_line(tmp_path, text, message):
    path = tmp_path / 'list.txt'
    path.write_text(text)
    with pytest.raises(DataError) as e:
        clean.read_clean_list(str(path), 10)
    assert str(e.value).startswith('%s %s' % (path, message))
    assert '\n' not in str(e.value)


def test_clean_list_unreadable(tmp_path):
    with pytest.raises(DataError, match=r'--clean-list .*nope.txt: cannot be read'):
        clean.read_clean_list(str(tmp_path / 'nope.txt'), 10)
    binary = tmp_path / 'list.bin'
    binary.write_bytes(b'\x89PNG\r\n\x1a\n\xff\xfe')
    with pytest.raises(DataError, match='not a text file of row numbers'):
        clean.read_clean_list(str(binary), 10)


# --------------------------------------------------------------- real faces

@pytest.fixture(scope='module')
def real_faces():
    return read_kaggle_arrays(shared_path('data', 'ytf_kfkd', 'training.csv'), 'training')


def test_real_faces_break_no_rule_and_refuse_study(real_faces):
    # 3385 frames of YouTube Faces with landmarks derived from 68 points: consistent by
    # construction, so every rule finds nothing (the closest: eye centres 10.7 px apart, the
    # nose tip 2.9 px below the eyes, a top lip 1.6 px below the nose, pixel std 12.4).
    keypoints, images = real_faces['keypoints'], real_faces['images']
    flags = clean.auto_flags(keypoints, images)
    assert {rule: len(rows) for rule, rows in flags.items()} == {
        rule: 0 for rule in clean.AUTO_RULES}
    with pytest.raises(DataError, match='this file has 3385 rows, 3385 complete'):
        clean.select(keypoints, images, method='study')
