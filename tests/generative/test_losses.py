"""GAN and VAE losses against formulas worked by hand, PyTorch, and finite differences."""

import math

import numpy as np
import pytest

import fovea
from fovea import nn
from fovea.generative import (
    bernoulli_nll,
    discriminator_loss,
    gaussian_kl,
    gaussian_nll,
    generator_loss,
    gradient_penalty,
)
from oracle import check_op, needs_torch, torch


def t(values):
    return fovea.tensor(np.asarray(values, dtype=np.float64))


# D(x) = σ(0) = 1/2 on the real example, D(G(z)) = σ(ln 3) = 3/4 on the fake one.
REAL, FAKE = t([0.0]), t([math.log(3.0)])


def test_gan_discriminator_loss_is_minus_log_d_real_minus_log_one_minus_d_fake():
    # −log ½ − log(1 − ¾) = ln 2 + ln 4 = ln 8
    for kind in ("minimax", "non_saturating"):
        assert discriminator_loss(REAL, FAKE, kind).item() == pytest.approx(math.log(8))


def test_minimax_generator_loss_is_log_one_minus_d_fake():
    assert generator_loss(FAKE, "minimax").item() == pytest.approx(math.log(1 / 4))


def test_non_saturating_generator_loss_is_minus_log_d_fake():
    assert generator_loss(FAKE, "non_saturating").item() == pytest.approx(-math.log(3 / 4))


def test_non_saturating_loss_keeps_its_gradient_where_minimax_saturates():
    # D rejects the fake confidently (logit −10): d/dl log(1 − σ(l)) = −σ(l) ≈ −4.5e-5, while
    # d/dl −log σ(l) = σ(l) − 1 ≈ −1.
    for kind, expected in (("minimax", -1 / (1 + math.exp(10))),
                           ("non_saturating", 1 / (1 + math.exp(10)) - 1)):
        x = fovea.tensor([-10.0], dtype=fovea.float64, requires_grad=True)
        generator_loss(x, kind).backward()
        assert x.grad.item() == pytest.approx(expected, rel=1e-9)


def test_least_squares_losses_are_half_mean_squared_distances_to_the_targets():
    real, fake = t([0.5, 1.5]), t([0.25, -0.25])
    # ½·mean((−½)², (½)²) + ½·mean(¼², ¼²) = ½·¼ + ½·1/16
    assert discriminator_loss(real, fake, "least_squares").item() == pytest.approx(
        0.125 + 1 / 32)
    # ½·mean((¼ − 1)², (−¼ − 1)²) = ½·(9/16 + 25/16)/2
    assert generator_loss(fake, "least_squares").item() == pytest.approx(17 / 32)


def test_wasserstein_losses_are_differences_of_critic_means():
    real, fake = t([1.0, 3.0]), t([-1.0, 0.0, 4.0])
    assert discriminator_loss(real, fake, "wasserstein").item() == pytest.approx(1 - 2)
    assert generator_loss(fake, "wasserstein").item() == pytest.approx(-1)


def test_an_unknown_gan_loss_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="hinge.*minimax"):
        discriminator_loss(REAL, FAKE, "hinge")


@pytest.mark.parametrize("kind", ["minimax", "non_saturating", "least_squares", "wasserstein"])
def test_gan_losses_match_pytorch_and_finite_differences(kind):
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal(5), rng.standard_normal(4)

    def torch_d(r, f):
        if kind in ("minimax", "non_saturating"):
            F = torch.nn.functional
            return (F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                    + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
        if kind == "least_squares":
            return 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean()
        return f.mean() - r.mean()

    def torch_g(f):
        if kind == "minimax":
            return torch.log1p(-torch.sigmoid(f)).mean()
        if kind == "non_saturating":
            return -torch.nn.functional.logsigmoid(f).mean()
        if kind == "least_squares":
            return 0.5 * ((f - 1) ** 2).mean()
        return -f.mean()

    check_op(lambda r, f: discriminator_loss(r, f, kind), torch_d, [real, fake])
    check_op(lambda f: generator_loss(f, kind), torch_g, [fake])


def test_gaussian_kl_matches_hand_values():
    mu = t([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    logvar = t([[0.0, 0.0], [0.0, 0.0], [math.log(2.0), 0.0]])
    # N(0,1): 0; μ = 1: ½μ² = ½; σ² = 2: −½(1 + ln 2 − 2) = ½(1 − ln 2)
    np.testing.assert_allclose(gaussian_kl(mu, logvar).numpy(),
                               [0.0, 0.5, 0.5 * (1 - math.log(2))], atol=1e-12)


def test_gaussian_kl_equals_the_distributions_kl_and_its_gradient_is_right():
    from fovea.distributions import Normal, kl_divergence

    rng = np.random.default_rng(2)
    mu, logvar = rng.standard_normal((3, 4)), 0.5 * rng.standard_normal((3, 4))
    q = Normal(t(mu), (0.5 * t(logvar)).exp())
    p = Normal(fovea.zeros(3, 4, dtype=fovea.float64), fovea.ones(3, 4, dtype=fovea.float64))
    np.testing.assert_allclose(gaussian_kl(t(mu), t(logvar)).numpy(),
                               kl_divergence(q, p).sum(dim=1).numpy(), rtol=1e-12)
    check_op(gaussian_kl, lambda m, lv: -0.5 * (1 + lv - m ** 2 - lv.exp()).sum(dim=1),
             [mu, logvar])


def test_bernoulli_nll_is_ln2_per_pixel_at_logit_zero_and_matches_pytorch():
    x = np.array([[[[0.0, 1.0], [1.0, 0.0]]]])
    assert bernoulli_nll(t(np.zeros_like(x)), t(x)).item() == pytest.approx(4 * math.log(2))
    rng = np.random.default_rng(3)
    logits, target = rng.standard_normal((2, 1, 3, 3)), rng.random((2, 1, 3, 3))
    check_op(lambda lg: bernoulli_nll(lg, t(target)),
             lambda lg: torch.nn.functional.binary_cross_entropy_with_logits(
                 lg, torch.tensor(target), reduction="none").sum(dim=(1, 2, 3)), [logits])


def test_gaussian_nll_is_the_summed_normal_log_density():
    rng = np.random.default_rng(4)
    mean, x, log_scale = rng.standard_normal((2, 5)), rng.standard_normal((2, 5)), 0.3
    sigma = math.exp(log_scale)
    expected = (0.5 * ((x - mean) / sigma) ** 2 + math.log(sigma)
                + 0.5 * math.log(2 * math.pi)).sum(1)
    np.testing.assert_allclose(gaussian_nll(t(mean), t(x), log_scale).numpy(), expected,
                               rtol=1e-12)
    check_op(lambda m, ls: gaussian_nll(m, t(x), ls), None, [mean, np.array([0.3])],
             numpy_fn=lambda m, ls: (0.5 * ((x - m) / np.exp(ls)) ** 2 + ls
                                     + 0.5 * math.log(2 * math.pi)).sum(1))


# --- the gradient penalty ------------------------------------------------------------------

def test_gradient_penalty_of_a_linear_critic_is_norm_of_w_minus_one_squared():
    # D(x) = w·x has ∇ₓD = w everywhere: the penalty is (‖w‖ − 1)² whatever ε is.
    critic = nn.Linear(3, 1, bias=False).double()
    critic.weight.data = t([[1.0, 2.0, 2.0]])  # ‖w‖ = 3
    real, fake = t(np.ones((4, 3))), t(np.zeros((4, 3)))
    gp = gradient_penalty(critic, real, fake)
    assert gp.item() == pytest.approx(4.0)
    gp.backward()  # d/dw (‖w‖ − 1)² = 2(‖w‖ − 1) w/‖w‖
    np.testing.assert_allclose(critic.weight.grad.numpy(), [[4 / 3, 8 / 3, 8 / 3]], rtol=1e-12)


def test_gradient_penalty_refuses_batches_of_different_shapes():
    with pytest.raises(ValueError, match="gradient_penalty: real"):
        gradient_penalty(lambda x: x.sum(1), t(np.ones((2, 3))), t(np.ones((3, 3))))


def _critics():
    rng = np.random.default_rng(5)
    fv = nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(),
                       nn.Linear(4 * 3 * 3, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    for p in fv.parameters():
        p.data = t(rng.standard_normal(p.shape) * 0.5)
    return fv, rng.standard_normal((5, 1, 6, 6)), rng.standard_normal((5, 1, 6, 6))


@needs_torch
def test_gradient_penalty_and_its_weight_gradients_match_pytorch_double_backward():
    fv, real, fake = _critics()
    tc = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, 2, 1), torch.nn.LeakyReLU(0.2),
                             torch.nn.Flatten(), torch.nn.Linear(36, 8), torch.nn.Tanh(),
                             torch.nn.Linear(8, 1)).double()
    with torch.no_grad():
        for pt, pf in zip(tc.parameters(), fv.parameters()):
            pt.copy_(torch.tensor(pf.detach().numpy()))
    gp = gradient_penalty(fv, t(real), t(fake), generator=fovea.Generator().manual_seed(7))
    gp.backward()
    eps = torch.tensor(fovea.rand(5, 1, 1, 1, generator=fovea.Generator().manual_seed(7),
                                  dtype=fovea.float64).numpy())
    mixed = (eps * torch.tensor(real) + (1 - eps) * torch.tensor(fake)).requires_grad_(True)
    (g,) = torch.autograd.grad(tc(mixed).sum(), mixed, create_graph=True)
    gp_t = ((g.reshape(5, -1).norm(2, dim=1) - 1) ** 2).mean()
    gp_t.backward()
    assert gp.item() == pytest.approx(gp_t.item(), rel=1e-12)
    checked = 0
    for pf, pt in zip(fv.parameters(), tc.parameters()):
        if pt.grad is None:  # the last bias does not move ∇ₓD: no gradient in either engine
            assert pf.grad is None or not pf.grad.numpy().any()
            continue
        np.testing.assert_allclose(pf.grad.numpy(), pt.grad.numpy(), rtol=1e-9, atol=1e-12)
        checked += 1
    assert checked == 5


def test_gradient_penalty_weight_gradients_match_finite_differences():
    fv, real, fake = _critics()
    params = list(fv.parameters())
    gp = gradient_penalty(fv, t(real), t(fake), generator=fovea.Generator().manual_seed(7))
    gp.backward()
    w = params[3]  # the hidden Linear's weight
    rng = np.random.default_rng(0)
    for _ in range(4):
        idx = tuple(rng.integers(0, s) for s in w.shape)
        h, base = 1e-5, w.detach().numpy().copy()
        vals = []
        for sign in (1, -1):
            arr = base.copy()
            arr[idx] += sign * h
            w.data = t(arr)
            vals.append(gradient_penalty(fv, t(real), t(fake),
                                         generator=fovea.Generator().manual_seed(7)).item())
        w.data = t(base)
        assert w.grad.numpy()[idx] == pytest.approx((vals[0] - vals[1]) / (2 * h), rel=1e-6,
                                                    abs=1e-10)
