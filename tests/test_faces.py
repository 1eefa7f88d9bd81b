"""The procedural cartoon-face dataset."""

from __future__ import annotations

import itertools

import numpy as np
from PIL import Image

from tfgan.faces import draw_face, make_faces


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
