import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.transform import rescale

from errors import UserError
from data_prep.synthetic import make_faces
from evaluation import faces_in_photo as fip


@pytest.fixture(scope='module')
def astronaut_boxes():
    return fip.detect_faces(fip.to_grey(data.astronaut()))


def test_astronaut_has_exactly_one_face_where_her_face_is(astronaut_boxes):
    assert len(astronaut_boxes) == 1
    x, y, width, height = astronaut_boxes[0]
    # Her eyes are at about (202, 100) and (245, 103) in the 512x512 photo.
    assert x < 202 and x + width > 245 and y < 100 < y + height
    assert 70 < width < 130


@pytest.mark.parametrize('name', ['coffee', 'chelsea', 'rocket'])
def test_no_face_in_photos_without_people(name):
    assert fip.detect_faces(fip.to_grey(getattr(data, name)())) == []


def test_crop_puts_astronauts_eyes_where_kaggles_are(astronaut_boxes):
    # Eye centres located by hand in the photo; the crop must frame them as
    # Kaggle's training faces (inter-ocular ~39 px, midpoint ~(48.3, 37.8)).
    left, top, side = fip.crop_square(astronaut_boxes[0], fip.KAGGLE_FRAMING)
    scale = side / 96
    eyes = (np.array([[202.0, 100.0], [245.0, 103.0]])
            - [left, top]) / scale - 0.5
    middle = eyes.mean(axis=0)
    assert abs(middle[0] - 48.3) < 4 and abs(middle[1] - 37.8) < 4
    assert 39 * 0.85 < eyes[1, 0] - eyes[0, 0] < 39 * 1.25


def test_framing_follows_the_training_faces():
    _, keypoints = make_faces(50, seed=4)
    framing = fip.framing_of(keypoints)
    iod = np.hypot(keypoints[:, 0] - keypoints[:, 2],
                   keypoints[:, 1] - keypoints[:, 3])
    assert framing.iod == pytest.approx(np.median(iod))
    assert 40 < framing.eye_x < 56 and 20 < framing.eye_y < 45
    box = (100.0, 40.0, 120.0, 120.0)
    wide = fip.crop_square(box, fip.Framing(20.0, 48.0, 40.0))
    close = fip.crop_square(box, fip.Framing(40.0, 48.0, 40.0))
    assert wide[2] == pytest.approx(2 * close[2])  # half the iod: twice the side
    with pytest.raises(UserError, match='eye centres'):
        fip.framing_of(np.full((3, 30), np.nan))


def test_crop_and_map_back_round_trip():
    # A synthetic face drawn 3x larger at (150, 60) in a bigger photo: its
    # square's crop is the face again and its keypoints map back onto it.
    images, keypoints = make_faces(1, seed=7)
    big = np.kron(images[0] / 255.0, np.ones((3, 3)))
    photo = np.full((500, 600), 0.5)
    photo[60:60 + 288, 150:150 + 288] = big
    square = (149.5, 59.5, 288.0)  # the face's pixel edges, centre convention
    crop = fip.crop_faces(photo, [square])
    assert crop.shape == (1, 1, 96, 96) and crop.dtype == np.float32
    assert np.abs(crop[0, 0] - images[0] / 255.0).mean() < 0.03
    mapped = fip.to_photo_pixels(keypoints, [square])
    # 96-px pixel k covers photo pixels 150 + 3k .. 152 + 3k: centre 151 + 3k
    np.testing.assert_allclose(mapped[0, 0::2], 151 + 3 * keypoints[0, 0::2])
    np.testing.assert_allclose(mapped[0, 1::2], 61 + 3 * keypoints[0, 1::2])


def test_crop_beyond_the_edge_repeats_edge_pixels():
    photo = np.tile(np.linspace(0, 1, 50), (50, 1))  # brighter to the right
    crop = fip.crop_faces(photo, [(29.5, -20.5, 96.0)])[0, 0]
    assert np.allclose(crop[:, 40:], 1.0)  # beyond the right edge
    assert np.allclose(crop[:, 0], photo[0, 30], atol=1e-6)  # pixel 30 centred


def test_read_photo_colour_grey_transparent_and_bad(tmp_path):
    rgb = data.astronaut()[:40, :60]
    Image.fromarray(rgb).save(tmp_path / 'rgb.jpg')
    Image.fromarray(rgb[..., 0]).save(tmp_path / 'grey.png')
    rgba = np.dstack([rgb, np.zeros(rgb.shape[:2], np.uint8)])
    Image.fromarray(rgba).save(tmp_path / 'clear.png')
    (tmp_path / 'notes.png').write_text('not an image')
    assert fip.read_photo(str(tmp_path / 'rgb.jpg')).shape == (40, 60, 3)
    grey = fip.read_photo(str(tmp_path / 'grey.png'))
    assert grey.shape == (40, 60) and np.array_equal(grey, rgb[..., 0])
    assert (fip.read_photo(str(tmp_path / 'clear.png')) == 255).all()
    with pytest.raises(UserError, match='notes.png: not a readable image'):
        fip.read_photo(str(tmp_path / 'notes.png'))
    with pytest.raises(UserError, match='no such photo'):
        fip.read_photo(str(tmp_path / 'absent.jpg'))


def test_exif_orientation_is_applied(tmp_path):
    wide = np.zeros((20, 60, 3), np.uint8)
    image = Image.fromarray(wide)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    image.save(tmp_path / 'phone.jpg', exif=exif)
    assert fip.read_photo(str(tmp_path / 'phone.jpg')).shape == (60, 20, 3)


def test_large_photos_are_searched_downscaled():
    # The astronaut at 2.5x (1280 px) is searched at 1024 px; same face.
    grey = fip.to_grey(data.astronaut())
    big = rescale(grey, 2.5, order=1)
    boxes = fip.detect_faces(big)
    assert len(boxes) == 1
    small = fip.detect_faces(grey)[0]
    assert boxes[0][0] == pytest.approx(2.5 * small[0] + 0.75, abs=15)
    assert boxes[0][2] == pytest.approx(2.5 * small[2], rel=0.15)
