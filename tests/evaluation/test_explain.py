"""evaluation.explain and predict.py explain: saliency where the marks are, pictures, errors."""
import json
import os

import numpy as np
import pytest
from skimage import io

import predict
from data_prep.keypoints import KEYPOINT_COLUMNS
from evaluation import explain
from evaluation.trained_net import predict_px
from training.run import build

#: 15 mark centres on a 5 x 3 grid, 17 and 26 px apart.
_GX, _GY = np.meshgrid(np.arange(5) * 17 + 14, np.arange(3) * 26 + 22)
BASE = np.stack([_GX.ravel(), _GY.ravel()], axis=1).astype(np.float64)
OFFSET = 100.0  # keeps the hidden units in ReLU's linear part


def marked_faces(n, seed):
    """Black 96x96 faces whose 15 keypoints are drawn as 3x3 white marks,
    each moved up to 2 px from its place on the grid; keypoints (n, 30)."""
    rng = np.random.RandomState(seed)
    points = BASE[None] + rng.randint(-2, 3, size=(n, 15, 2))
    images = np.zeros((n, 96, 96), np.float32)
    for image, face in zip(images, points.astype(int)):
        for x, y in face:
            image[y - 1:y + 2, x - 1:x + 2] = 1.0
    return images, points.reshape(n, 30)


@pytest.fixture(scope='module')
def localizer():
    """net1 (30 hidden units) trained on marked faces: its first layer is the
    ridge regression of the keypoints on the pixels (closed form, which is
    what gradient descent on this linear problem converges to), the hidden
    units pass it on and the output layer scales it as the nets' targets
    are, (y - 48) / 48."""
    images, keypoints = marked_faces(400, seed=0)
    A = images.reshape(len(images), -1).astype(np.float64)
    a_mean, y_mean = A.mean(axis=0), keypoints.mean(axis=0)
    A, y = A - a_mean, keypoints - y_mean
    W = A.T @ np.linalg.solve(A @ A.T + np.eye(len(A)), y)
    net = build('net1', 0, net_overrides={'hidden_num_units': 30})
    net.initialize()
    hidden, output = net.layers_['hidden'], net.layers_['output']
    hidden.W.set_value(W.astype(np.float32))
    hidden.b.set_value((y_mean - a_mean @ W + OFFSET).astype(np.float32))
    output.W.set_value((np.eye(30) / 48).astype(np.float32))
    output.b.set_value(np.full(30, -(OFFSET + 48) / 48, np.float32))
    return net


def test_the_localizer_finds_the_marks(localizer):
    images, keypoints = marked_faces(20, seed=1)
    error = predict_px(localizer, images[:, None]) - keypoints
    assert np.sqrt((error ** 2).mean()) < 0.5


def test_most_saliency_lies_near_each_keypoint_s_own_mark(localizer):
    images, keypoints = marked_faces(3, seed=2)
    for image, face in zip(images, keypoints):
        maps = explain.saliency_maps(localizer, image)
        assert sorted(maps) == sorted(explain.POINTS)
        for p, name in enumerate(explain.POINTS):
            mark = face[2 * p:2 * p + 2]
            share = explain.mass_near(maps[name], mark, radius=6)
            assert share > 0.6, (name, share)
            # and it is this keypoint's mark, not a neighbour's
            others = [explain.mass_near(maps[name], face[2 * q:2 * q + 2], 6)
                      for q in range(15) if q != p]
            assert share > 5 * max(others), name


def test_saliency_is_the_gradient_of_the_keypoint_s_outputs(localizer):
    # A finite difference at one pixel of the left eye's mark.
    image = marked_faces(1, seed=3)[0][0]
    maps = explain.saliency_maps(localizer, image)
    x, y = (int(v) for v in marked_faces(1, seed=3)[1][0, :2])
    bumped = image.copy()
    bumped[y, x] += 0.5
    step = (predict_px(localizer, bumped[None, None])
            - predict_px(localizer, image[None, None]))[0, :2] / 0.5
    assert maps['left_eye_center'][y, x] == pytest.approx(
        np.hypot(*step), rel=1e-2)


def test_mass_near_of_an_empty_map_is_nan():
    assert np.isnan(explain.mass_near(np.zeros((96, 96)), (48, 48)))


def test_net1_has_no_convolution_to_show(localizer):
    assert explain.first_conv_filters(localizer) == (None, None)
    assert explain.mean_activations(localizer, np.zeros((96, 96))) == []


def test_a_conv_net_s_filters_and_activation_maps():
    net = build('net6', 0, net_overrides={
        'conv1_num_filters': 4, 'conv2_num_filters': 2, 'conv3_num_filters': 2,
        'hidden4_num_units': 4, 'hidden5_num_units': 4})
    net.initialize()
    name, filters = explain.first_conv_filters(net)
    assert name == 'conv1' and filters.shape == (4, 1, 3, 3)
    maps = explain.mean_activations(net, np.random.RandomState(0).rand(96, 96))
    assert [n for n, _ in maps] == ['conv1', 'conv2', 'conv3']
    assert maps[0][1].shape == (94, 94)  # 96 - 3 + 1
    saliency = explain.saliency_maps(net, np.random.RandomState(0).rand(96, 96))
    assert len(saliency) == 15 and saliency['nose_tip'].shape == (96, 96)


def test_explain_writes_a_new_folder_inside_the_run(tiny_run, tmp_path):
    first = predict.explain(tiny_run, valid=2)
    folder = os.path.join(tiny_run, 'explain-valid2')
    assert sorted(os.listdir(folder)) == [
        'explain.json', 'saliency.npz', 'saliency.png']  # net1: no conv
    summary = json.load(open(os.path.join(folder, 'explain.json')))
    assert summary == json.loads(json.dumps(first))
    assert set(summary['saliency_share_near_prediction']) == set(explain.POINTS)
    predict.explain(tiny_run, valid=2)  # again: beside it, not over it
    assert os.path.isdir(folder + '-2')
    image = tmp_path / 'face.png'
    io.imsave(str(image), (np.random.RandomState(0).rand(96, 96) * 255)
              .astype(np.uint8))
    out = tmp_path / 'mine'
    predict.explain(tiny_run, str(image), out=str(out))
    with np.load(str(out / 'saliency.npz')) as saved:
        assert saved['maps'].shape == (15, 96, 96)
        assert saved['predicted_px'].shape == (len(KEYPOINT_COLUMNS),)


@pytest.mark.parametrize('args, message', [
    (['explain', '{run}', '--valid', '0'], 'validation faces 1 to 40'),
    (['explain', '{run}', '{big}'], 'is 120x96 pixels; explain takes a 96x96'),
    (['explain', '{run}', '{big}', '--valid', '1'], 'not both'),
    (['explain', '{run}', '{missing}'], 'no such photo'),
    (['explain', '{nothing}'], 'no such run folder'),
    (['explain', '{run}', '--out', '{run}'], 'exists'),
])
def test_explain_errors_are_one_line(tiny_run, tmp_path, capsys, args,
                                     message):
    big = tmp_path / 'big.png'
    io.imsave(str(big), np.zeros((96, 120), np.uint8), check_contrast=False)
    names = dict(run=tiny_run, big=str(big), missing=str(tmp_path / 'no.png'),
                 nothing=str(tmp_path / 'none'))
    before = sorted(os.listdir(tiny_run))
    assert predict.main([a.format(**names) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err
    assert err.count('\n') == 1
    assert sorted(os.listdir(tiny_run)) == before
