import numpy as np
import pandas as pd
import pytest

from errors import DataError, UserError
from data_prep.keypoints import KEYPOINT_COLUMNS, SPARSE_COLUMNS
from evaluation.submission import (KAGGLE_ROWS, answered_by_path,
                                   check_submission, choose_runs,
                                   combine_predictions, make_submission,
                                   read_lookup_table, write_answered_by,
                                   write_submission)
from tests.conftest import shared_path

SMALL_LOOKUP = ('RowId,ImageId,FeatureName,Location\r\n'
                '1,1,left_eye_center_x,\r\n'
                '2,1,nose_tip_y,\r\n'
                '3,2,mouth_right_corner_x,\r\n'
                '4,3,left_eye_center_x,\r\n'
                '5,3,left_eye_center_y,\r\n')


@pytest.fixture
def small_lookup(tmp_path):
    path = tmp_path / 'IdLookupTable.csv'
    path.write_bytes(SMALL_LOOKUP.encode())  # CRLF, as Kaggle's
    return read_lookup_table(str(path))


def _predictions(n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.uniform(-5, 101, (n, 30))  # some outside [0, 96]: clipped
    return y


def test_small_lookup_maps_image_and_column(small_lookup):
    assert list(small_lookup['RowId']) == [1, 2, 3, 4, 5]
    assert list(small_lookup['FeatureName'])[-1] == 'left_eye_center_y'
    y = np.zeros((3, 30))
    y[0, KEYPOINT_COLUMNS.index('left_eye_center_x')] = 66.5
    y[0, KEYPOINT_COLUMNS.index('nose_tip_y')] = 120.0   # clipped to 96
    y[1, KEYPOINT_COLUMNS.index('mouth_right_corner_x')] = -3.0  # to 0
    y[2, KEYPOINT_COLUMNS.index('left_eye_center_x')] = 60.25
    y[2, KEYPOINT_COLUMNS.index('left_eye_center_y')] = 37.0
    # test.csv order need not be ImageId order
    submission = make_submission(small_lookup, [3, 1, 2], y[[2, 0, 1]])
    assert list(submission.columns) == ['RowId', 'Location']
    np.testing.assert_allclose(submission['Location'],
                               [66.5, 96.0, 0.0, 60.25, 37.0])


def test_missing_image_is_refused(small_lookup):
    with pytest.raises(DataError, match='ImageId.*first: 3'):
        make_submission(small_lookup, [1, 2], np.zeros((2, 30)))


@pytest.mark.parametrize('change, message', [
    (lambda s: s.iloc[:-1], '4 rows, the lookup table 5'),
    (lambda s: s.iloc[[1, 0, 2, 3, 4]], 'row 1 has RowId 2'),
    (lambda s: s.assign(Location=[1, np.nan, 3, 4, 5]), 'RowId 2 has Location'),
    (lambda s: s.assign(Location=[1, 2, 96.5, 4, 5]), 'RowId 3 has Location'),
    (lambda s: s.rename(columns={'Location': 'location'}), 'columns'),
])
def test_check_refuses_what_kaggle_would_reject(small_lookup, change,
                                                message):
    good = make_submission(small_lookup, [1, 2, 3], np.full((3, 30), 40.0))
    check_submission(good, small_lookup)
    with pytest.raises(UserError, match=message):
        check_submission(change(good).reset_index(drop=True), small_lookup)


def test_write_never_replaces_a_good_file_with_a_bad_one(small_lookup,
                                                         tmp_path):
    path = tmp_path / 'submission.csv'
    good = make_submission(small_lookup, [1, 2, 3], np.full((3, 30), 40.0))
    write_submission(good, small_lookup, str(path))
    before = path.read_bytes()
    assert before.startswith(b'RowId,Location\n1,40.0000\n')
    with pytest.raises(UserError):
        write_submission(good.iloc[:3], small_lookup, str(path))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ['IdLookupTable.csv',
                                                    'submission.csv']


@pytest.mark.parametrize('text, message', [
    ('RowId,ImageId,Location\n1,1,\n', 'missing column FeatureName'),
    ('RowId,ImageId,FeatureName,Location\n1,1,nose_tip_x,\n3,1,nose_tip_y,\n',
     'line 3: RowId is 3, expected 2'),
    ('RowId,ImageId,FeatureName,Location\n1,1,nose_x,\n',
     "line 2: FeatureName 'nose_x'"),
    ('RowId,ImageId,FeatureName,Location\n1,x,nose_tip_x,\n',
     "line 2: ImageId is 'x'"),
])
def test_bad_lookup_tables_name_the_line(tmp_path, text, message):
    path = tmp_path / 'lookup.csv'
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_lookup_table(str(path))


def test_real_lookup_table_gives_kaggles_27124_rows(tmp_path):
    lookup = read_lookup_table(shared_path('data', 'kaggle',
                                           'IdLookupTable.csv'))
    assert len(lookup) == KAGGLE_ROWS
    assert lookup['ImageId'].min() == 1 and lookup['ImageId'].max() == 1783
    y = _predictions(1783)
    submission = make_submission(lookup, np.arange(1, 1784), y)
    path = tmp_path / 'submission.csv'
    write_submission(submission, lookup, str(path))
    written = pd.read_csv(path)
    assert len(written) == 27124
    assert (written['RowId'] == np.arange(1, 27125)).all()
    assert written['Location'].between(0, 96).all()
    # Row 27124 is image 1783's mouth_center_bottom_lip_y (last line).
    expected = np.clip(y[1782, 29], 0, 96)
    assert written['Location'].iloc[-1] == pytest.approx(expected, abs=1e-4)
    sample = pd.read_csv(shared_path('data', 'kaggle', 'SampleSubmission.csv'))
    assert list(written.columns) == list(sample.columns)
    assert (written['RowId'] == sample['RowId']).all()


# ------------------------------------------------------------ two runs

def test_two_runs_share_the_real_lookup_table():
    """With a 30-column and an 8-column run, the 8-column one answers the
    1192 images of Kaggle's lookup table that ask for its keypoints only
    (1190 ask for all 8, 2 for 6 of them), the other one the 591 left."""
    lookup = read_lookup_table(shared_path('data', 'kaggle',
                                           'IdLookupTable.csv'))
    choice = choose_runs(lookup, [KEYPOINT_COLUMNS, SPARSE_COLUMNS])
    assert list(choice.index) == list(range(1, 1784))
    assert (choice == 1).sum() == 1192 and (choice == 0).sum() == 591
    asked = lookup.groupby('ImageId')['FeatureName'].apply(set)
    assert all(asked[i] <= set(SPARSE_COLUMNS) for i in choice.index[choice == 1])
    assert all(not asked[i] <= set(SPARSE_COLUMNS)
               for i in choice.index[choice == 0])
    # the order the runs are given in does not matter
    swapped = choose_runs(lookup, [SPARSE_COLUMNS, KEYPOINT_COLUMNS])
    assert (swapped == 1 - choice).all()
    rows = lookup.groupby('ImageId').size()
    assert (rows[choice.index[choice == 1]].sum(),
            rows[choice.index[choice == 0]].sum()) == (9532, 17592)


def test_an_image_no_run_can_answer_is_refused(small_lookup):
    with pytest.raises(DataError, match='ImageId 1 asks for nose_tip_y'):
        choose_runs(small_lookup, [('left_eye_center_x', 'left_eye_center_y'),
                                   ('mouth_right_corner_x',)])


def test_each_image_takes_its_run_s_keypoints(small_lookup, tmp_path):
    full = _predictions(3, seed=1)
    sparse = np.full((3, 30), np.nan)
    sparse[:, [0, 1]] = 50.0
    choice = choose_runs(small_lookup, [KEYPOINT_COLUMNS,
                                        ('left_eye_center_x',
                                         'left_eye_center_y')])
    assert choice.to_dict() == {1: 0, 2: 0, 3: 1}
    y = combine_predictions([1, 2, 3], [full, sparse], choice)
    np.testing.assert_array_equal(y[:2], full[:2])
    np.testing.assert_array_equal(y[2], sparse[2])
    submission = make_submission(small_lookup, [1, 2, 3], y)
    assert submission['Location'].tolist()[-2:] == [50.0, 50.0]
    path = answered_by_path(str(tmp_path / 'submission.csv'))
    assert path == str(tmp_path / 'submission_runs.csv')
    write_answered_by(path, small_lookup, choice, ['runs/a,b', 'runs/c'])
    assert open(path).read() == ('ImageId,run,rows\n1,"runs/a,b",2\n'
                                 '2,"runs/a,b",1\n3,runs/c,2\n')
