"""python -m data_prep.review: the flagged rows as a CSV a person edits and pictures to judge."""
import csv
import os
import subprocess
import sys

import numpy as np
import pytest

from data_prep import clean, review
from data_prep.keypoints import KEYPOINT_COLUMNS
from data_prep.synthetic import make_faces
from tests.conftest import REPO, shared_path

C = {name: i for i, name in enumerate(KEYPOINT_COLUMNS)}


def write_training_csv(path, images, keypoints):
    """Kaggle's training.csv format from arrays (empty where NaN)."""
    with open(path, 'w') as f:
        f.write(','.join(KEYPOINT_COLUMNS + ('Image',)) + '\n')
        for image, points in zip(images.reshape(len(images), -1), keypoints):
            f.write(','.join('' if np.isnan(v) else '%.4f' % v for v in points) + ','
                    + ' '.join(map(str, image.tolist())) + '\n')


@pytest.fixture
def data_dir(tmp_path):
    """14 faces: row 2 blank, row 5 with its eye centres swapped, row 9 a copy of row 1's
    image with other keypoints."""
    images, keypoints = make_faces(14, seed=21)
    images[2] = 90
    left, right = C['left_eye_center_x'], C['right_eye_center_x']
    keypoints[5, [left, right]] = keypoints[5, [right, left]]
    images[9] = images[1]
    folder = tmp_path / 'data'
    folder.mkdir()
    write_training_csv(str(folder / 'training.csv'), images, keypoints)
    return str(folder)


def read_rows(path):
    with open(path, newline='') as f:
        return list(csv.reader(f))


def png_size(path):
    with open(path, 'rb') as f:
        head = f.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n'
    return int.from_bytes(head[16:20], 'big'), int.from_bytes(head[20:24], 'big')


def test_review_writes_csv_and_grid(data_dir, tmp_path, capsys):
    out = str(tmp_path / 'review')
    assert review.main([data_dir, '--out', out]) == 0
    rows = read_rows(os.path.join(out, 'flagged.csv'))
    assert rows[0] == ['row', 'image_id', 'rules', 'values']
    assert [r[:3] for r in rows[1:]] == [['2', '3', 'blank_image'],
                                         ['5', '6', 'left_eye_not_on_right'],
                                         ['9', '10', 'duplicate_conflicting_labels']]
    assert rows[1][3] == 'pixel_std=0.0'
    assert rows[3][3].startswith('duplicate_of=1; max_difference_px=')
    assert sorted(os.listdir(out)) == ['flagged-01.png', 'flagged.csv']
    width, height = png_size(os.path.join(out, 'flagged-01.png'))
    assert width >= 3 * 150 and height >= 150  # three faces in a row
    printed = capsys.readouterr().out
    assert '14 rows, 3 flagged by --clean auto' in printed
    assert '  blank_image                        1' in printed
    assert '  mouth_above_nose                   0' in printed


def test_flagged_csv_is_a_clean_list(data_dir, tmp_path):
    from data_prep.kaggle_csv import read_kaggle_arrays
    out = str(tmp_path / 'review')
    review.main([data_dir, '--out', out])
    path = os.path.join(out, 'flagged.csv')
    lines = open(path).read().splitlines()
    with open(path, 'w') as f:  # the reviewer keeps row 5
        f.write('\n'.join(line for line in lines if not line.startswith('5,')) + '\n')
    arrays = read_kaggle_arrays(os.path.join(data_dir, 'training.csv'), 'training')
    keep, dropped = clean.select(arrays['keypoints'], arrays['images'], clean_list=path)
    assert [d['row'] for d in dropped] == [2, 9] and len(keep) == 12


def test_pages_hold_every_flagged_face(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(review, 'FACES_PER_PAGE', 2)
    out = str(tmp_path / 'review')
    result = review.review(data_dir, out=out, log=lambda line: None)
    assert [os.path.basename(p) for p in result['pictures']] == ['flagged-01.png',
                                                                 'flagged-02.png']
    assert result['counts'] == {'blank_image': 1, 'left_eye_not_on_right': 1,
                                'duplicate_conflicting_labels': 1}


def test_none_flags_nothing_and_draws_nothing(data_dir, tmp_path, capsys):
    out = str(tmp_path / 'review')
    assert review.main([data_dir, '--clean', 'none', '--out', out]) == 0
    assert read_rows(os.path.join(out, 'flagged.csv')) == [['row', 'image_id', 'rules',
                                                            'values']]
    assert os.listdir(out) == ['flagged.csv']
    assert 'no rows flagged: no pictures' in capsys.readouterr().out


def test_default_out_is_new_and_an_earlier_review_is_kept(data_dir, tmp_path, monkeypatch,
                                                          capsys):
    monkeypatch.chdir(str(tmp_path))
    csv_path = os.path.join('results', 'review-auto', 'flagged.csv')
    assert review.main([os.path.join(data_dir, 'training.csv')]) == 0
    before = open(csv_path).read()
    capsys.readouterr()
    assert review.main([data_dir]) == 2
    err = capsys.readouterr().err
    assert err == ('error: --out results/review-auto already holds files (an earlier '
                   'review?); choose another --out, or remove it\n')
    assert open(csv_path).read() == before
    listed = tmp_path / 'keep.txt'
    listed.write_text('0\n')
    assert review.main([data_dir, '--clean-list', str(listed)]) == 0
    assert os.path.isfile(os.path.join('results', 'review-auto-list', 'flagged.csv'))


@pytest.mark.parametrize('args, message', [
    (['--clean', 'study'], "--clean study drops 15 rows of Kaggle's own training.csv"),
    (['--clean-list', 'MISSING'], '--clean-list MISSING: cannot be read'),
])
def test_errors_write_nothing(data_dir, tmp_path, capsys, args, message):
    out = str(tmp_path / 'review')
    assert review.main([data_dir, '--out', out] + args) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err and err.count('\n') == 1
    assert not os.path.exists(out)


def test_folder_without_data(tmp_path, capsys):
    assert review.main([str(tmp_path), '--out', str(tmp_path / 'r')]) == 2
    assert 'no training data: looked for' in capsys.readouterr().err


def test_command_line_module(tmp_path):
    result = subprocess.run([sys.executable, '-m', 'data_prep.review', str(tmp_path / 'none')],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith('error: no training data')
    result = subprocess.run([sys.executable, '-m', 'data_prep.review', 'x', '--clean', 'tidy'],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and "invalid choice: 'tidy'" in result.stderr


def test_real_faces(tmp_path):
    # Nothing on the real faces breaks a rule; a person's list of three rows gets its grid.
    data = shared_path('data', 'ytf_kfkd')
    result = review.review(data, out=str(tmp_path / 'auto'), log=lambda line: None)
    assert result['dropped'] == [] and result['pictures'] == []
    listed = tmp_path / 'list.txt'
    listed.write_text('0\n1000\n3384\n')
    result = review.review(data, 'none', str(listed), out=str(tmp_path / 'list'),
                           log=lambda line: None)
    assert [d['row'] for d in result['dropped']] == [0, 1000, 3384]
    assert len(result['pictures']) == 1 and png_size(result['pictures'][0])[0] >= 450
