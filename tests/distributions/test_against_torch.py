"""Every distribution against torch.distributions on the same float64 parameters: shapes,
log_prob, entropy, moments and cdf, and the gradients of each with respect to every
parameter (for a random upstream gradient); kl_divergence values and gradients likewise."""

from __future__ import annotations

import numpy as np
import pytest

import fovea
import fovea.distributions as D
from oracle import needs_torch, torch

RNG = np.random.default_rng(0)


def _spd(k, batch=(), seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(batch + (k, k))
    return a @ np.swapaxes(a, -1, -2) + k * np.eye(k)


def _tril(k, batch=(), seed=1):
    return np.linalg.cholesky(_spd(k, batch, seed))


def _probs(shape, seed=2):
    p = np.random.default_rng(seed).random(shape) + 0.05
    return p / p.sum(-1, keepdims=True)


# name, constructor kwargs (arrays), a value for log_prob, which quantities exist
CASES = {
    "normal": ("Normal", dict(loc=RNG.standard_normal(3), scale=RNG.random((2, 1)) + 0.5),
               RNG.standard_normal((4, 2, 3)), ["mean", "stddev", "variance", "cdf"]),
    "normal-scalar": ("Normal", dict(loc=np.array(0.3), scale=np.array(1.7)),
                      RNG.standard_normal(5), ["mean", "stddev", "variance", "cdf"]),
    "bernoulli-probs": ("Bernoulli", dict(probs=RNG.random((2, 3)) * 0.9 + 0.05),
                        RNG.integers(0, 2, (5, 2, 3)).astype(float), ["mean", "variance"]),
    "bernoulli-logits": ("Bernoulli", dict(logits=RNG.standard_normal(4) * 3),
                         RNG.integers(0, 2, 4).astype(float), ["mean", "variance"]),
    "categorical-probs": ("Categorical", dict(probs=_probs((2, 4)) * 3.0),  # unnormalised
                          RNG.integers(0, 4, (3, 2)), []),
    "categorical-logits": ("Categorical", dict(logits=RNG.standard_normal((3, 5))),
                           RNG.integers(0, 5, 3), []),
    "uniform": ("Uniform", dict(low=RNG.standard_normal(3), high=RNG.standard_normal(3) + 3),
                np.full((2, 3), 0.9), ["mean", "stddev", "variance", "cdf"]),
    "mvn-covariance": ("MultivariateNormal", dict(loc=RNG.standard_normal((2, 3)),
                                                  covariance_matrix=_spd(3)),
                       RNG.standard_normal((4, 2, 3)), ["mean", "variance", "stddev"]),
    "mvn-scale-tril": ("MultivariateNormal", dict(loc=RNG.standard_normal(3),
                                                  scale_tril=_tril(3, (2,))),
                       RNG.standard_normal((2, 3)), ["mean", "variance"]),
    "mvn-precision": ("MultivariateNormal", dict(loc=RNG.standard_normal(2),
                                                 precision_matrix=_spd(2, seed=5)),
                      RNG.standard_normal((3, 2)), ["mean", "variance"]),
    "mvn-diagonal": ("MultivariateNormal", dict(loc=RNG.standard_normal(4),
                                                covariance_matrix=np.diag(RNG.random(4) + 0.2)),
                     RNG.standard_normal((2, 4)), ["mean", "variance"]),
}


def _build(lib, name, params, grad=True):
    """(distribution, {param name: leaf tensor}) in fovea or torch."""
    leaves = {}
    for k, v in params.items():
        if lib == "fovea":
            leaves[k] = fovea.tensor(v, requires_grad=grad)
        else:
            leaves[k] = torch.tensor(v, requires_grad=grad)
    module = D if lib == "fovea" else torch.distributions
    return getattr(module, name)(**leaves), leaves


def _value(lib, v, name):
    if name == "Categorical":
        return fovea.tensor(v.astype(np.int64)) if lib == "fovea" else torch.tensor(v)
    return fovea.tensor(v) if lib == "fovea" else torch.tensor(v)


def _quantity(dist, lib, what, value, name):
    if what == "log_prob":
        return dist.log_prob(_value(lib, value, name))
    if what == "cdf":
        return dist.cdf(_value(lib, value, name))
    if what == "entropy":
        return dist.entropy()
    return getattr(dist, what)


def _compare(fv_out, t_out, fv_leaves, t_leaves, seed=0):
    assert tuple(fv_out.shape) == tuple(t_out.shape)
    assert fv_out.dtype == np.float64
    np.testing.assert_allclose(fv_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    if not t_out.requires_grad:
        return
    upstream = np.random.default_rng(seed).standard_normal(tuple(t_out.shape))
    t_out.backward(torch.tensor(upstream))
    fv_out.backward(fovea.tensor(upstream))
    for k, t in t_leaves.items():
        tg = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        fg = fv_leaves[k].grad.numpy() if fv_leaves[k].grad is not None else np.zeros(t.shape)
        np.testing.assert_allclose(fg, tg, rtol=1e-8, atol=1e-10, err_msg=f"grad of {k}")


@needs_torch
@pytest.mark.parametrize("case", list(CASES))
def test_shapes_match_pytorch(case):
    name, params, _, _ = CASES[case]
    fd, _ = _build("fovea", name, params)
    td, _ = _build("torch", name, params)
    assert fd.batch_shape == tuple(td.batch_shape)
    assert fd.event_shape == tuple(td.event_shape)
    assert fd.has_rsample == td.has_rsample


@needs_torch
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("what", ["log_prob", "entropy", "mean", "stddev", "variance", "cdf"])
def test_values_and_gradients_match_pytorch(case, what):
    name, params, value, extra = CASES[case]
    if what not in ("log_prob", "entropy") and what not in extra:
        pytest.skip(f"{name} has no finite {what}")
    fd, fl = _build("fovea", name, params)
    td, tl = _build("torch", name, params)
    _compare(_quantity(fd, "fovea", what, value, name),
             _quantity(td, "torch", what, value, name), fl, tl)


@needs_torch
def test_independent_normal_matches_pytorch_and_the_diagonal_mvn():
    loc, scale = RNG.standard_normal((2, 3)), RNG.random((2, 3)) + 0.3
    value = RNG.standard_normal((5, 2, 3))
    fl, fs = fovea.tensor(loc, requires_grad=True), fovea.tensor(scale, requires_grad=True)
    tl, ts = torch.tensor(loc, requires_grad=True), torch.tensor(scale, requires_grad=True)
    fd = D.Independent(D.Normal(fl, fs), 1)
    td = torch.distributions.Independent(torch.distributions.Normal(tl, ts), 1)
    assert fd.batch_shape == (2,) and fd.event_shape == (3,)
    _compare(fd.log_prob(fovea.tensor(value)), td.log_prob(torch.tensor(value)),
             {"loc": fl, "scale": fs}, {"loc": tl, "scale": ts})
    fl.grad = fs.grad = tl.grad = ts.grad = None
    _compare(fd.entropy(), td.entropy(), {"loc": fl, "scale": fs}, {"loc": tl, "scale": ts})
    diag = np.zeros((2, 3, 3))
    diag[:, np.arange(3), np.arange(3)] = scale
    mvn = D.MultivariateNormal(fovea.tensor(loc), scale_tril=fovea.tensor(diag))
    np.testing.assert_allclose(mvn.log_prob(fovea.tensor(value)).detach().numpy(),
                               fd.log_prob(fovea.tensor(value)).detach().numpy(), rtol=1e-12)


def _kl_pair(case):
    k = 3
    return {
        "normal": (("Normal", dict(loc=RNG.standard_normal(3), scale=RNG.random(3) + 0.2)),
                   ("Normal", dict(loc=RNG.standard_normal((2, 1)), scale=RNG.random(3) + 0.5))),
        "bernoulli": (("Bernoulli", dict(probs=np.array([0.1, 0.5, 0.8]))),
                      ("Bernoulli", dict(logits=np.array([-1.0, 0.3, 2.0])))),
        "categorical": (("Categorical", dict(probs=_probs((2, 4), seed=3))),
                        ("Categorical", dict(logits=RNG.standard_normal(4)))),
        "mvn": (("MultivariateNormal", dict(loc=RNG.standard_normal((2, k)),
                                            covariance_matrix=_spd(k, seed=7))),
                ("MultivariateNormal", dict(loc=RNG.standard_normal(k),
                                            scale_tril=_tril(k, (2,), seed=8)))),
        "uniform": (("Uniform", dict(low=np.array([0.0, 0.5]), high=np.array([1.0, 0.9]))),
                    ("Uniform", dict(low=np.array([-1.0, 0.0]), high=np.array([2.0, 1.0])))),
    }[case]


@needs_torch
@pytest.mark.parametrize("case", ["normal", "bernoulli", "categorical", "mvn", "uniform"])
def test_kl_divergence_and_its_gradients_match_pytorch(case):
    (np_, pp), (nq, qp) = _kl_pair(case)
    fp, fpl = _build("fovea", np_, pp)
    fq, fql = _build("fovea", nq, qp)
    tp, tpl = _build("torch", np_, pp)
    tq, tql = _build("torch", nq, qp)
    fv = D.kl_divergence(fp, fq)
    tv = torch.distributions.kl_divergence(tp, tq)
    leaves_f = {**{f"p.{k}": v for k, v in fpl.items()}, **{f"q.{k}": v for k, v in fql.items()}}
    leaves_t = {**{f"p.{k}": v for k, v in tpl.items()}, **{f"q.{k}": v for k, v in tql.items()}}
    _compare(fv, tv, leaves_f, leaves_t)
    assert (fv.detach().numpy() >= -1e-12).all()


@needs_torch
def test_kl_of_independent_normals_matches_pytorch():
    a, b = [(RNG.standard_normal((2, 3)), RNG.random((2, 3)) + 0.3) for _ in range(2)]
    fv = D.kl_divergence(D.Independent(D.Normal(*map(fovea.tensor, a)), 1),
                         D.Independent(D.Normal(*map(fovea.tensor, b)), 1))
    tdist = torch.distributions
    tv = tdist.kl_divergence(tdist.Independent(tdist.Normal(*map(torch.tensor, a)), 1),
                             tdist.Independent(tdist.Normal(*map(torch.tensor, b)), 1))
    assert fv.shape == (2,)
    np.testing.assert_allclose(fv.numpy(), tv.numpy(), rtol=1e-12)


@needs_torch
def test_kl_with_impossible_events_is_infinite_or_zero_as_pytorch():
    p = np.array([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]])
    q = np.array([[0.5, 0.5, 0.0], [0.2, 0.0, 0.8]])
    for a, b in [(p, q), (q, p), (p, p)]:
        fv = D.kl_divergence(D.Categorical(probs=fovea.tensor(a)),
                             D.Categorical(probs=fovea.tensor(b)))
        tv = torch.distributions.kl_divergence(torch.distributions.Categorical(torch.tensor(a)),
                                               torch.distributions.Categorical(torch.tensor(b)))
        np.testing.assert_array_equal(np.isinf(fv.numpy()), np.isinf(tv.numpy()))
        np.testing.assert_allclose(fv.numpy(), tv.numpy(), rtol=1e-12)
    bp, bq = np.array([0.0, 1.0, 0.3]), np.array([0.0, 0.4, 1.0])
    fv = D.kl_divergence(D.Bernoulli(fovea.tensor(bp)), D.Bernoulli(fovea.tensor(bq)))
    tv = torch.distributions.kl_divergence(torch.distributions.Bernoulli(torch.tensor(bp)),
                                           torch.distributions.Bernoulli(torch.tensor(bq)))
    np.testing.assert_allclose(fv.numpy(), tv.numpy(), rtol=1e-6)
