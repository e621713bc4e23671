"""VAE and CVAE: the ELBO against a NumPy forward pass, the importance-weighted bound against
log p(x) by quadrature, conditional labels."""

import math

import numpy as np
import pytest

import fovea
from fovea.generative import CVAE, VAE


def _np_forward(model, x, eps, y=None):
    """-ELBO per image from the weights, by hand: Bernoulli reconstruction + analytic KL."""
    p = {k: v.detach().numpy().astype(np.float64) for k, v in model.state_dict().items()}
    xf = x.reshape(len(x), -1)
    inp = xf if y is None else np.concatenate([xf, np.eye(model.num_classes)[y]], 1)
    h = np.maximum(inp @ p["fc1.weight"].T + p["fc1.bias"], 0)
    mu, logvar = h @ p["fc21.weight"].T + p["fc21.bias"], h @ p["fc22.weight"].T + p["fc22.bias"]
    z = mu + eps * np.exp(0.5 * logvar)
    zin = z if y is None else np.concatenate([z, np.eye(model.num_classes)[y]], 1)
    logits = np.maximum(zin @ p["fc3.weight"].T + p["fc3.bias"], 0) @ p["fc4.weight"].T \
        + p["fc4.bias"]
    rec = (np.logaddexp(0, logits) - xf * logits).sum(1)        # BCE with logits
    kl = -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum(1)
    return rec, kl


@pytest.mark.parametrize("conditional", [False, True])
def test_negative_elbo_terms_match_a_forward_pass_by_hand(conditional):
    model = (CVAE((1, 4, 4), hidden=16, latent=3, num_classes=3) if conditional
             else VAE((1, 4, 4), hidden=16, latent=3)).double()
    x = np.random.default_rng(0).random((5, 1, 4, 4))
    y = np.array([0, 1, 2, 1, 0]) if conditional else None
    fovea.manual_seed(11)
    rec, kl = model.loss_terms(fovea.tensor(x), None if y is None else fovea.tensor(y))
    fovea.manual_seed(11)
    eps = fovea.randn(5, 3, dtype=fovea.float64).numpy()  # what rsample drew
    rec_np, kl_np = _np_forward(model, x, eps, y)
    np.testing.assert_allclose(rec.detach().numpy(), rec_np, rtol=1e-10)
    np.testing.assert_allclose(kl.detach().numpy(), kl_np, rtol=1e-10)
    total = model.loss(fovea.tensor(x), None if y is None else fovea.tensor(y))
    assert total.item() > 0 and math.isfinite(total.item())


def test_importance_weighted_bound_approaches_log_px_from_quadrature():
    # A 1-d latent lets log p(x) = log ∫ p(x|z) p(z) dz be computed on a fine grid.
    fovea.manual_seed(3)
    model = VAE((1, 2, 2), hidden=8, latent=1).double()
    for name, prm in model.named_parameters():
        # a decoder that depends strongly on z; an encoder q(z|x) = N(0.3, 0.8²) for any x
        prm.data = prm.data * 3 if name.startswith(("fc3", "fc4")) else prm.data * 0
    model.fc21.bias.data = fovea.tensor([0.3], dtype=fovea.float64)
    model.fc22.bias.data = fovea.tensor([2 * math.log(0.8)], dtype=fovea.float64)
    x = fovea.tensor(np.array([[[[1.0, 0.0], [1.0, 1.0]]], [[[0.0, 0.0], [1.0, 0.0]]]]))
    zs = np.linspace(-10, 10, 40001)
    with fovea.no_grad():
        out = model.decode(fovea.tensor(zs[:, None])).numpy().reshape(len(zs), 4)
    exact = []
    for xi in x.numpy().reshape(2, 4):
        log_px_z = -(np.logaddexp(0, out) - xi * out).sum(1)
        log_joint = log_px_z - 0.5 * zs ** 2 - 0.5 * math.log(2 * math.pi)
        m = log_joint.max()
        exact.append(m + math.log(np.trapezoid(np.exp(log_joint - m), zs)))
    g = fovea.Generator().manual_seed(0)
    iw = model.importance_weighted_bound(x, k=5000, chunk=1000, generator=g).numpy()
    np.testing.assert_allclose(iw, exact, atol=0.05)
    few = model.importance_weighted_bound(x, k=5, generator=g).numpy()
    assert np.abs(iw - exact).sum() < np.abs(few - exact).sum()  # more samples: tighter


def test_importance_weighted_bound_with_one_sample_averages_to_the_elbo():
    fovea.manual_seed(4)
    model = VAE((1, 3, 3), hidden=8, latent=2).double()
    x = fovea.tensor((np.random.default_rng(1).random((1, 1, 3, 3)) > 0.5) * 1.0)
    g = fovea.Generator().manual_seed(0)
    one = np.mean([model.importance_weighted_bound(x, k=1, generator=g).item()
                   for _ in range(3000)])
    with fovea.no_grad():
        mu, logvar = model.encode(x)
        eps = fovea.randn(3000, 2, dtype=fovea.float64)
        rec = model.reconstruction_nll(model.decode(mu + eps * (0.5 * logvar).exp()),
                                       x.expand(3000, 1, 3, 3))
        kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum()
    assert one == pytest.approx(-(rec.mean().item() + kl.item()), abs=0.1)


def test_gaussian_decoder_learns_its_scale_and_sample_shapes():
    model = VAE((1, 4, 4), hidden=8, latent=2, likelihood="gaussian")
    x = fovea.rand(3, 1, 4, 4)
    model.loss(x).backward()
    assert model.log_scale.grad is not None
    s = model.sample(5)
    assert s.shape == (5, 1, 4, 4) and 0 <= s.numpy().min() and s.numpy().max() <= 1


def test_cvae_refuses_a_class_it_was_not_trained_on_and_missing_labels():
    model = CVAE((1, 4, 4), hidden=8, latent=2, num_classes=3)
    with pytest.raises(ValueError, match="class 3 was not among the 3 classes"):
        model.sample(2, y=fovea.tensor([0, 3]))
    with pytest.raises(ValueError, match="class -1"):
        model.loss(fovea.rand(1, 1, 4, 4), fovea.tensor([-1]))
    with pytest.raises(ValueError, match="needs class labels"):
        model.loss(fovea.rand(1, 1, 4, 4))


def test_a_vae_step_lowers_the_loss_on_a_fixed_batch():
    fovea.manual_seed(0)
    model = VAE((1, 8, 8), hidden=32, latent=4)
    x = fovea.tensor((np.random.default_rng(0).random((16, 1, 8, 8)) > 0.5).astype(np.float32))
    opt = fovea.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = model.loss(x) / 16
        first = first or loss.item()
        loss.backward()
        opt.step()
    assert loss.item() < first - 3
