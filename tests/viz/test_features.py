"""Filters, activations, receptive fields, maximally activating patches, neighbours and
embeddings, each against a direct computation."""

import numpy as np
import pytest

import fovea
from fovea import nn, viz
from viz._nets import convnet, images


def test_first_layer_filters_are_the_first_conv_or_the_linear_templates():
    net = convnet()
    np.testing.assert_array_equal(viz.first_layer_filters(net), net[0].weight.detach().numpy())
    lin = nn.Sequential(nn.Flatten(), nn.Linear(2 * 8 * 8, 3))
    np.testing.assert_array_equal(viz.first_layer_filters(lin, (2, 8, 8))[1].ravel(),
                                  lin[1].weight.detach().numpy()[1])
    with pytest.raises(ValueError, match="image_shape"):
        viz.first_layer_filters(lin)


def test_activations_are_the_layer_output_in_batches():
    net, x = convnet(), images(n=5)
    with fovea.no_grad():
        want = net[:4](fovea.tensor(x)).numpy()
    np.testing.assert_allclose(viz.activations(net, x, "3", batch_size=2), want)
    assert viz.features(net, x, net[3]).shape == (5, 6 * 4 * 4)


def _avg_net():
    fovea.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                         nn.Conv2d(3, 2, 3, padding=0, stride=2), nn.ReLU()).double()


def test_receptive_field_is_where_the_gradient_of_a_unit_reaches():
    net = _avg_net()
    size, jump, start = viz.receptive_field(net, "3")
    assert (size, jump, start) == (8, 4, -1)
    x = fovea.tensor(np.random.default_rng(0).standard_normal((1, 1, 16, 16)),
                     requires_grad=True)
    out = net[:4](x)
    for i, j in [(1, 1), (2, 1)]:
        (g,) = fovea.grad(out[0, 0, i, j], x, retain_graph=True)
        rows, cols = np.nonzero(g.numpy()[0, 0])
        lo = start + np.array([i, j]) * jump
        assert (rows.min(), cols.min()) == tuple(np.maximum(lo, 0))
        assert (rows.max(), cols.max()) == tuple(lo + size - 1)
    with pytest.raises(ValueError, match="receptive_field"):
        viz.receptive_field(convnet(), "6")


def test_max_activating_patches_are_the_strongest_units_and_their_fields():
    net, x = _avg_net(), np.random.default_rng(1).standard_normal((7, 1, 16, 16))
    patches, values = viz.max_activating_patches(net, x, "4", channel=1, k=4)
    a = viz.activations(net, x, "4")[:, 1]
    per_image = a.reshape(7, -1).max(1)
    np.testing.assert_allclose(values, np.sort(per_image)[::-1][:4])
    n = int(np.argmax(per_image))
    i, j = np.unravel_index(a[n].argmax(), a[n].shape)
    padded = np.pad(x[n, 0], 9)
    y0, x0 = -1 + 4 * i + 9, -1 + 4 * j + 9
    np.testing.assert_array_equal(patches[0, 0], padded[y0:y0 + 8, x0:x0 + 8])
    assert patches.shape == (4, 1, 8, 8)


def test_nearest_neighbours_match_a_brute_force_sort():
    rng = np.random.default_rng(0)
    q, b = rng.standard_normal((4, 6)), rng.standard_normal((30, 6))
    d = ((q[:, None] - b[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(viz.nearest_neighbours(q, b, k=5), np.argsort(d, 1)[:, :5])


def test_pca_matches_scikit_learn_up_to_sign():
    decomposition = pytest.importorskip("sklearn.decomposition")
    x = np.random.default_rng(0).standard_normal((50, 8)) * np.arange(1, 9)
    want = decomposition.PCA(3).fit_transform(x)
    got = viz.pca(x, 3)
    np.testing.assert_allclose(np.abs(got), np.abs(want), rtol=1e-8, atol=1e-10)


def test_tsne_keeps_clusters_and_is_more_trustworthy_than_a_random_map():
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 20)) * 10
    labels = np.repeat(np.arange(3), 20)
    x = centres[labels] + rng.standard_normal((60, 20))
    emb = viz.tsne(x, perplexity=10)
    assert emb.shape == (60, 2)
    t = viz.trustworthiness(x, emb, k=5)
    assert t > 0.9 and t > viz.trustworthiness(x, rng.standard_normal((60, 2)), k=5) + 0.2
    near = viz.nearest_neighbours(emb, emb, k=4)[:, 1:]
    assert (labels[near] == labels[:, None]).mean() > 0.95


def test_thumbnail_grid_places_each_image_once():
    rng = np.random.default_rng(0)
    imgs = np.stack([np.full((1, 2, 2), v) for v in np.linspace(0.1, 0.9, 5)])
    emb = rng.uniform(size=(5, 2))
    out = viz.thumbnail_grid(emb, imgs, cells=4)
    assert out.shape == (8, 8, 1)
    tiles = out.reshape(4, 2, 4, 2).transpose(0, 2, 1, 3).reshape(16, 4)
    vals = sorted(t[0] for t in tiles if t[0] < 1)
    np.testing.assert_allclose(vals, np.linspace(0.1, 0.9, 5))


def test_image_helpers(tmp_path):
    grid = viz.image_grid(np.random.default_rng(0).standard_normal((5, 3, 4, 4)), ncols=3)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1, 3) and grid.min() >= 0 and grid.max() <= 1
    from PIL import Image

    p = viz.save_png(tmp_path / "g.png", grid, scale=2)
    assert Image.open(p).size == (2 * 16, 2 * 11)
    ov = viz.overlay(np.zeros((1, 4, 4)), np.eye(4))
    assert ov.shape == (4, 4, 3) and ov[0, 0, 0] > ov[0, 1, 0]
