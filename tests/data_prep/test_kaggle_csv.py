"""Reading and validating Kaggle CSVs: every bad input names file, line, problem."""
import os
import zipfile

import numpy as np
import pytest

from errors import DataError
from data_prep.kaggle_csv import (arrays_to_frame, find_data_file,
                                  read_kaggle_arrays, read_kaggle_csv)
from data_prep.keypoints import KEYPOINT_COLUMNS
from data_prep.synthetic import write_kaggle_csv
from tests.conftest import shared_path


@pytest.fixture
def training_lines(tmp_path):
    """Lines of a valid 20-row training.csv (header = lines[0] = line 1)."""
    path = tmp_path / 'source.csv'
    write_kaggle_csv(str(path), 20, seed=3, complete_fraction=1.0)
    return path.read_text().splitlines()


def write_lines(tmp_path, lines, name='training.csv'):
    path = tmp_path / name
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def set_image_value(line, position, value):
    """Replace the 1-based ``position``-th Image value of a training line."""
    fields = line.split(',')
    pixels = fields[-1].split(' ')
    pixels[position - 1] = value
    return ','.join(fields[:-1] + [' '.join(pixels)])


def set_field(line, column, value):
    fields = line.split(',')
    fields[KEYPOINT_COLUMNS.index(column)] = value
    return ','.join(fields)


def expect_error(path, kind, *parts):
    with pytest.raises(DataError) as caught:
        read_kaggle_csv(path, kind)
    message = str(caught.value)
    assert '\n' not in message
    for part in parts:
        assert part in message, message
    return message


def test_valid_file_reads_as_frame(tmp_path, training_lines):
    path = write_lines(tmp_path, training_lines)
    frame = read_kaggle_csv(path, 'training')
    assert list(frame.columns) == list(KEYPOINT_COLUMNS) + ['Image']
    assert len(frame) == 20
    first = training_lines[1].split(',')
    assert frame['left_eye_center_x'].iloc[0] == pytest.approx(float(first[0]))
    image = frame['Image'].iloc[0]
    assert image.dtype == np.uint8 and image.shape == (9216,)
    assert image[:3].tolist() == [int(v) for v in first[-1].split()[:3]]


def test_9215_pixels(tmp_path, training_lines):
    training_lines[16] = training_lines[16].rsplit(' ', 1)[0]
    path = write_lines(tmp_path, training_lines)
    expect_error(path, 'training', path,
                 'training.csv line 17: Image has 9215 values, expected '
                 '9216 (96x96)')


def test_9217_pixels(tmp_path, training_lines):
    training_lines[2] += ' 7'
    path = write_lines(tmp_path, training_lines)
    expect_error(path, 'training', 'line 3: Image has 9217 values')


def test_empty_image(tmp_path, training_lines):
    training_lines[5] = training_lines[5].rsplit(',', 1)[0] + ','
    path = write_lines(tmp_path, training_lines)
    expect_error(path, 'training', 'line 6: Image is empty')


def test_pixel_256(tmp_path, training_lines):
    training_lines[4] = set_image_value(training_lines[4], 3, '256')
    path = write_lines(tmp_path, training_lines)
    expect_error(path, 'training',
                 'training.csv line 5: Image value 3 is 256, outside 0..255')


def test_negative_pixel(tmp_path, training_lines):
    training_lines[9] = set_image_value(training_lines[9], 9216, '-1')
    path = write_lines(tmp_path, training_lines)
    expect_error(path, 'training',
                 'line 10: Image value 9216 is -1, outside 0..255')


@pytest.mark.parametrize('token', ['12.5', 'abc', '1e2'])
def test_non_integer_pixel(tmp_path, training_lines, token):
    training_lines[12] = set_image_value(training_lines[12], 10, token)
    path = write_lines(tmp_path, training_lines)
    expect_error(path, 'training', 'line 13: Image value 10 is %r, not an '
                 'integer 0..255' % token)


@pytest.mark.parametrize('value, problem', [
    ('96.0', "nose_tip_x is '96.0', outside [0, 96)"),
    ('-1', "nose_tip_x is '-1', outside [0, 96)"),
    ('abc', "nose_tip_x is 'abc', not a finite number"),
    ('inf', "nose_tip_x is 'inf', not a finite number"),
])
def test_bad_keypoint(tmp_path, training_lines, value, problem):
    training_lines[3] = set_field(training_lines[3], 'nose_tip_x', value)
    path = write_lines(tmp_path, training_lines)
    expect_error(path, 'training', 'training.csv line 4: ' + problem)


def test_earliest_bad_row_is_reported(tmp_path, training_lines):
    training_lines[8] = set_field(training_lines[8], 'nose_tip_x', '200')
    training_lines[3] = set_field(training_lines[3], 'mouth_left_corner_y',
                                  '-5')
    path = write_lines(tmp_path, training_lines)
    expect_error(path, 'training', 'line 4: mouth_left_corner_y')


def test_missing_keypoint_is_nan(tmp_path, training_lines):
    training_lines[3] = set_field(training_lines[3], 'nose_tip_x', '')
    path = write_lines(tmp_path, training_lines)
    keypoints = read_kaggle_arrays(path, 'training')['keypoints']
    column = KEYPOINT_COLUMNS.index('nose_tip_x')
    assert np.isnan(keypoints[2, column])
    assert np.isfinite(np.delete(keypoints.ravel(), 2 * 30 + column)).all()


def test_missing_column(tmp_path, training_lines):
    column = KEYPOINT_COLUMNS.index('nose_tip_x')
    lines = [','.join(f for i, f in enumerate(line.split(','))
                      if i != column) for line in training_lines]
    path = write_lines(tmp_path, lines)
    expect_error(path, 'training', path,
                 'line 1: wrong header, missing column nose_tip_x')


def test_wrong_kind_of_file(tmp_path, training_lines):
    path = write_lines(tmp_path, training_lines, 'test.csv')
    expect_error(path, 'test', 'line 1: wrong header, missing column ImageId')


def test_extra_field_in_row(tmp_path, training_lines):
    training_lines[6] = '1.0,' + training_lines[6]
    path = write_lines(tmp_path, training_lines)
    expect_error(path, 'training', 'line 7: has 32 fields, expected 31')


def test_missing_file(tmp_path):
    path = str(tmp_path / 'training.csv')
    expect_error(path, 'training', path, 'no such file')


def test_empty_file(tmp_path):
    path = write_lines(tmp_path, [])
    (tmp_path / 'training.csv').write_text('')
    expect_error(path, 'training', path, 'file is empty')


def test_header_only(tmp_path, training_lines):
    path = write_lines(tmp_path, training_lines[:1])
    expect_error(path, 'training', path, 'no data rows')


def test_binary_garbage(tmp_path):
    path = tmp_path / 'training.csv'
    path.write_bytes(bytes(range(256)) * 40)
    expect_error(str(path), 'training', str(path), 'not a CSV file')


def test_text_garbage(tmp_path):
    path = write_lines(tmp_path, ['hello world', 'this is not it'])
    expect_error(path, 'training', path, 'line 1: wrong header')


def test_test_csv(tmp_path):
    path = str(tmp_path / 'test.csv')
    write_kaggle_csv(path, 5, seed=1, kind='test')
    frame = read_kaggle_csv(path, 'test')
    assert list(frame.columns) == ['ImageId', 'Image']
    assert frame['ImageId'].tolist() == [1, 2, 3, 4, 5]


def test_test_csv_bad_image_id(tmp_path):
    path = tmp_path / 'test.csv'
    write_kaggle_csv(str(path), 5, seed=1, kind='test')
    lines = path.read_text().splitlines()
    lines[3] = 'x' + lines[3]
    path = write_lines(tmp_path, lines, 'test.csv')
    expect_error(path, 'test', "line 4: ImageId is 'x3', not a positive "
                 "integer")


def test_zip_holds_the_csv(tmp_path, training_lines):
    csv_path = write_lines(tmp_path, training_lines)
    zip_path = str(tmp_path / 'training.zip')
    with zipfile.ZipFile(zip_path, 'w', zipfile.ZIP_DEFLATED) as archive:
        archive.write(csv_path, 'training.csv')
    from_zip = read_kaggle_arrays(zip_path, 'training')
    from_csv = read_kaggle_arrays(csv_path, 'training')
    assert np.array_equal(from_zip['images'], from_csv['images'])
    assert np.array_equal(from_zip['keypoints'], from_csv['keypoints'])


def test_zip_errors_name_the_member(tmp_path, training_lines):
    training_lines[16] = training_lines[16].rsplit(' ', 1)[0]
    csv_path = write_lines(tmp_path, training_lines, 'bad.csv')
    zip_path = str(tmp_path / 'training.zip')
    with zipfile.ZipFile(zip_path, 'w') as archive:
        archive.write(csv_path, 'training.csv')
    expect_error(zip_path, 'training',
                 'training.zip/training.csv line 17: Image has 9215 values')


def test_zip_without_the_csv(tmp_path):
    zip_path = str(tmp_path / 'training.zip')
    with zipfile.ZipFile(zip_path, 'w') as archive:
        archive.writestr('readme.txt', 'hi')
    expect_error(zip_path, 'training', 'holds no training.csv',
                 'readme.txt')


def test_corrupt_zip(tmp_path):
    path = tmp_path / 'training.zip'
    path.write_bytes(b'PK not really')
    expect_error(str(path), 'training', 'not a readable zip file')


def test_find_data_file(tmp_path):
    (tmp_path / 'training.zip').write_bytes(b'')
    assert find_data_file(str(tmp_path), 'training') == str(
        tmp_path / 'training.zip')
    (tmp_path / 'training.csv').write_text('')
    assert find_data_file(str(tmp_path), 'training') == str(
        tmp_path / 'training.csv')


def test_find_data_file_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError) as caught:
        find_data_file(str(tmp_path), 'test')
    message = str(caught.value)
    for part in (os.path.join(str(tmp_path), 'test.csv'),
                 os.path.join(str(tmp_path), 'test.zip'),
                 'kaggle competitions download -c facial-keypoints-detection',
                 '--data synthetic'):
        assert part in message
    assert '\n' not in message


@pytest.fixture(scope='module')
def real_training():
    path = shared_path('data', 'ytf_kfkd', 'training.csv')
    return path, read_kaggle_arrays(path, 'training')


def test_real_training_csv(real_training):
    path, arrays = real_training
    images, keypoints = arrays['images'], arrays['keypoints']
    assert images.shape == (3385, 96, 96) and images.dtype == np.uint8
    assert keypoints.shape == (3385, 30)
    assert np.isfinite(keypoints).all()  # every row fully labelled
    assert ((keypoints >= 0) & (keypoints < 96)).all()
    with open(path) as handle:
        header = handle.readline().rstrip('\n').split(',')
        first = handle.readline(4000).split(',')
    assert header == list(KEYPOINT_COLUMNS) + ['Image']
    assert keypoints[0, 0] == pytest.approx(float(first[0]))
    assert images[0].ravel()[:5].tolist() == [
        int(v) for v in first[30].split()[:5]]
    frame = arrays_to_frame(arrays, 'training')
    assert frame.shape == (3385, 31)
