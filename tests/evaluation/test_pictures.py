import matplotlib.image
import numpy as np

from data_prep.keypoints import KEYPOINT_COLUMNS
from evaluation.metrics import error_table
from evaluation.pictures import (annotated_photo, face_grid, missing_points,
                                 keypoint_colour, keypoint_rmse_chart,
                                 worst_faces)


def _column(name):
    return KEYPOINT_COLUMNS.index(name)


def test_colours_by_side_of_the_subject():
    assert keypoint_colour('left_eyebrow_outer_end_y') == 'tab:red'
    assert keypoint_colour('mouth_left_corner_x') == 'tab:red'
    assert keypoint_colour('right_eye_inner_corner_x') == 'tab:blue'
    assert keypoint_colour('mouth_center_top_lip_x') == 'tab:green'


def test_annotated_photo_draws_each_side_in_its_colour(tmp_path):
    photo = np.zeros((200, 300), dtype=np.uint8)  # black, grey
    points = np.full((1, 30), np.nan)
    for name, (x, y) in {'left_eye_center': (220, 60),
                         'right_eye_center': (80, 60),
                         'nose_tip': (150, 140)}.items():
        points[0, _column(name + '_x')] = x
        points[0, _column(name + '_y')] = y
    path = str(tmp_path / 'photo.png')
    annotated_photo(photo, [(10.0, 10.0, 180.0)], points, path)
    image = matplotlib.image.imread(path)[..., :3]
    assert image.shape == (200, 300, 3)  # the photo's own size
    red, green, blue = image[60, 220], image[140, 150], image[60, 80]
    assert red[0] > 0.6 and red[2] < 0.4          # subject's left: red
    assert blue[2] > 0.6 and blue[0] < 0.4        # subject's right: blue
    assert green[1] > 0.5 and green[0] < 0.4      # centre line: green
    assert image[190, 290].max() < 0.05           # untouched background


def test_worst_faces_are_the_largest_errors_first(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 1, (20, 1, 96, 96))
    y_true = rng.uniform(20, 70, (20, 30))
    noise = np.arange(20.0)[:, None] * np.ones((1, 30))  # face i off by i px
    path = str(tmp_path / 'worst.png')
    order = worst_faces(images, y_true, y_true + noise[::-1], path, n=16)
    assert list(order) == list(range(16))  # face 0 is the worst
    assert matplotlib.image.imread(path).shape[0] > 300


def test_face_grid_and_chart_write_pngs(tmp_path):
    rng = np.random.default_rng(2)
    y = rng.uniform(20, 70, (5, 30))
    face_grid(rng.uniform(0, 1, (5, 96, 96)), y, y + 1, str(tmp_path / 'g.png'))
    table = error_table(y, y + 1, y + 2)
    keypoint_rmse_chart(table, str(tmp_path / 'c.png'))
    for name in ('g.png', 'c.png'):
        assert matplotlib.image.imread(str(tmp_path / name)).ndim == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ['c.png', 'g.png']


def test_missing_points_count_predicted_points_without_truth():
    y_true = np.zeros((3, 30))
    y_true[1, [4, 5, 7]] = np.nan  # two points lack their truth
    y_pred = np.ones((3, 30))
    y_pred[2, :] = np.nan
    y_pred[2, :4] = 1.0  # a run that predicts two points
    y_true[2, 2:] = np.nan
    assert missing_points(y_true, y_pred).tolist() == [0, 2, 1]


def test_worst_faces_skip_and_count_missing_keypoints(tmp_path, monkeypatch):
    import evaluation.pictures as pictures
    y_true = np.full((3, 30), 40.0)
    y_true[0, 4:] = np.nan  # face 0 has two of its 15 points
    y_pred = y_true + np.array([[1.0], [2.0], [3.0]])
    y_pred[0] = 41.0
    drawn = {}
    monkeypatch.setattr(pictures, 'face_grid', lambda images, t, p, path,
                        titles=None, suptitle=None: drawn.update(titles=titles))
    order = worst_faces(np.zeros((3, 96, 96)), y_true, y_pred,
                        str(tmp_path / 'w.png'))
    assert list(order) == [2, 1, 0]
    assert drawn['titles'] == ['row 2: 3.0 px', 'row 1: 2.0 px',
                               'row 0: 1.0 px, 13 missing']
