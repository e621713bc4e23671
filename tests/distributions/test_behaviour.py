"""Distributions without PyTorch: values against formulas worked with NumPy, sampling
statistics with fixed seeds, reparameterised gradients against finite differences,
validate_args errors, kl_divergence registration, and other devices."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fovea
import fovea.distributions as D
from backends import standin
from fovea.distributions import constraints

N = 40_000


def test_importable_as_in_pytorch():
    import fovea.distributions as dist

    assert fovea.distributions is dist and dist.Normal is D.Normal
    assert callable(dist.kl_divergence) and callable(dist.register_kl)


# --- values against formulas ---------------------------------------------------------------
def test_normal_log_prob_entropy_and_cdf_by_formula():
    loc, scale = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 3.0])
    x = np.array([0.3, 1.2, 4.0])
    d = D.Normal(fovea.tensor(loc), fovea.tensor(scale))
    expected = -((x - loc) ** 2) / (2 * scale ** 2) - np.log(scale) - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(d.log_prob(fovea.tensor(x)).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(d.entropy().numpy(), 0.5 * np.log(2 * np.pi * np.e * scale ** 2),
                               rtol=1e-12)
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(d.cdf(fovea.tensor(x)).numpy(),
                               0.5 * (1 + erf((x - loc) / (scale * np.sqrt(2)))), rtol=1e-7)


def test_mvn_log_prob_by_formula_for_every_parameterisation():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    cov = a @ a.T + np.eye(3)
    loc, x = rng.standard_normal(3), rng.standard_normal((4, 3))
    diff = x - loc
    expected = -0.5 * np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff) \
        - 0.5 * np.log(np.linalg.det(cov)) - 1.5 * np.log(2 * np.pi)
    entropy = 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * cov))
    for kw in [dict(covariance_matrix=cov), dict(precision_matrix=np.linalg.inv(cov)),
               dict(scale_tril=np.linalg.cholesky(cov))]:
        d = D.MultivariateNormal(fovea.tensor(loc), **{k: fovea.tensor(v) for k, v in kw.items()})
        np.testing.assert_allclose(d.log_prob(fovea.tensor(x)).numpy(), expected, rtol=1e-10)
        np.testing.assert_allclose(d.entropy().numpy(), entropy, rtol=1e-10)
        np.testing.assert_allclose(d.covariance_matrix.numpy(), cov, rtol=1e-10)
        np.testing.assert_allclose(d.precision_matrix.numpy(), np.linalg.inv(cov), rtol=1e-9)
        np.testing.assert_allclose(d.variance.numpy(), np.diag(cov), rtol=1e-10)


def test_categorical_and_bernoulli_by_formula():
    p = np.array([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]])
    c = D.Categorical(probs=fovea.tensor(p * 4))  # weights are normalised
    np.testing.assert_allclose(c.log_prob(fovea.tensor([2, 0])).numpy(), np.log([0.5, 0.7]),
                               rtol=1e-12)
    np.testing.assert_allclose(c.entropy().numpy(), -(p * np.log(p)).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(c.logits.exp().numpy(), p, rtol=1e-12)
    assert c.mode.tolist() == [2, 0] and np.isnan(c.mean.numpy()).all()
    b = D.Bernoulli(logits=fovea.tensor([0.0, 2.0, -30.0]))
    q = 1 / (1 + np.exp(-np.array([0.0, 2.0, -30.0])))
    np.testing.assert_allclose(b.log_prob(fovea.tensor([1.0, 0.0, 0.0])).numpy(),
                               np.log([q[0], 1 - q[1], 1 - q[2]]), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(b.entropy().numpy(),
                               -(q * np.log(q) + (1 - q) * np.log1p(-q)), rtol=1e-6,
                               atol=1e-9)


def test_uniform_log_prob_is_minus_infinity_outside_without_warnings():
    d = D.Uniform(fovea.tensor([0.0, 0.0]), fovea.tensor([2.0, 4.0]), validate_args=False)
    lp = d.log_prob(fovea.tensor([[1.0, 5.0], [-1.0, 3.9]])).numpy()
    np.testing.assert_allclose(lp, [[-np.log(2), -np.inf], [-np.inf, -np.log(4)]])
    assert d.cdf(fovea.tensor([1.0, 5.0])).tolist() == [0.5, 1.0]


def test_kl_normal_by_formula_and_zero_for_identical():
    p = D.Normal(fovea.tensor(0.0), fovea.tensor(1.0))
    q = D.Normal(fovea.tensor(1.0), fovea.tensor(2.0))
    expected = np.log(2.0) + (1 + 1) / (2 * 4) - 0.5
    assert D.kl_divergence(p, q).item() == pytest.approx(expected, rel=1e-6)
    assert D.kl_divergence(q, q).item() == pytest.approx(0.0, abs=1e-7)


# --- sampling -----------------------------------------------------------------------------
def test_samples_repeat_with_the_same_seed():
    d = D.Normal(fovea.zeros(3), fovea.ones(3))
    fovea.manual_seed(123)
    a = d.sample((4,))
    fovea.manual_seed(123)
    b = d.sample((4,))
    assert a.shape == (4, 3) and np.array_equal(a.numpy(), b.numpy())
    assert not a.requires_grad


def test_normal_and_uniform_sample_statistics():
    fovea.manual_seed(0)
    s = D.Normal(fovea.tensor([1.0, -2.0]), fovea.tensor([0.5, 3.0])).sample((N,)).numpy()
    assert s.shape == (N, 2) and s.dtype == np.float32
    np.testing.assert_allclose(s.mean(0), [1.0, -2.0], atol=5 * 3.0 / np.sqrt(N))
    np.testing.assert_allclose(s.std(0), [0.5, 3.0], rtol=0.03)
    u = D.Uniform(fovea.tensor(-1.0), fovea.tensor(3.0)).sample((N,)).numpy()
    assert u.min() >= -1.0 and u.max() < 3.0
    assert abs(u.mean() - 1.0) < 0.05 and abs(u.var() - 16 / 12) < 0.05


def test_discrete_sample_frequencies():
    fovea.manual_seed(1)
    p = np.array([0.1, 0.0, 0.6, 0.3])
    s = D.Categorical(probs=fovea.tensor(p)).sample((N,)).numpy()
    assert s.dtype == np.int64 and set(np.unique(s)) <= {0, 2, 3}   # never a 0-prob class
    np.testing.assert_allclose(np.bincount(s, minlength=4) / N, p, atol=0.01)
    batched = D.Categorical(logits=fovea.tensor(np.log([[0.5, 0.5], [0.9, 0.1]])))
    sb = batched.sample((N,)).numpy()
    assert sb.shape == (N, 2)
    np.testing.assert_allclose(sb.mean(0), [0.5, 0.1], atol=0.015)
    b = D.Bernoulli(probs=fovea.tensor([0.2, 0.9])).sample((N,)).numpy()
    assert set(np.unique(b)) == {0.0, 1.0}
    np.testing.assert_allclose(b.mean(0), [0.2, 0.9], atol=0.01)


def test_mvn_sample_covariance():
    fovea.manual_seed(2)
    cov = np.array([[2.0, 0.8], [0.8, 1.0]])
    d = D.MultivariateNormal(fovea.tensor([1.0, -1.0], dtype=np.float64),
                             covariance_matrix=fovea.tensor(cov))
    s = d.sample((N,)).numpy()
    assert s.shape == (N, 2) and s.dtype == np.float64
    np.testing.assert_allclose(s.mean(0), [1.0, -1.0], atol=0.04)
    np.testing.assert_allclose(np.cov(s.T), cov, atol=0.06)


def test_sample_shapes_follow_sample_batch_event():
    d = D.MultivariateNormal(fovea.zeros(2, 3), scale_tril=fovea.tensor(np.eye(3)))
    assert d.sample().shape == (2, 3) and d.rsample((4, 5)).shape == (4, 5, 2, 3)
    with pytest.raises(TypeError, match="sample_shape must be a tuple"):
        d.sample(4)


# --- reparameterisation ---------------------------------------------------------------------
def _seeded(fn):
    """``fn`` with the generator reseeded first, so every call draws the same noise."""
    def wrapped(*args):
        fovea.manual_seed(7)
        return fn(*args)
    return wrapped


@pytest.mark.parametrize("make", [
    lambda loc, s: D.Normal(loc, s.exp()).rsample((3,)),
    lambda loc, s: D.Uniform(loc, loc + s.exp()).rsample((3,)),
    lambda loc, s: D.MultivariateNormal(loc, scale_tril=s.exp().diag_embed()
                                        if hasattr(s, "diag_embed") else
                                        s.exp().unsqueeze(-1) * fovea.tensor(np.eye(3))
                                        ).rsample((2,)),
    lambda loc, s: D.Independent(D.Normal(loc, s.exp()), 1).rsample((2,)).sum(-1),
])
def test_rsample_gradients_match_finite_differences(make):
    rng = np.random.default_rng(3)
    loc = fovea.tensor(rng.standard_normal(3), requires_grad=True)
    s = fovea.tensor(rng.standard_normal(3) * 0.3, requires_grad=True)
    err = fovea.gradcheck(_seeded(make), [loc, s], eps=1e-4)
    assert err < 1e-7
    out = _seeded(make)(loc, s)
    out.sum().backward()
    assert loc.grad is not None and s.grad is not None and np.abs(s.grad.numpy()).sum() > 0


def test_mvn_rsample_gradient_through_the_cholesky_factor():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 3))
    cov = fovea.tensor(a @ a.T + 3 * np.eye(3), requires_grad=True)
    loc = fovea.tensor(rng.standard_normal(3), requires_grad=True)

    def f(loc, cov):
        sym = (cov + cov.T) * 0.5  # finite differences move one entry; keep it symmetric
        return D.MultivariateNormal(loc, covariance_matrix=sym).rsample((4,))

    assert fovea.gradcheck(_seeded(f), [loc, cov], eps=1e-5) < 1e-6


def test_sample_is_outside_the_graph_and_discrete_have_no_rsample():
    loc = fovea.zeros(2, requires_grad=True)
    assert not D.Normal(loc, 1.0).sample().requires_grad
    assert D.Normal(loc, 1.0).rsample().requires_grad
    with pytest.raises(NotImplementedError, match="no rsample"):
        D.Bernoulli(probs=fovea.tensor([0.5])).rsample()
    assert not D.Categorical(logits=fovea.zeros(3)).has_rsample


# --- validation -----------------------------------------------------------------------------
@pytest.mark.parametrize("make,message", [
    (lambda: D.Normal(0.0, -1.0), "parameter scale .* positive"),
    (lambda: D.Normal(fovea.tensor([0.0, float("nan")]), 1.0), "parameter loc .* real"),
    (lambda: D.Bernoulli(probs=fovea.tensor([0.5, 1.5])), "parameter probs .* unit_interval"),
    (lambda: D.Bernoulli(probs=0.5, logits=0.0), "exactly one of probs or logits"),
    (lambda: D.Categorical(probs=fovea.tensor([0.5, -0.1, 0.6])), "parameter probs .*simplex"),
    (lambda: D.Categorical(logits=fovea.tensor(1.0)), "at least one dimension"),
    (lambda: D.Uniform(1.0, 1.0), "low < high"),
    (lambda: D.MultivariateNormal(fovea.zeros(2), covariance_matrix=fovea.tensor(
        [[1.0, 2.0], [2.0, 1.0]])), "covariance_matrix .* positive_definite"),
    (lambda: D.MultivariateNormal(fovea.zeros(2), scale_tril=fovea.tensor(
        [[1.0, 0.0], [0.5, -1.0]])), "scale_tril .* lower_cholesky"),
    (lambda: D.MultivariateNormal(fovea.zeros(3), scale_tril=fovea.ones(2, 2)),
     r"shape \(\.\.\., 3, 3\)"),
    (lambda: D.MultivariateNormal(fovea.zeros(2)), "exactly one of covariance_matrix"),
    (lambda: D.Normal(fovea.zeros(2), fovea.ones(3)), "do not broadcast"),
    (lambda: D.Independent(D.Normal(fovea.zeros(2), 1.0), 2), "reinterpreted_batch_ndims"),
])
def test_bad_parameters_are_refused_with_one_line_errors(make, message):
    with pytest.raises(ValueError, match=message) as e:
        make()
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("dist,value,message", [
    (lambda: D.Bernoulli(probs=fovea.tensor([0.3])), [0.5], "support boolean"),
    (lambda: D.Categorical(logits=fovea.zeros(3)), fovea.tensor([3]), "integer_interval"),
    (lambda: D.Uniform(0.0, 1.0), [1.5], "support interval"),
    (lambda: D.MultivariateNormal(fovea.zeros(2), scale_tril=fovea.tensor(np.eye(2))),
     fovea.zeros(3), "event shape"),
    (lambda: D.Normal(fovea.zeros(3), 1.0), fovea.zeros(2), "does not broadcast"),
])
def test_values_outside_the_support_are_refused(dist, value, message):
    d = dist()
    value = value if isinstance(value, fovea.Tensor) else fovea.tensor(value)
    with pytest.raises(ValueError, match=message):
        d.log_prob(value)


def test_validate_args_false_skips_the_checks():
    d = D.Normal(0.0, -1.0, validate_args=False)
    assert d.scale.item() == -1.0
    b = D.Bernoulli(probs=fovea.tensor([0.3]), validate_args=False)
    assert b.log_prob(fovea.tensor([0.5])).shape == (1,)
    D.Distribution.set_default_validate_args(False)
    try:
        assert D.Uniform(2.0, 1.0).low.item() == 2.0
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Uniform(2.0, 1.0)


def test_constraints_check_elementwise():
    assert constraints.positive.check(fovea.tensor([1.0, 0.0])).tolist() == [True, False]
    assert constraints.simplex.check(np.array([[0.5, 0.5], [0.6, 0.6]])).tolist() == [True, False]
    assert constraints.integer_interval(0, 2).check(np.array([0, 2, 3, 1.5])).tolist() == \
        [True, True, False, False]


# --- kl registration ----------------------------------------------------------------------
def test_register_kl_picks_the_most_specific_pair():
    class Narrow(D.Normal):
        pass

    @D.register_kl(Narrow, D.Normal)
    def _kl(p, q):
        return fovea.tensor(-1.0)

    try:
        p, q = Narrow(0.0, 1.0), D.Normal(1.0, 1.0)
        assert D.kl_divergence(p, q).item() == -1.0
        assert D.kl_divergence(q, q).item() == 0.0        # Normal-Normal still applies
        assert D.kl_divergence(q, Narrow(0.0, 1.0)).item() == pytest.approx(0.5)
    finally:
        from fovea.distributions import kl

        kl._KL.pop((Narrow, D.Normal))
    with pytest.raises(NotImplementedError, match="no KL"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(probs=0.5))
    with pytest.raises(TypeError):
        D.register_kl(int, D.Normal)


# --- other devices --------------------------------------------------------------------------
def test_distributions_on_another_device_stay_there():
    loc = fovea.Tensor(standin.to_device(np.array([0.5, -1.0])), requires_grad=True)
    scale = fovea.Tensor(standin.to_device(np.array([1.0, 2.0])))
    d = D.Normal(loc, scale)
    x = d.rsample((3,))
    assert x.device == standin.NAME and isinstance(x._data, standin.StandInArray)
    lp = d.log_prob(x.detach())
    lp.sum().backward()
    assert lp.device == standin.NAME and loc.grad.device == standin.NAME
    cpu = D.Normal(fovea.tensor(np.array([0.5, -1.0])), fovea.tensor(np.array([1.0, 2.0])))
    np.testing.assert_allclose(np.asarray(lp.detach().numpy()),
                               cpu.log_prob(fovea.tensor(x.detach().numpy())).numpy(),
                               rtol=1e-12)
    # (MultivariateNormal needs the device's linalg module: the stand-in wraps none)
