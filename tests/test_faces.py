"""The procedural cartoon-face dataset."""

from __future__ import annotations

import colorsys
import itertools

import numpy as np
from PIL import Image

from tfgan.data import faces
from tfgan.data.faces import draw_face, make_faces, make_labelled_faces


def test_shape_and_dtype():
    x = make_faces(5, image_size=32, seed=1)
    assert x.shape == (5, 32, 32, 3)
    assert x.dtype == np.uint8


def test_draw_face_returns_rgb_image_of_the_requested_size():
    im = draw_face(np.random.default_rng(0), size=48)
    assert isinstance(im, Image.Image)
    assert im.mode == "RGB" and im.size == (48, 48)


def test_same_seed_same_faces():
    np.testing.assert_array_equal(make_faces(6, seed=3), make_faces(6, seed=3))


def test_first_faces_do_not_depend_on_n():
    np.testing.assert_array_equal(make_faces(3, seed=3), make_faces(8, seed=3)[:3])


def test_different_seeds_differ():
    a, b = make_faces(4, seed=0), make_faces(4, seed=1)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 20


def test_faces_are_varied():
    x = make_faces(12, seed=0).astype(np.float32)
    diffs = [np.abs(x[i] - x[j]).mean() for i, j in itertools.combinations(range(len(x)), 2)]
    # Every pair differs visibly (background, hair, skin...), none is a copy.
    assert min(diffs) > 15
    assert np.mean(diffs) > 35


def test_faces_use_the_value_range():
    x = make_faces(16, seed=2)
    assert x.min() < 40 and x.max() > 240  # dark lashes and pupils, white highlights
    assert x.std() > 40
    # Colour, not grey: the channels differ noticeably on average.
    rgb = x.reshape(-1, 3).astype(int)
    assert np.abs(rgb[:, 0] - rgb[:, 2]).mean() > 15


def test_a_face_is_centred_on_a_face_coloured_region():
    # The middle of the picture (between the eyes, above the mouth) is skin:
    # warm (red >= blue) and fairly bright, in every face.
    x = make_faces(20, seed=5).astype(int)
    centre = x[:, 34:38, 30:34].mean(axis=(1, 2))
    assert (centre[:, 0] >= centre[:, 2]).all()
    assert (centre.mean(axis=1) > 120).all()


def test_labelled_faces_return_one_attribute_of_each_kind_per_face():
    x, attributes = make_labelled_faces(40, image_size=32, seed=4)
    np.testing.assert_array_equal(x, make_faces(40, image_size=32, seed=4))  # the same pictures
    assert set(attributes) == set(faces.ATTRIBUTES) == {"hair_color", "hair_style", "eye_color"}
    for name, values in attributes.items():
        assert values.shape == (40,)
        low = -1 if name == "eye_color" else 0  # -1: eyes drawn closed
        assert values.min() >= low and values.max() < len(faces.ATTRIBUTES[name])
    assert len(np.unique(attributes["hair_color"])) >= 8  # drawn at random, not stuck on one value


def test_hair_colour_label_matches_the_drawn_hair():
    # The crown of the head, above the fringe, is hair in every style: its median colour must be
    # nearest to the centre colour of the labelled hair colour, for every face.
    x, attributes = make_labelled_faces(120, image_size=64, seed=7)
    centres = np.array([colorsys.hsv_to_rgb(*hsv) for hsv in faces._HAIR_HSV]) * 255
    crown = np.median(x[:, 12:18, 27:37].reshape(len(x), -1, 3), axis=1)
    nearest = np.argmin(((crown[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(nearest, attributes["hair_color"])
    # One fixed face, by name: seed 0's first face has pink hair in a bob.
    _, first = make_labelled_faces(1, seed=0)
    assert faces.HAIR_COLORS[first["hair_color"][0]] == "pink"
    assert faces.HAIR_STYLES[first["hair_style"][0]] == "bob"
