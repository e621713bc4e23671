"""Adebayo et al.'s model-randomisation test, automated: the gradient and Grad-CAM change
when the weights are re-drawn, the edge detector does not."""

import functools

import numpy as np
import pytest

from fovea import viz
from viz._nets import convnet, images


def test_rank_correlation_is_spearman():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 4, 5))
    got = viz.rank_correlation(a, b, absolute=False)
    want = [stats.spearmanr(a[i].ravel(), b[i].ravel())[0] for i in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(viz.rank_correlation(a, -a), 1.0)  # magnitudes by default
    np.testing.assert_allclose(viz.rank_correlation(a, -a, absolute=False), -1.0)


def test_randomized_layers_go_top_down_and_leave_the_model_alone():
    net = convnet()
    before = [p._data.copy() for p in net.parameters()]
    names = [n for n, _ in viz.randomized_layers(net)]
    assert names == ["6", "3", "0"]
    assert all((p._data == b).all() for p, b in zip(net.parameters(), before))
    steps = list(viz.randomized_layers(net, cascade=True))
    last = steps[-1][1]
    assert all((p._data != b).any() for p, b in zip(last.parameters(), before))
    single = list(viz.randomized_layers(net, cascade=False))[-1][1]  # only layer "0" redrawn
    changed = [(p._data != b).any() for p, b in zip(single.parameters(), before)]
    assert changed == [True, True, False, False, False, False]


@pytest.mark.parametrize("method", [
    viz.saliency,
    viz.input_gradient,
    functools.partial(viz.grad_cam, layer="4"),
], ids=["saliency", "gradient", "grad_cam"])
def test_model_dependent_methods_pass_the_randomisation_test(method):
    net, x = convnet(seed=3, size=12), images(n=6, size=12)
    rho = dict(viz.cascading_randomization(net, method, x))
    assert rho["6"] < 0.9 and rho["0"] < 0.5, rho


def test_the_edge_detector_fails_it_as_it_should():
    net, x = convnet(seed=3, size=12), images(n=6, size=12)
    rho = dict(viz.cascading_randomization(net, viz.edge_map, x))
    assert all(v == pytest.approx(1.0) for v in rho.values())
