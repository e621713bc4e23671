"""SGD, Adagrad, RMSprop, Adam and AdamW: 20-step trajectories against PyTorch's, state dicts,
dtypes and the base class's contract."""

from __future__ import annotations

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

import fovea
from fovea import optim
from fovea.nn import Parameter

GRID = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.2, eps=1e-3, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, alpha=0.5, momentum=0.5, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, eps=1e-3, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.5, 0.9), eps=1e-3, amsgrad=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.05, maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.05, betas=(0.8, 0.99), maximize=True)),
]

CLASSES = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]
SETTINGS = {"SGD": dict(lr=0.1, momentum=0.9), "Adagrad": dict(lr=0.1),
            "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
            "Adam": dict(lr=0.05, amsgrad=True), "AdamW": dict(lr=0.05)}


def _run_both(torch, make_fovea, make_torch, steps=20, maximize=False, seed=0):
    """Step both optimizers ``steps`` times; return the worst relative difference seen."""
    x, y, w = problem(seed)
    fp, tp = fovea_params(w), torch_params(torch, w)
    fo, to = make_fovea(fp), make_torch(tp)
    sign = -1.0 if maximize else 1.0  # maximizing -loss follows the same (stable) descent
    worst = 0.0
    for _ in range(steps):
        fo.zero_grad()
        (sign * fovea_loss(fp, x, y)).backward()
        fo.step()
        to.zero_grad()
        (sign * torch_loss(torch, tp, x, y)).backward()
        to.step()
        worst = max(worst, max_rel_diff(fp, tp))
    return worst, fp, tp


@pytest.mark.parametrize("name,kwargs", GRID, ids=[f"{n}-{i}" for i, (n, _) in enumerate(GRID)])
def test_trajectory_matches_pytorch_for_20_steps(name, kwargs):
    torch = pytest.importorskip("torch")
    worst, fp, tp = _run_both(
        torch,
        lambda ps: getattr(optim, name)(ps, **kwargs),
        lambda ps: getattr(torch.optim, name)(ps, foreach=False, **kwargs),
        maximize=kwargs.get("maximize", False),
    )
    assert worst < 1e-10, f"{name}{kwargs}: relative difference {worst:.2e}"
    # The run actually moved the weights (a test that cannot pass by doing nothing).
    _, _, w0 = problem(0)
    assert max(np.abs(p.detach().numpy() - w).max() for p, w in zip(fp, w0)) > 1e-3


@pytest.mark.parametrize("name", CLASSES)
def test_param_groups_with_their_own_hyperparameters_match_pytorch(name):
    torch = pytest.importorskip("torch")
    base = SETTINGS[name]
    extra = {"SGD": dict(momentum=0.5, nesterov=True), "Adagrad": dict(lr_decay=0.1),
             "RMSprop": dict(alpha=0.9), "Adam": dict(betas=(0.8, 0.99)),
             "AdamW": dict(weight_decay=0.2)}[name]

    def groups(ps):
        return [{"params": ps[:2], "lr": base["lr"] * 3, **extra}, {"params": ps[2:]}]

    worst, _, _ = _run_both(
        torch,
        lambda ps: getattr(optim, name)(groups(ps), **base),
        lambda ps: getattr(torch.optim, name)(groups(ps), foreach=False, **base),
    )
    assert worst < 1e-10


def test_parameters_without_grad_are_skipped_and_get_no_state():
    torch = pytest.importorskip("torch")
    x, y, w = problem(1)
    fp, tp = fovea_params(w), torch_params(torch, w)
    fo = optim.Adam(fp, lr=0.05)
    to = torch.optim.Adam(tp, lr=0.05, foreach=False)
    for _ in range(5):  # only the first layer gets gradients
        fo.zero_grad()
        fovea_loss(fp, x, y).backward()
        fp[2].grad = fp[3].grad = None
        fo.step()
        to.zero_grad()
        torch_loss(torch, tp, x, y).backward()
        tp[2].grad = tp[3].grad = None
        to.step()
    assert max_rel_diff(fp, tp) < 1e-12
    assert np.array_equal(fp[2].detach().numpy(), w[2])
    assert len(fo.state) == 2 and fp[2] not in fo.state


@pytest.mark.parametrize("name", CLASSES)
def test_state_dict_round_trip_resumes_the_same_trajectory(name):
    x, y, w = problem(2)

    def run(ps, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            fovea_loss(ps, x, y).backward()
            opt.step()

    make = getattr(optim, name)
    ps = fovea_params(w)
    opt = make([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.02}], **SETTINGS[name])
    run(ps, opt, 10)
    saved = opt.state_dict()
    saved_weights = [p.detach().numpy().copy() for p in ps]
    first_state = {k: v._data.copy() for k, v in saved["state"][0].items()}
    run(ps, opt, 10)  # the reference: 20 uninterrupted steps
    # The saved dict did not move with the live state.
    for k, v in first_state.items():
        assert np.array_equal(saved["state"][0][k]._data, v)

    ps2 = fovea_params(saved_weights)
    opt2 = make([{"params": ps2[:2]}, {"params": ps2[2:], "lr": 0.5}], lr=0.3)
    opt2.load_state_dict(saved)
    assert opt2.param_groups[1]["lr"] == 0.02 and opt2.param_groups[0]["lr"] == \
        SETTINGS[name]["lr"]
    run(ps2, opt2, 10)
    for a, b in zip(ps, ps2):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_state_dict_has_pytorch_layout():
    torch = pytest.importorskip("torch")
    x, y, w = problem(0)
    fp, tp = fovea_params(w), torch_params(torch, w)
    fo = optim.SGD([{"params": fp[:1]}, {"params": fp[1:], "lr": 0.5}], lr=0.1, momentum=0.9)
    to = torch.optim.SGD([{"params": tp[:1]}, {"params": tp[1:], "lr": 0.5}], lr=0.1,
                         momentum=0.9)
    fovea_loss(fp, x, y).backward()
    torch_loss(torch, tp, x, y).backward()
    fo.step()
    to.step()
    fs, ts = fo.state_dict(), to.state_dict()
    assert set(fs) == {"state", "param_groups"}
    assert list(fs["state"]) == list(ts["state"]) == [0, 1, 2, 3]
    assert [g["params"] for g in fs["param_groups"]] == [g["params"] for g in
                                                         ts["param_groups"]]
    for fg, tg in zip(fs["param_groups"], ts["param_groups"]):
        for k in ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"):
            assert fg[k] == tg[k]
    for i in range(4):
        np.testing.assert_allclose(fs["state"][i]["momentum_buffer"]._data,
                                   ts["state"][i]["momentum_buffer"].numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
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


@pytest.mark.parametrize("name", CLASSES)
def test_float32_parameters_and_state_stay_float32(name):
    x, y, w = problem(4)
    ps = fovea_params(w, dtype=np.float32)
    opt = getattr(optim, name)(ps, **SETTINGS[name], weight_decay=0.01)
    for _ in range(3):
        opt.zero_grad()
        fovea_loss(ps, x, y).backward()
        opt.step()
    for p in ps:
        assert p.dtype == np.float32
        for k, v in opt.state[p].items():
            if k != "step":
                assert v.dtype == np.float32, (k, v.dtype)
    # ... and they track the float64 run closely.
    ps64 = fovea_params(w)
    opt64 = getattr(optim, name)(ps64, **SETTINGS[name], weight_decay=0.01)
    for _ in range(3):
        opt64.zero_grad()
        fovea_loss(ps64, x, y).backward()
        opt64.step()
    for a, b in zip(ps, ps64):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-3,
                                   atol=1e-4)


def test_step_bumps_the_version_so_stale_graphs_refuse_backward():
    p = Parameter(np.array([1.0, -2.0]))
    opt = optim.SGD([p], lr=0.1)
    loss = (p * p).sum()  # the product saves p itself
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="version"):
        loss.backward()


def test_closure_runs_with_grad_enabled_and_step_returns_its_loss():
    x, y, w = problem(0)
    ps = fovea_params(w)
    opt = optim.Adam(ps, lr=0.01)
    seen = []

    def closure():
        seen.append(fovea.is_grad_enabled())
        opt.zero_grad()
        loss = fovea_loss(ps, x, y)
        loss.backward()
        return loss

    with fovea.no_grad():
        loss = opt.step(closure)
    assert seen == [True]
    assert float(loss) == pytest.approx(float(fovea_loss(fovea_params(w), x, y)))
    assert opt.step() is None


def test_zero_grad_sets_to_none_or_zero():
    x, y, w = problem(0)
    ps = fovea_params(w)
    opt = optim.SGD(ps, lr=0.1)
    fovea_loss(ps, x, y).backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in ps)
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


def test_sgd_matches_the_lectures_velocity_form():
    """v = mu v - lr g; w += v  (CS231n) is PyTorch's form when lr is constant."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(5)
    a = rng.standard_normal(5)
    p = Parameter(w0.copy())
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    w, v = w0.copy(), np.zeros(5)
    for _ in range(10):
        opt.zero_grad()
        (fovea.tanh(p) * fovea.tensor(a)).sum().backward()
        g = (1 - np.tanh(w) ** 2) * a
        v = 0.9 * v - 0.1 * g
        w = w + v
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(), w, rtol=1e-12)


def test_add_param_group_and_named_parameters():
    x, y, w = problem(0)
    ps = fovea_params(w)
    opt = optim.SGD(ps[:2], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": ps[2:], "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.01
    named = optim.Adam([("w1", ps[0]), ("b1", ps[1])], lr=0.1)
    assert named.param_groups[0]["param_names"] == ["w1", "b1"]
    assert "Parameter Group 1" in repr(opt) and "lr: 0.01" in repr(opt)


# --- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,match", [
    (lambda ps: optim.SGD(ps, lr=-0.1), r"SGD: invalid learning rate -0.1: lr must be >= 0"),
    (lambda ps: optim.SGD(ps, momentum=-1), "invalid momentum value"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "zero dampening"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), r"betas\[0\] must be in \[0, 1\)"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), "beta parameter at index 1"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "invalid epsilon value"),
    (lambda ps: optim.AdamW(ps, weight_decay=-0.01), "invalid weight_decay value"),
    (lambda ps: optim.Adagrad(ps, lr_decay=-1), "invalid lr_decay"),
    (lambda ps: optim.Adagrad(ps, initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda ps: optim.RMSprop(ps, alpha=1.5), r"alpha must be in \[0, 1\]"),
    (lambda ps: optim.SGD([{"params": ps[:2], "lr": -1}, {"params": ps[2:]}], lr=0.1),
     "invalid learning rate -1"),
    (lambda ps: optim.SGD([ps[0], ps[0]], lr=0.1), "same parameter twice"),
    (lambda ps: optim.SGD([{"params": ps[:2]}, {"params": ps[1:]}], lr=0.1),
     "more than one parameter group"),
    (lambda ps: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda ps: optim.SGD([ps[0] * 2], lr=0.1), "non-leaf"),
])
def test_bad_hyperparameters_and_params_raise_value_errors(make, match):
    ps = fovea_params(problem(0)[2])
    with pytest.raises(ValueError, match=match):
        make(ps)


@pytest.mark.parametrize("params,match", [
    (lambda ps: ps[0], "single Tensor"),
    (lambda ps: [ps[0], np.zeros(3)], "can only optimize fovea Tensors"),
    (lambda ps: set(ps), "not a set"),
    (lambda ps: 3, "iterable"),
    (lambda ps: [fovea.tensor(np.arange(3))], "floating-point"),
])
def test_params_that_are_not_tensors_raise_type_errors(params, match):
    ps = fovea_params(problem(0)[2])
    with pytest.raises(TypeError, match=match):
        optim.SGD(params(ps), lr=0.1)
    with pytest.raises(TypeError, match="real number"):
        optim.SGD(ps, lr="0.1")


def test_load_state_dict_validates_groups_and_shapes():
    ps = fovea_params(problem(0)[2])
    opt = optim.Adam(ps, lr=0.1)
    for p in ps:
        p.grad = fovea.tensor(np.ones(p.shape))
    opt.step()
    saved = opt.state_dict()
    two = optim.Adam([{"params": ps[:2]}, {"params": ps[2:]}])
    with pytest.raises(ValueError, match="has 1 parameter group.*has 2"):
        two.load_state_dict(saved)
    short = optim.Adam(ps[:3])
    with pytest.raises(ValueError, match="4 parameters in the saved state but 3"):
        short.load_state_dict(saved)
    swapped = optim.Adam([ps[1], ps[0], ps[2], ps[3]])
    with pytest.raises(ValueError, match=r"state 'exp_avg' has shape \(4, 3\)"):
        swapped.load_state_dict(saved)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


@pytest.mark.parametrize("make", [
    lambda ps: fovea.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: fovea.optim.Adam(ps, lr=0.05, amsgrad=True),
    lambda ps: fovea.optim.AdamW(ps, lr=0.05),
    lambda ps: fovea.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    lambda ps: fovea.optim.Adagrad(ps, lr=0.1, initial_accumulator_value=0.1),
], ids=["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_optimizers_keep_parameters_and_state_on_the_parameters_device(make):
    """Three steps on the stand-in device equal the CPU's, and every state tensor but the
    step counter (a host scalar, as in PyTorch) lives on the parameter's device."""
    from backends import standin

    w0 = np.random.default_rng(0).standard_normal((3, 4))
    results = []
    for on_device in (False, True):
        data = standin.to_device(w0) if on_device else w0.copy()
        w = fovea.nn.Parameter(fovea.Tensor(data))
        opt = make([w])
        for _ in range(3):
            opt.zero_grad()
            ((w * w).sum() + w.sum()).backward()
            opt.step()
        if on_device:
            assert isinstance(w._data, standin.StandInArray)
            for key, value in opt.state[w].items():
                if key != "step" and isinstance(value, fovea.Tensor):
                    assert isinstance(value._data, standin.StandInArray), key
        results.append(np.asarray(w.detach().numpy()))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12, atol=1e-14)
