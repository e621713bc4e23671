"""HOG and HSV colour histograms: against loop-per-pixel references written from the
definitions, worked examples, and a linear classifier trained on features."""

import colorsys
import functools
import math

import numpy as np
import pytest

from fovea.classic import (
    Softmax,
    Standardizer,
    append_bias,
    color_histogram_hsv,
    extract_features,
    hog_features,
    rgb_to_gray,
)


def _hog_reference(image, cell, bins, block, eps=1e-5):
    """One image (C, H, W), pixel by pixel, straight from the docstring's five steps."""
    if image.shape[0] == 3:
        g = 0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]
    else:
        g = image[0]
    H, W = g.shape
    ch, cw = H // cell, W // cell
    hist = np.zeros((ch, cw, bins))
    width = 180.0 / bins
    for r in range(ch * cell):
        for c in range(cw * cell):
            gx = g[r, min(c + 1, W - 1)] - g[r, max(c - 1, 0)]
            gy = g[max(r - 1, 0), c] - g[min(r + 1, H - 1), c]
            mag = math.hypot(gx, gy)
            theta = math.degrees(math.atan2(gy, gx)) % 180.0
            pos = theta / width - 0.5
            b0 = math.floor(pos)
            frac = pos - b0
            hist[r // cell, c // cell, b0 % bins] += (1 - frac) * mag
            hist[r // cell, c // cell, (b0 + 1) % bins] += frac * mag
    out = []
    for br in range(ch - block + 1):
        for bc in range(cw - block + 1):
            v = hist[br:br + block, bc:bc + block].reshape(-1)
            v = v / math.sqrt(np.sum(v * v) + eps ** 2)
            v = np.minimum(v, 0.2)
            out.append(v / math.sqrt(np.sum(v * v) + eps ** 2))
    return np.concatenate(out)


@pytest.mark.parametrize("shape, cell, bins, block", [
    ((3, 16, 16), 4, 9, 2), ((1, 8, 8), 2, 9, 2), ((3, 13, 10), 3, 6, 1), ((1, 12, 12), 4, 4, 3),
])
def test_hog_matches_a_pixel_by_pixel_reference(rng, shape, cell, bins, block):
    images = rng.random((3,) + shape)
    ours = hog_features(images, cell_size=cell, num_bins=bins, block_size=block)
    ref = np.stack([_hog_reference(im, cell, bins, block) for im in images])
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_hog_of_a_vertical_edge_votes_at_0_degrees_and_of_a_horizontal_edge_at_90():
    vertical = np.zeros((1, 1, 8, 8))
    vertical[..., 4:] = 1.0                 # dark left, bright right: gradient points right
    f = hog_features(vertical, cell_size=8, num_bins=9, block_size=1)
    # 0° lies halfway between the centres of bin 0 (10°) and bin 8 (170°).
    expected = np.zeros(9)
    expected[[0, 8]] = 1 / math.sqrt(2)
    np.testing.assert_allclose(f[0], expected, atol=1e-6)
    horizontal = np.zeros((1, 1, 8, 8))
    horizontal[..., 4:, :] = 1.0            # bright bottom: gradient points down, 90° unsigned
    f = hog_features(horizontal, cell_size=8, num_bins=9, block_size=1)
    expected = np.zeros(9)
    expected[4] = 1.0                        # bin 4 is centred on 90°
    np.testing.assert_allclose(f[0], expected, atol=1e-6)


def test_hog_of_a_flat_image_is_zero_and_hog_ignores_contrast(rng):
    np.testing.assert_array_equal(hog_features(np.full((1, 1, 16, 16), 0.3), cell_size=4), 0)
    img = rng.random((2, 3, 16, 16))
    np.testing.assert_allclose(hog_features(img * 0.5, cell_size=4),
                               hog_features(img, cell_size=4), atol=1e-6)


def test_hog_default_descriptor_size_for_cifar_sized_images(rng):
    # 32 / 8 = 4 cells a side, 3 × 3 blocks of 2 × 2 cells × 9 bins.
    assert hog_features(rng.random((2, 3, 32, 32))).shape == (2, 324)
    assert hog_features(rng.random((2, 32, 32))).shape == (2, 324)


def _hsv_reference(image, nbin, channels):
    pixels = image.reshape(3, -1).T
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in pixels])
    out = []
    for c in channels:
        counts = np.zeros(nbin)
        for v in hsv[:, "hsv".index(c)]:
            counts[min(int(math.floor(v * nbin)), nbin - 1)] += 1
        out.append(counts / len(pixels))
    return np.concatenate(out)


@pytest.mark.parametrize("nbin, channels", [(10, "h"), (7, "hsv"), (4, "sv")])
def test_color_histogram_matches_a_colorsys_reference(rng, nbin, channels):
    images = rng.random((3, 3, 6, 5))
    images[0, :, 0, 0] = [0.5, 0.5, 0.5]   # grey pixel: hue and saturation 0
    ours = color_histogram_hsv(images, nbin=nbin, channels=channels)
    ref = np.stack([_hsv_reference(im, nbin, channels) for im in images])
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    np.testing.assert_allclose(ours.reshape(3, len(channels), nbin).sum(-1), 1.0)


def test_color_histogram_of_pure_colours():
    red = np.zeros((1, 3, 2, 2))
    red[:, 0] = 1
    blue = np.zeros((1, 3, 2, 2))
    blue[:, 2] = 1
    h = color_histogram_hsv(np.concatenate([red, blue]), nbin=6)
    np.testing.assert_array_equal(h[0], [1, 0, 0, 0, 0, 0])   # hue 0
    np.testing.assert_array_equal(h[1], [0, 0, 0, 0, 1, 0])   # hue 2/3 -> bin 4 of 6


def test_extract_features_concatenates_and_is_independent_of_batch_size(rng):
    images = rng.random((7, 3, 16, 16))
    fns = [functools.partial(hog_features, cell_size=4), color_histogram_hsv]
    whole = extract_features(images, fns)
    assert whole.shape == (7, 324 + 10)
    np.testing.assert_allclose(whole[:, :324], hog_features(images, cell_size=4))
    np.testing.assert_allclose(whole[:, 324:], color_histogram_hsv(images))
    np.testing.assert_allclose(extract_features(images, fns, batch_size=3), whole)


def test_rgb_to_gray_uses_luma_weights():
    img = np.zeros((1, 3, 1, 1))
    img[0, :, 0, 0] = [1.0, 0.5, 0.25]
    assert rgb_to_gray(img)[0, 0, 0] == pytest.approx(0.299 + 0.587 / 2 + 0.114 / 4)


def test_a_softmax_classifier_trained_on_hog_features_of_digits(digits):
    hog = functools.partial(hog_features, cell_size=2)
    feats = [extract_features(x, [hog]) for x in
             (digits.images_train, digits.images_test)]
    prep = Standardizer(scale=True).fit(feats[0])
    Xtr, Xte = (append_bias(prep.transform(f)) for f in feats)
    clf = Softmax(seed=0)
    clf.train(Xtr, digits.y_train, learning_rate=0.05, reg=1e-4, num_iters=500)
    acc = np.mean(clf.predict(Xte) == digits.y_test)
    assert acc >= 0.93, acc


# ---------------------------------------------------------------------- errors
def test_bad_images_are_refused_with_the_argument_named(rng):
    with pytest.raises(ValueError, match=r"hog_features: images must have shape \(N, C, H, W\)"):
        hog_features(rng.random((2, 2, 8, 8)))
    with pytest.raises(ValueError, match="fewer than block_size=2"):
        hog_features(rng.random((2, 1, 8, 8)), cell_size=8)
    bad = rng.random((1, 3, 8, 8))
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        hog_features(bad, cell_size=2)
    with pytest.raises(ValueError, match="must be RGB"):
        color_histogram_hsv(rng.random((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        color_histogram_hsv(rng.random((1, 3, 4, 4)) * 255)
    with pytest.raises(ValueError, match="channels must be distinct letters"):
        color_histogram_hsv(rng.random((1, 3, 4, 4)), channels="hx")
    with pytest.raises(ValueError, match="returned shape"):
        extract_features(rng.random((2, 3, 4, 4)), [lambda im: np.zeros(3)])
    with pytest.raises(ValueError, match="non-empty list"):
        extract_features(rng.random((2, 3, 4, 4)), [])
