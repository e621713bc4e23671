"""Adadelta, Adamax, NAdam and RAdam: 20-step trajectories against PyTorch's on identical
parameters and gradients, per-group hyperparameters, state-dict round trips (fovea's and
PyTorch's), hyperparameter errors, and each update against its formula worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _optim_helpers import (
    fovea_loss,
    fovea_params,
    max_rel_diff,
    problem,
    torch_loss,
    torch_params,
)

from fovea import optim
from fovea.nn import Parameter

GRID = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adadelta", dict(lr=2.0, maximize=True)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.1)),
    ("Adamax", dict(lr=0.05, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, momentum_decay=0.05, weight_decay=0.1)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True,
                   betas=(0.8, 0.99))),
    ("NAdam", dict(lr=0.05, eps=1e-3, maximize=True)),
    ("RAdam", dict(lr=0.05)),
    ("RAdam", dict(lr=0.05, betas=(0.5, 0.9), weight_decay=0.1)),  # rho_t > 5 early
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.05, eps=1e-3, maximize=True)),
]
NAMES = ["Adadelta", "Adamax", "NAdam", "RAdam"]
SETTINGS = {"Adadelta": dict(lr=0.5, rho=0.8), "Adamax": dict(lr=0.05),
            "NAdam": dict(lr=0.05, weight_decay=0.01), "RAdam": dict(lr=0.05, betas=(0.5, 0.9))}


def _run_both(torch, make_fovea, make_torch, steps=20, maximize=False, seed=0):
    x, y, w = problem(seed)
    fp, tp = fovea_params(w), torch_params(torch, w)
    fo, to = make_fovea(fp), make_torch(tp)
    sign = -1.0 if maximize else 1.0
    worst = 0.0
    for _ in range(steps):
        fo.zero_grad()
        (sign * fovea_loss(fp, x, y)).backward()
        fo.step()
        to.zero_grad()
        (sign * torch_loss(torch, tp, x, y)).backward()
        to.step()
        worst = max(worst, max_rel_diff(fp, tp))
    return worst, fp, tp, fo, to


@pytest.mark.parametrize("name,kwargs", GRID, ids=[f"{n}-{i}" for i, (n, _) in enumerate(GRID)])
def test_trajectory_matches_pytorch_for_20_steps(name, kwargs):
    torch = pytest.importorskip("torch")
    worst, fp, _, fo, to = _run_both(
        torch, lambda ps: getattr(optim, name)(ps, **kwargs),
        lambda ps: getattr(torch.optim, name)(ps, foreach=False, **kwargs),
        maximize=kwargs.get("maximize", False))
    assert worst < 1e-10, f"{name}{kwargs}: relative difference {worst:.2e}"
    _, _, w0 = problem(0)
    assert max(np.abs(p.detach().numpy() - w).max() for p, w in zip(fp, w0)) > 1e-3
    fs, ts = fo.state_dict(), to.state_dict()  # the same state, under the same names
    assert set(fs["state"][0]) == set(ts["state"][0])
    for k, v in ts["state"][0].items():
        np.testing.assert_allclose(np.asarray(fs["state"][0][k]._data, dtype=float),
                                   v.detach().numpy().astype(float), rtol=1e-9, err_msg=k)


@pytest.mark.parametrize("name", NAMES)
def test_float32_parameters_follow_pytorch(name):
    torch = pytest.importorskip("torch")
    x, y, w = problem(4)
    fp = fovea_params(w, dtype=np.float32)
    tp = [torch.tensor(a, dtype=torch.float32, requires_grad=True) for a in w]
    fo = getattr(optim, name)(fp, **SETTINGS[name])
    to = getattr(torch.optim, name)(tp, foreach=False, **SETTINGS[name])
    for _ in range(10):
        fo.zero_grad()
        fovea_loss(fp, x, y).backward()
        fo.step()
        to.zero_grad()
        h = torch.tanh(torch.as_tensor(x, dtype=torch.float32) @ tp[0].T + tp[1])
        ((h @ tp[2].T + tp[3] - torch.as_tensor(y, dtype=torch.float32)) ** 2).mean().backward()
        to.step()
    assert all(p.dtype == np.float32 for p in fp)
    assert max_rel_diff(fp, tp) < 1e-4  # float32 gradients differ in the last bits


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_with_their_own_hyperparameters_match_pytorch(name):
    torch = pytest.importorskip("torch")
    extra = {"Adadelta": dict(rho=0.5), "Adamax": dict(betas=(0.5, 0.9)),
             "NAdam": dict(momentum_decay=0.1), "RAdam": dict(weight_decay=0.3)}[name]

    def groups(ps):
        return [{"params": ps[:2], "lr": SETTINGS[name]["lr"] * 2, **extra},
                {"params": ps[2:]}]

    worst, *_ = _run_both(
        torch, lambda ps: getattr(optim, name)(groups(ps), **SETTINGS[name]),
        lambda ps: getattr(torch.optim, name)(groups(ps), foreach=False, **SETTINGS[name]))
    assert worst < 1e-10


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_resumes_the_same_trajectory(name):
    x, y, w = problem(2)

    def run(ps, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            fovea_loss(ps, x, y).backward()
            opt.step()

    make = getattr(optim, name)
    ps = fovea_params(w)
    opt = make(ps, **SETTINGS[name])
    run(ps, opt, 7)
    saved = opt.state_dict()
    weights = [p.detach().numpy().copy() for p in ps]
    run(ps, opt, 7)
    ps2 = fovea_params(weights)
    opt2 = make(ps2, lr=0.123)
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == SETTINGS[name]["lr"]
    run(ps2, opt2, 7)
    for a, b in zip(ps, ps2):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("name", NAMES)
def test_loading_a_pytorch_state_dict_continues_pytorchs_trajectory(name):
    torch = pytest.importorskip("torch")
    x, y, w = problem(3)
    tp = torch_params(torch, w)
    to = getattr(torch.optim, name)(tp, foreach=False, **SETTINGS[name])

    def torch_steps(n):
        for _ in range(n):
            to.zero_grad()
            torch_loss(torch, tp, x, y).backward()
            to.step()

    torch_steps(5)
    fp = fovea_params([t.detach().numpy().copy() for t in tp])
    fo = getattr(optim, name)(fp, **SETTINGS[name])
    fo.load_state_dict(to.state_dict())
    for _ in range(5):
        fo.zero_grad()
        fovea_loss(fp, x, y).backward()
        fo.step()
    torch_steps(5)
    assert max_rel_diff(fp, tp) < 1e-10


def _one_step(opt_cls, w, g, steps=1, **kwargs):
    p = Parameter(np.array(w, dtype=np.float64))
    opt = opt_cls([p], **kwargs)
    for _ in range(steps):
        p.grad = Parameter(np.array(g, dtype=np.float64), requires_grad=False)
        opt.step()
    return p.detach().numpy()


def test_updates_match_their_formulas_worked_by_hand():
    w, g = np.array([1.0, -2.0]), np.array([0.5, -4.0])
    # Adadelta, step 1: v = (1-rho) g^2, delta = sqrt(eps)/sqrt(v+eps) g
    rho, eps = 0.9, 1e-6
    v = (1 - rho) * g ** 2
    expected = w - 1.0 * math.sqrt(eps) / np.sqrt(v + eps) * g
    np.testing.assert_allclose(_one_step(optim.Adadelta, w, g), expected, rtol=1e-12)
    # Adamax, step 1: m = (1-b1) g, u = |g| + eps, step lr/(1-b1)
    expected = w - 0.1 / 0.1 * (0.1 * g) / (np.abs(g) + 1e-8)
    np.testing.assert_allclose(_one_step(optim.Adamax, w, g, lr=0.1), expected, rtol=1e-12)
    # RAdam, steps 1-2 with beta2 = 0.999: rho_t <= 5, so plain bias-corrected momentum
    expected = w - 0.1 * g
    np.testing.assert_allclose(_one_step(optim.RAdam, w, g, lr=0.1), expected, rtol=1e-12)
    # NAdam, step 1: mu1 = b1 (1 - 0.5 * 0.96^psi), mu2 likewise; denominators |g| + eps
    b1, psi = 0.9, 4e-3
    mu1, mu2 = b1 * (1 - 0.5 * 0.96 ** psi), b1 * (1 - 0.5 * 0.96 ** (2 * psi))
    denom = np.abs(g) + 1e-8
    mu_prod = np.float32(mu1)  # the product is kept in a float32 counter, as in PyTorch
    expected = w - 0.1 * (1 - mu1) / (1 - float(mu_prod)) * g / denom \
        - 0.1 * mu2 / (1 - float(mu_prod) * mu2) * (0.1 * g) / denom
    np.testing.assert_allclose(_one_step(optim.NAdam, w, g, lr=0.1), expected, rtol=1e-10)


@pytest.mark.parametrize("name,kwargs,message", [
    ("Adadelta", dict(rho=1.5), "rho"), ("Adadelta", dict(lr=-1.0), "learning rate"),
    ("Adamax", dict(betas=(1.0, 0.9)), "beta parameter at index 0"),
    ("Adamax", dict(eps=-1e-8), "epsilon"), ("NAdam", dict(momentum_decay=-1.0),
                                             "momentum_decay"),
    ("NAdam", dict(weight_decay=-0.1), "weight_decay"),
    ("RAdam", dict(betas=(0.9, 1.0)), "beta parameter at index 1"),
    ("RAdam", dict(decoupled_weight_decay="yes"), "decoupled_weight_decay"),
])
def test_invalid_hyperparameters_are_refused_by_name(name, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        getattr(optim, name)([Parameter(np.zeros(2))], **kwargs)
