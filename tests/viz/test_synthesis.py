"""Images made from networks: each objective improves, the Gram loss of a stylised image
approaches the style's, and the building blocks match direct formulas."""

import numpy as np
import pytest

import fovea
from fovea import viz
from viz._nets import convnet


def _net32(size=8):
    return convnet(size=size).float()


def test_gram_matrix_and_total_variation_match_numpy():
    f = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    g = viz.gram_matrix(fovea.tensor(f)).numpy()
    np.testing.assert_allclose(g, np.einsum("nchw,ndhw->ncd", f, f) / 60, rtol=1e-12)
    tv = viz.total_variation(fovea.tensor(f)).item()
    want = (np.diff(f, axis=2) ** 2).sum() + (np.diff(f, axis=3) ** 2).sum()
    assert tv == pytest.approx(want, rel=1e-12)


def test_dct_basis_is_scipys_orthonormal_dct():
    fft = pytest.importorskip("scipy.fft")
    d = viz.dct_basis(7)
    np.testing.assert_allclose(d @ d.T, np.eye(7), atol=1e-12)
    x = np.random.default_rng(0).standard_normal(7)
    np.testing.assert_allclose(d @ x, fft.dct(x, norm="ortho"), atol=1e-12)


@pytest.mark.parametrize("decorrelated", [False, True])
def test_class_visualization_raises_the_class_score(decorrelated):
    img, hist = viz.class_visualization(_net32(), 3, (2, 8, 8), steps=40, lr=0.05,
                                        decorrelated=decorrelated)
    assert img.shape == (1, 2, 8, 8) and img.min() >= 0 and img.max() <= 1
    s = hist["score"]
    assert np.mean(s[-5:]) > s[0] + 1.0
    with fovea.no_grad():
        assert int(_net32()(fovea.tensor(img)).numpy().argmax()) == 3


def test_feature_inversion_reduces_the_feature_loss():
    x = np.random.default_rng(0).uniform(0, 1, (1, 2, 8, 8)).astype(np.float32)
    rec, hist = viz.feature_inversion(_net32(), x, "1", steps=60, lr=0.05, tv_weight=1e-4)
    assert hist["feature"][-1] < 0.3 * hist["feature"][0]
    assert np.abs(rec - x).mean() < np.abs(0.5 - x).mean()  # closer than a grey image


def test_deep_dream_amplifies_the_layer():
    x = np.random.default_rng(0).uniform(0.3, 0.7, (1, 2, 12, 12)).astype(np.float32)
    out, hist = viz.deep_dream(_net32(size=12), x, "4", octaves=2, steps=8)
    a = hist["activation"]
    assert out.shape == x.shape and a[7] > a[0] and a[-1] > a[8]


def _style_images():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16]
    stripes = (0.5 + 0.4 * np.sin(xx * 0.8))[None, None].repeat(3, 1).astype(np.float32)
    blob = np.exp(-((yy - 8) ** 2 + (xx - 6) ** 2) / 20.0)  # a smooth photo-like content
    content = (0.1 + 0.8 * blob * rng.uniform(0.8, 1, (1, 3, 1, 1))).astype(np.float32)
    return content, stripes


def test_style_transfer_lowers_each_term_and_the_gram_loss_nears_the_styles():
    net = viz.MultiscaleRandomNet(3, kernel_sizes=(3, 5), width=8)
    content, style = _style_images()
    img, hist = viz.style_transfer(net, content, style, content_weight=1.0, style_weight=5.0,
                                   tv_weight=1e-3, steps=80, lr=0.03, init="noise")
    for term in ("content", "style", "tv", "total"):
        assert hist[term][-1] < hist[term][0], term
    assert hist["style"][-1] < 0.2 * hist["style"][0]
    # Directly: the result's Gram matrices are closer to the style's than the content's are.
    with fovea.no_grad():
        def gram_dist(a):
            fs = viz.layer_outputs(net, fovea.tensor(a), net.layers)
            ft = viz.layer_outputs(net, fovea.tensor(style), net.layers)
            return sum(float(((viz.gram_matrix(f) - viz.gram_matrix(t)) ** 2).sum().item())
                       for f, t in zip(fs, ft))
        assert gram_dist(img) < 0.3 * gram_dist(content)


def test_style_transfer_with_lbfgs_and_texture_synthesis():
    net = viz.MultiscaleRandomNet(3, kernel_sizes=(3, 5), width=8)
    content, style = _style_images()
    _, hist = viz.style_transfer(net, content, style, steps=25, optimizer="lbfgs",
                                 init="noise")
    assert hist["total"][-1] < 0.5 * hist["total"][0]
    tex, hist = viz.texture_synthesis(net, style, shape=(3, 12, 12), steps=60, lr=0.03)
    assert tex.shape == (1, 3, 12, 12) and hist["style"][-1] < 0.2 * hist["style"][0]
    assert hist["content"] == [0.0] * 60
    with pytest.raises(ValueError, match="optimizer"):
        viz.style_transfer(net, content, style, optimizer="sgd")
