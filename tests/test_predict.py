"""predict.py: submit, image and show on a tiny trained run."""
import json
import os

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from skimage import data, io

import predict
from data_prep.dataset import load_dataset
from data_prep.keypoints import KEYPOINT_COLUMNS, SPARSE_COLUMNS
from evaluation.trained_net import load_trained_net, predict_px
from data_prep.synthetic import write_kaggle_csv
from tests.conftest import shared_path
from tests.evaluation.tiny_run import make_tiny_run


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    return make_tiny_run(tmp_path_factory.mktemp('predict') / 'net1-tiny')


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp('photos')
    io.imsave(str(folder / 'astronaut.png'), data.astronaut())
    io.imsave(str(folder / 'coffee.jpg'), data.coffee(), quality=90)
    io.imsave(str(folder / 'astronaut_grey.jpg'),
              (data.astronaut()[..., 1]), quality=90)
    return folder


def _small_data(folder, n=5):
    """test.csv of n synthetic faces and a lookup table asking 3 of them."""
    write_kaggle_csv(str(folder / 'test.csv'), n, seed=3, kind='test')
    (folder / 'IdLookupTable.csv').write_bytes(
        b'RowId,ImageId,FeatureName,Location\r\n'
        b'1,1,left_eye_center_x,\r\n2,1,nose_tip_y,\r\n'
        b'3,%d,mouth_center_bottom_lip_y,\r\n' % n)
    return folder


def test_submit_real_lookup_table_with_1783_test_images(run, tmp_path,
                                                        capsys):
    lookup = shared_path('data', 'kaggle', 'IdLookupTable.csv')
    write_kaggle_csv(str(tmp_path / 'test.csv'), 1783, seed=3, kind='test')
    out = tmp_path / 'submission.csv'
    assert predict.main(['submit', run, '--data', str(tmp_path),
                         '--lookup', lookup, '--out', str(out)]) == 0
    submission = pd.read_csv(out)
    assert len(submission) == 27124
    assert (submission['RowId'] == np.arange(1, 27125)).all()
    assert submission['Location'].between(0, 96).all()
    assert submission['Location'].std() > 1  # not one constant
    assert '27124 rows for 1783 test images' in capsys.readouterr().out
    assert out.read_bytes().startswith(b'RowId,Location\n1,')


@pytest.fixture(scope='module')
def run8(tmp_path_factory):
    return make_tiny_run(tmp_path_factory.mktemp('predict') / 'net1-sparse',
                         labels='sparse')


def test_submit_two_runs_each_image_from_the_run_meant_for_it(
        run, run8, tmp_path, capsys):
    lookup_path = shared_path('data', 'kaggle', 'IdLookupTable.csv')
    write_kaggle_csv(str(tmp_path / 'test.csv'), 1783, seed=3, kind='test')
    out = tmp_path / 'submission.csv'
    assert predict.main(['submit', run, run8, '--data', str(tmp_path),
                         '--lookup', lookup_path, '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert '%s answered 591 images (17592 rows)' % run in printed
    assert '%s answered 1192 images (9532 rows)' % run8 in printed
    # Kaggle's file stays exactly RowId,Location
    assert out.read_bytes().startswith(b'RowId,Location\n1,')
    submission = pd.read_csv(out)
    assert list(submission.columns) == ['RowId', 'Location']
    assert (submission['RowId'] == np.arange(1, 27125)).all()
    answered = pd.read_csv(tmp_path / 'submission_runs.csv')
    assert list(answered.columns) == ['ImageId', 'run', 'rows']
    assert list(answered['ImageId']) == list(range(1, 1784))
    assert answered['rows'].sum() == 27124
    lookup = pd.read_csv(lookup_path)
    asked = lookup.groupby('ImageId')['FeatureName'].apply(set)
    by_run8 = set(answered.loc[answered['run'] == run8, 'ImageId'])
    assert by_run8 == {i for i in asked.index if asked[i] <= set(SPARSE_COLUMNS)}
    # each Location is the answering run's own prediction
    test = load_dataset(str(tmp_path), kind='test')
    predictions = {folder: predict_px(load_trained_net(folder)[0], test.X)
                   for folder in (run, run8)}
    column = pd.Index(KEYPOINT_COLUMNS).get_indexer(lookup['FeatureName'])
    image = lookup['ImageId'].to_numpy() - 1  # test.csv holds 1..1783
    runs = answered.set_index('ImageId')['run'].reindex(lookup['ImageId'])
    expected = np.where(runs == run8,
                        predictions[run8][image, np.where(
                            runs == run8, column, 0)],
                        predictions[run][image, column])
    np.testing.assert_allclose(submission['Location'],
                               np.clip(expected, 0, 96), atol=1e-4)


def test_submit_refuses_a_second_run_of_all_columns(run, tmp_path, capsys):
    _small_data(tmp_path)
    assert predict.main(['submit', run, run, '--data', str(tmp_path)]) == 2
    assert 'RUN8 must be a run of fewer (--labels sparse)' in \
        capsys.readouterr().err
    assert not os.path.exists(os.path.join(run, 'submission.csv'))


def test_submit_small_lookup_everywhere(run, tmp_path):
    _small_data(tmp_path)
    assert predict.main(['submit', run, '--data', str(tmp_path)]) == 0
    path = os.path.join(run, 'submission.csv')
    submission = pd.read_csv(path)
    os.remove(path)  # the run is shared by other tests
    assert list(submission['RowId']) == [1, 2, 3]
    # The same net on the same faces, through the evaluation package.
    net, _ = load_trained_net(run)
    y = predict_px(net, load_dataset(str(tmp_path), kind='test').X)
    expected = np.clip([y[0, 0], y[0, 21], y[4, 29]], 0, 96)
    np.testing.assert_allclose(submission['Location'], expected, atol=1e-3)


def test_failed_submit_keeps_the_earlier_file(run, tmp_path, capsys):
    _small_data(tmp_path, n=4)  # the lookup table asks for image 4 ...
    out = tmp_path / 'submission.csv'
    out.write_text('an earlier submission\n')
    write_kaggle_csv(str(tmp_path / 'test.csv'), 3, seed=3, kind='test')
    assert predict.main(['submit', run, '--data', str(tmp_path),
                         '--out', str(out)]) == 2  # ... test.csv lacks it
    assert out.read_text() == 'an earlier submission\n'
    assert 'error: ' in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'IdLookupTable.csv', 'submission.csv', 'test.csv']


def test_submit_without_test_data_says_how_to_get_it(run, tmp_path, capsys):
    _small_data(tmp_path)
    os.remove(tmp_path / 'test.csv')
    assert predict.main(['submit', run, '--data', str(tmp_path)]) == 2
    assert 'no test data' in capsys.readouterr().err


def test_image_astronaut_one_face_in_photo_pixels(run, photos, tmp_path,
                                                  capsys):
    assert predict.main(['image', run, str(photos / 'astronaut.png'),
                         '--out', str(tmp_path)]) == 0
    assert '1 face' in capsys.readouterr().out
    annotated = matplotlib.image.imread(str(tmp_path
                                            / 'astronaut_keypoints.png'))
    assert annotated.shape[:2] == (512, 512)
    table = pd.read_csv(tmp_path / 'astronaut_keypoints.csv')
    assert len(table) == 1
    assert list(table.columns[4:]) == list(KEYPOINT_COLUMNS)
    left, top, side = table.loc[0, ['crop_left', 'crop_top', 'crop_side']]
    points = table.loc[0, list(KEYPOINT_COLUMNS)].to_numpy(dtype=float)
    # In the photo's pixels: inside the crop square around her face.
    assert (points[0::2] >= left).all() and (points[0::2] <= left + side).all()
    assert (points[1::2] >= top).all() and (points[1::2] <= top + side).all()
    assert 150 < left < 202 and 40 < top < 100  # her eyes: ~(202..245, 101)
    report = json.loads((tmp_path / 'astronaut_keypoints.json').read_text())
    assert report['width'] == 512 and len(report['faces']) == 1
    assert report['faces'][0]['keypoints']['nose_tip'] == pytest.approx(
        [points[20], points[21]], abs=0.01)


def test_image_grey_jpeg_works_too(run, photos, tmp_path):
    assert predict.main(['image', run, str(photos / 'astronaut_grey.jpg'),
                         '--out', str(tmp_path)]) == 0
    assert (tmp_path / 'astronaut_grey_keypoints.csv').is_file()


def test_image_without_a_face_is_an_error(run, photos, tmp_path, capsys):
    assert predict.main(['image', run, str(photos / 'coffee.jpg'),
                         str(photos / 'astronaut.png'),
                         '--out', str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert 'coffee.jpg: no face found' in err and err.startswith('error: ')
    # The other photo still gets its keypoints; coffee gets no files.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'astronaut_keypoints.csv', 'astronaut_keypoints.json',
        'astronaut_keypoints.png']


def test_show_writes_the_report(run, capsys):
    assert predict.main(['show', run]) == 0
    out = capsys.readouterr().out
    assert 'validation RMSE' in out and 'mean-keypoint baseline' in out
    for name in ('faces_valid.png', 'worst16.png', 'keypoint_rmse.png',
                 'errors.csv', 'errors.md'):
        assert os.path.isfile(os.path.join(run, name))


def test_not_a_run_folder(tmp_path, capsys):
    assert predict.main(['show', str(tmp_path / 'nothing')]) == 2
    assert 'no such run folder' in capsys.readouterr().err
    assert predict.main(['image', str(tmp_path), 'x.jpg']) == 2
    assert 'not a run folder' in capsys.readouterr().err


def test_evaluate_prints_the_table_and_writes_a_new_folder(run, tmp_path,
                                                           capsys):
    data = tmp_path / 'data'
    data.mkdir()
    truth = write_kaggle_csv(str(data / 'training.csv'), 12, seed=5)
    assert predict.main(['evaluate', run, '--data', str(data)]) == 0
    out = capsys.readouterr().out
    folder = os.path.join(run, 'eval-training')
    with open(os.path.join(folder, 'evaluation.json')) as f:
        summary = json.load(f)
    assert '| **overall** | **%.2f** | **%.2f** | %d |' % (
        summary['rmse_px'], summary['baseline_rmse_px'],
        np.isfinite(truth).sum()) in out
    assert ('12 faces, %d labelled coordinates: RMSE %.2f px'
            % (np.isfinite(truth).sum(), summary['rmse_px'])) in out
    assert out.rstrip().endswith(os.path.join(folder, 'worst16.png'))
    # Independently: the run's net on the file's faces, labelled cells only.
    net, _ = load_trained_net(run)
    faces = load_dataset(str(data), labels='all', shuffle_seed=None)
    y_pred = predict_px(net, faces.X)
    labelled = np.isfinite(truth)
    assert summary['rmse_px'] == pytest.approx(
        np.sqrt(np.mean((y_pred[labelled] - truth[labelled]) ** 2)), rel=1e-5)


@pytest.mark.parametrize('make, message', [
    (lambda d: write_kaggle_csv(str(d / 'x.csv'), 2, kind='test'),
     'wrong header'),
    (lambda d: (d / 'x.csv').write_text('a,b\n1,2\n'), 'wrong header'),
    (lambda d: (d / 'x.csv').write_bytes(b'\x00\xff\xfe binary'),
     'not a CSV file'),
])
def test_evaluate_wrong_files_are_one_line_exit_2(run, tmp_path, capsys, make,
                                                  message):
    make(tmp_path)
    before = sorted(os.listdir(run))
    assert predict.main(['evaluate', run, '--data',
                         str(tmp_path / 'x.csv')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and err.count('\n') == 1 and message in err
    assert sorted(os.listdir(run)) == before


def test_a_photo_larger_than_the_decode_side_is_reported_in_its_own_pixels(
        run, photos, tmp_path):
    from PIL import Image
    from evaluation import faces_in_photo as fip
    assert predict.main(['image', run, str(photos / 'astronaut.png'),
                         '--out', str(tmp_path)]) == 0
    small = pd.read_csv(tmp_path / 'astronaut_keypoints.csv')
    big = tmp_path / 'big' / 'astronaut.png'  # 5x: 2560 px, decoded at 2048
    big.parent.mkdir()
    Image.fromarray(data.astronaut()).resize((2560, 2560), Image.NEAREST).save(
        str(big))
    photo, scale = fip.read_photo_reduced(str(big))
    assert photo.shape == (2048, 2048, 3) and scale == 1.25
    assert predict.main(['image', run, str(big), '--out',
                         str(big.parent)]) == 0
    table = pd.read_csv(big.parent / 'astronaut_keypoints.csv')
    report = json.loads((big.parent / 'astronaut_keypoints.json').read_text())
    assert (report['width'], report['height']) == (2560, 2560)
    # Her face (the largest square), 5 times as far from the corner and 5
    # times as large (within 10%: detection runs on a resampled image).
    face = table.loc[table['crop_side'].idxmax()]
    for column in ['crop_left', 'crop_top', 'crop_side', 'nose_tip_x']:
        expected = small.loc[0, column]
        assert face[column] / 5 == pytest.approx(expected, rel=0.1), column


def test_a_huge_photo_is_decoded_small(run, tmp_path):
    # 12000x12000: 3.8 GB as float64 grey if decoded whole.
    import subprocess
    import sys
    from PIL import Image
    from tests.conftest import REPO
    huge = str(tmp_path / 'huge.jpg')
    Image.new('L', (12000, 12000), 128).save(huge, quality=30)
    measure = ('import resource, subprocess, sys\n'
               'proc = subprocess.run(sys.argv[1:], capture_output=True, '
               'text=True)\n'
               'print(proc.returncode, resource.getrusage('
               'resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n'
               'print(proc.stderr.strip())\n')
    proc = subprocess.run(
        [sys.executable, '-c', measure, sys.executable, 'predict.py', 'image',
         run, huge, '--out', str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    status, peak_mb = map(int, proc.stdout.splitlines()[0].split())
    assert status == 2 and peak_mb < 500, proc.stdout
    assert proc.stdout.splitlines()[1] == (
        'error: %s: no face found (12000x12000; the detector finds frontal '
        'faces at least 562 px wide)' % huge)


def _fill_the_disk(monkeypatch):
    """Writes of CSV (pandas) and JSON (run_folder) find the disk full after
    a few bytes."""
    import errno
    import run_folder

    def full(*args, **keywords):
        raise OSError(errno.ENOSPC, 'No space left on device')

    def partial_csv(frame, path, *args, **keywords):
        with open(path, 'w') as f:
            f.write('RowId,Location\n')
        full()
    monkeypatch.setattr(pd.DataFrame, 'to_csv', partial_csv)
    monkeypatch.setattr(run_folder.json, 'dump', full)


def test_submit_on_a_full_disk_is_one_line_and_keeps_the_earlier_file(
        run, tmp_path, capsys, monkeypatch):
    _small_data(tmp_path)
    out = tmp_path / 'submission.csv'
    out.write_text('an earlier submission\n')
    _fill_the_disk(monkeypatch)
    assert predict.main(['submit', run, '--data', str(tmp_path),
                         '--out', str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: no space left on the disk of %s: more than '
                          '0.1 MB needed, ' % out) and err.endswith(' MB free\n')
    assert out.read_text() == 'an earlier submission\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'IdLookupTable.csv', 'submission.csv', 'test.csv']


def test_evaluate_on_a_full_disk_is_one_line_and_leaves_no_folder(
        run, tmp_path, capsys, monkeypatch):
    labelled = str(tmp_path / 'faces.csv')
    write_kaggle_csv(labelled, 12, seed=5)
    out = tmp_path / 'eval'
    _fill_the_disk(monkeypatch)
    assert predict.main(['evaluate', run, '--data', labelled, '--out',
                         str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: no space left on the disk of %s' % out)
    assert err.count('\n') == 1 and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['faces.csv']


def test_submit_out_a_folder_is_one_line(run, tmp_path, capsys):
    _small_data(tmp_path)
    assert predict.main(['submit', run, '--data', str(tmp_path),
                         '--out', str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        'error: --out %s is a folder; name the submission file to write '
        '(e.g. %s)\n' % (tmp_path, tmp_path / 'submission.csv'))
