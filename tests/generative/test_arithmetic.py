"""Latent vector arithmetic: the attribute measures against hand-worked images, and the
direction found against a decoder whose attribute is a known function of the code."""

import numpy as np
import pytest

from fovea.generative.arithmetic import apply_attribute, attribute_vector, ink, slant, width


def test_ink_is_the_mean_intensity():
    imgs = np.zeros((2, 3, 4, 4))
    imgs[0] = 0.25
    imgs[1, :, 0, :] = 1.0  # one full row of four: 4/16 of the pixels
    np.testing.assert_allclose(ink(imgs), [0.25, 0.25])


def test_slant_of_a_sheared_line_is_its_shear():
    # one pixel per row at x = 8 + k·y: cov(x, y) / var(y) = k exactly
    for k in (-1, 0, 1, 2):
        img = np.zeros((1, 1, 8, 32))
        ys = np.arange(8)
        img[0, 0, ys, 8 + k * ys] = 1.0
        assert slant(img)[0] == pytest.approx(k, abs=1e-7)  # (var + 1e-8)


def test_width_of_two_dots_is_half_their_distance():
    img = np.zeros((1, 1, 8, 20))
    img[0, 0, 4, 3] = img[0, 0, 4, 13] = 1.0
    assert width(img)[0] == pytest.approx(5.0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        ink(np.zeros((4, 4)))


def _decoder(z):
    """Images whose brightness rises with z[:, 0] only (a known attribute direction)."""
    level = 0.5 + 0.4 * np.tanh(z[:, 0])
    return np.broadcast_to(level[:, None, None, None], (len(z), 1, 6, 6)).copy()


def test_the_direction_found_is_the_attributes_and_adding_it_raises_the_attribute():
    v, scores = attribute_vector(_decoder, 8, ink, n=4000, frac=0.1, rng=0)
    assert scores.shape == (4000,)
    cos = v[0] / np.linalg.norm(v)
    assert cos > 0.95  # the other 7 coordinates average out
    z = np.random.default_rng(1).standard_normal((5, 8)).astype(np.float32)
    images, codes = apply_attribute(_decoder, z, v, [-1.0, 0.0, 1.0])
    assert images.shape == (15, 1, 6, 6)
    np.testing.assert_allclose(codes[1::3], z)  # alpha 0 is the code itself
    by_alpha = ink(images).reshape(5, 3)
    assert (np.diff(by_alpha, axis=1) > 0).all()
    with pytest.raises(ValueError, match="frac"):
        attribute_vector(_decoder, 8, ink, frac=0.7)
