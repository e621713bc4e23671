"""FGSM and PGD against the same attacks written in PyTorch, their constraints, fooling
images, robust accuracy and adversarial batches."""

import numpy as np
import pytest

import fovea
from fovea import nn, viz
from oracle import needs_torch
from viz._nets import convnet, to_torch

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def _pixels(n=4, seed=2):
    return np.random.default_rng(seed).uniform(0, 1, (n, 2, 8, 8))


def _torch_loss_grad(tnet, x, y):
    xt = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(tnet(xt), torch.tensor(y), reduction="sum")
    (g,) = torch.autograd.grad(loss, xt)
    return g.numpy()


@needs_torch
@pytest.mark.parametrize("targeted", [False, True])
def test_fgsm_matches_pytorch(targeted):
    net, x, y = convnet(), _pixels(), np.array([0, 1, 2, 3])
    g = _torch_loss_grad(to_torch(net), x, y)
    want = np.clip(x + (-0.1 if targeted else 0.1) * np.sign(g), 0, 1)
    np.testing.assert_allclose(viz.fgsm(net, x, y, 0.1, targeted=targeted), want, atol=1e-15)


@needs_torch
@pytest.mark.parametrize("norm", ["inf", "2"])
def test_pgd_without_random_start_matches_pytorch(norm):
    net, x, y = convnet(), _pixels(), np.array([4, 3, 2, 1])
    tnet = to_torch(net)
    eps, alpha = (0.05, 0.02) if norm == "inf" else (0.5, 0.2)
    delta = np.zeros_like(x)
    for _ in range(5):
        g = _torch_loss_grad(tnet, x + delta, y)
        if norm == "inf":
            delta = np.clip(delta + alpha * np.sign(g), -eps, eps)
        else:
            gn = np.sqrt((g ** 2).sum((1, 2, 3), keepdims=True))
            delta = delta + alpha * g / gn
            dn = np.sqrt((delta ** 2).sum((1, 2, 3), keepdims=True))
            delta = delta * np.minimum(1, eps / dn)
        delta = np.clip(x + delta, 0, 1) - x
    got = viz.pgd(net, x, y, eps, alpha=alpha, steps=5, norm=norm, random_start=False)
    np.testing.assert_allclose(got, x + delta, atol=1e-12)


@pytest.mark.parametrize("norm", ["inf", "2"])
def test_pgd_stays_in_the_ball_and_raises_the_loss_more_than_fgsm(norm):
    net, x, y = convnet(), _pixels(8), np.arange(8) % 5
    eps = 0.1 if norm == "inf" else 1.0
    adv = viz.pgd(net, x, y, eps, steps=10, norm=norm, generator=np.random.default_rng(1))
    d = (adv - x).reshape(8, -1)
    size = np.abs(d).max(1) if norm == "inf" else np.sqrt((d ** 2).sum(1))
    assert (size <= eps + 1e-9).all() and adv.min() >= 0 and adv.max() <= 1
    loss = lambda a: float(fovea.nn.functional.cross_entropy(  # noqa: E731
        net(fovea.tensor(a)), fovea.tensor(y)).item())
    assert loss(adv) > loss(x)
    if norm == "inf":
        assert loss(adv) >= loss(viz.fgsm(net, x, y, eps)) - 1e-9


def test_targeted_pgd_reaches_the_target_class():
    net, x = convnet(), _pixels(6)
    adv = viz.pgd(net, x, np.full(6, 2), 0.5, steps=30, targeted=True)
    with fovea.no_grad():
        assert (net(fovea.tensor(adv)).numpy().argmax(1) == 2).mean() >= 5 / 6


def test_fooling_image_is_classified_as_the_target_with_a_small_change():
    net, x = convnet(), _pixels(1)
    with fovea.no_grad():
        start = int(net(fovea.tensor(x)).numpy().argmax())
    target = (start + 1) % 5
    fool, steps = viz.fooling_image(net, x, target, step=0.05)
    with fovea.no_grad():
        assert int(net(fovea.tensor(fool)).numpy().argmax()) == target
    assert steps >= 1 and np.abs(fool - x).max() < 0.5
    with pytest.raises(RuntimeError, match="fooling_image"):
        viz.fooling_image(net, x, target, step=1e-6, max_steps=2)


def test_robust_accuracy_falls_with_eps_and_starts_at_the_clean_accuracy():
    net, x = convnet(), _pixels(16)
    with fovea.no_grad():
        y = net(fovea.tensor(x)).numpy().argmax(1)  # all right when clean
    acc = viz.robust_accuracy(net, x, y, [0, 0.02, 0.2], batch_size=5)
    assert acc[0.0] == 1.0 and acc[0.0] >= acc[0.02] >= acc[0.2] and acc[0.2] < 0.5
    with pytest.raises(ValueError, match="attack must be"):
        viz.robust_accuracy(net, x, y, [0.1], attack="cw")


def test_normalized_model_and_adversarial_batches():
    net = convnet()
    wrapped = viz.Normalized(net, [0.5, 0.2], [0.25, 2.0])
    x = _pixels(2)
    z = (x - np.array([0.5, 0.2]).reshape(1, 2, 1, 1)) / np.array([0.25, 2.0]).reshape(1, 2, 1, 1)
    with fovea.no_grad():
        np.testing.assert_allclose(wrapped(fovea.tensor(x)).numpy(), net(fovea.tensor(z)).numpy(),
                                   rtol=1e-6)
    loader = [(fovea.tensor(_pixels(4, s)), fovea.tensor(np.arange(4))) for s in range(2)]
    batches = list(viz.AdversarialBatches(loader, net, eps=0.1, fraction=0.5))
    assert len(batches) == 2
    xb, yb = batches[0]
    np.testing.assert_allclose(xb.numpy()[:2], viz.fgsm(net, _pixels(4, 0)[:2], [0, 1], 0.1))
    np.testing.assert_allclose(xb.numpy()[2:], _pixels(4, 0)[2:])
    assert isinstance(wrapped, nn.Module) and yb.tolist() == [0, 1, 2, 3]
