"""CosineAnnealingWarmRestarts (with fractional and out-of-order epochs) and CyclicLR (every
mode, custom scale functions, momentum cycling): lr and momentum sequences against PyTorch's
over many steps, the formulas by hand, state dicts and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fovea import optim
from fovea.nn import Parameter
from fovea.optim import lr_scheduler as fls


def _fovea_opt(kind="SGD", lrs=(0.1, 0.03)):
    groups = [{"params": [Parameter(np.zeros(2))], "lr": lr} for lr in lrs]
    if kind == "SGD":
        return optim.SGD(groups, lr=lrs[0], momentum=0.9)
    if kind == "Adam":
        return optim.Adam(groups, lr=lrs[0])
    return optim.Adagrad(groups, lr=lrs[0])


def _torch_opt(torch, kind="SGD", lrs=(0.1, 0.03)):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    if kind == "SGD":
        return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)
    if kind == "Adam":
        return torch.optim.Adam(groups, lr=lrs[0])
    return torch.optim.Adagrad(groups, lr=lrs[0])


def _snapshot(opt):
    out = []
    for g in opt.param_groups:
        out.append(g["lr"])
        out.append(g.get("momentum", g["betas"][0] if "betas" in g else 0.0))
    return out


def _sequence(opt, sched, epochs):
    """lr and momentum of each group after construction and after each ``step(e)``."""
    seq = [_snapshot(opt)]
    for e in epochs:
        opt.step()
        sched.step() if e is None else sched.step(e)
        seq.append(_snapshot(opt))
    return np.array(seq, dtype=float)


WARM = [
    (dict(T_0=7), [None] * 60),
    (dict(T_0=5, T_mult=2, eta_min=0.001), [None] * 80),
    (dict(T_0=3, T_mult=3), [None] * 50),
    (dict(T_0=4, T_mult=2, eta_min=0.01),                 # per-batch fractional epochs
     [e + i / 5 for e in range(20) for i in range(5)]),
    (dict(T_0=10), [e + i / 3 for e in range(30) for i in range(3)]),
    (dict(T_0=2, T_mult=2), [0.5, 3, 26, None, None, 1.25, 9.99, None, 100, 6, None]),
]


@pytest.mark.parametrize("kwargs,epochs", WARM, ids=[f"warm-{i}" for i in range(len(WARM))])
def test_warm_restarts_match_pytorch(kwargs, epochs):
    torch = pytest.importorskip("torch")
    fo, to = _fovea_opt(), _torch_opt(torch)
    fs = fls.CosineAnnealingWarmRestarts(fo, **kwargs)
    ts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(to, **kwargs)
    np.testing.assert_allclose(_sequence(fo, fs, epochs), _sequence(to, ts, epochs),
                               rtol=1e-12, atol=1e-15)
    assert fs.last_epoch == ts.last_epoch and fs.T_i == ts.T_i


def test_warm_restarts_follow_the_sgdr_formula_by_hand():
    opt = _fovea_opt(lrs=(1.0,))
    sched = fls.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.0)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(7):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    # periods 2, 4, 8: restarts at epochs 2 and 6
    t = [(0, 2), (1, 2), (0, 4), (1, 4), (2, 4), (3, 4), (0, 8), (1, 8)]
    expected = [(1 + math.cos(math.pi * c / n)) / 2 for c, n in t]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)


CYCLIC = [
    (dict(base_lr=0.01, max_lr=0.1, step_size_up=5), "SGD"),
    (dict(base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=7, mode="triangular2"),
     "SGD"),
    (dict(base_lr=[0.01, 0.001], max_lr=[0.1, 0.05], step_size_up=6, mode="exp_range",
          gamma=0.97, base_momentum=[0.8, 0.7], max_momentum=[0.95, 0.9]), "SGD"),
    (dict(base_lr=0.001, max_lr=0.01, step_size_up=3, mode="triangular2"), "Adam"),
    (dict(base_lr=0.01, max_lr=0.1, step_size_up=5, cycle_momentum=False), "Adagrad"),
    (dict(base_lr=0.01, max_lr=0.1, step_size_up=5, step_size_down=2,
          scale_fn=lambda x: 1 / (1 + 0.3 * x)), "SGD"),
    (dict(base_lr=0.01, max_lr=0.1, step_size_up=5, scale_mode="iterations",
          scale_fn=lambda x: 0.99 ** x), "Adam"),
]


@pytest.mark.parametrize("kwargs,kind", CYCLIC, ids=[f"cyclic-{i}" for i in range(len(CYCLIC))])
def test_cyclic_lr_and_momentum_match_pytorch_for_many_steps(kwargs, kind):
    torch = pytest.importorskip("torch")
    fo, to = _fovea_opt(kind), _torch_opt(torch, kind)
    fs = fls.CyclicLR(fo, **kwargs)
    ts = torch.optim.lr_scheduler.CyclicLR(to, **kwargs)
    steps = [None] * 100
    np.testing.assert_allclose(_sequence(fo, fs, steps), _sequence(to, ts, steps),
                               rtol=1e-12, atol=1e-15)
    assert fs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)


def test_triangular_cycle_by_hand():
    opt = _fovea_opt(lrs=(0.0,))
    sched = fls.CyclicLR(opt, base_lr=1.0, max_lr=5.0, step_size_up=2, step_size_down=2,
                         cycle_momentum=False)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(8):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([1, 3, 5, 3, 1, 3, 5, 3, 1])


class _Halving:
    """A callable object: its attributes are saved in the state dict (as PyTorch does)."""

    def __init__(self):
        self.base = 0.5

    def __call__(self, x):
        return self.base ** (x - 1)


def test_cyclic_state_dict_round_trip_resumes_the_sequence():
    fo = _fovea_opt()
    fn = _Halving()
    sched = fls.CyclicLR(fo, base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=fn)
    for _ in range(5):
        sched.step()
    saved = sched.state_dict()
    assert saved["_scale_fn_custom"] == {"base": 0.5}
    fn.base = 0.9  # restored from the state dict on load
    fo2 = _fovea_opt()
    sched2 = fls.CyclicLR(fo2, base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=fn)
    sched2.load_state_dict(saved)
    assert fn.base == 0.5
    fn_ref = _Halving()
    ref = fls.CyclicLR(_fovea_opt(), base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=fn_ref)
    for _ in range(10):
        ref.step()
    for _ in range(5):
        sched2.step()
    assert sched2.get_last_lr() == pytest.approx(ref.get_last_lr(), rel=1e-12)
    lam = fls.CyclicLR(_fovea_opt(), base_lr=0.01, max_lr=0.1, scale_fn=lambda x: 1.0)
    assert lam.state_dict()["_scale_fn_custom"] is None


def test_warm_restarts_state_dict_round_trip():
    fo = _fovea_opt()
    sched = fls.CosineAnnealingWarmRestarts(fo, T_0=3, T_mult=2)
    for _ in range(4):
        sched.step()
    saved = sched.state_dict()
    fo2 = _fovea_opt()
    sched2 = fls.CosineAnnealingWarmRestarts(fo2, T_0=3, T_mult=2)
    sched2.load_state_dict(saved)
    for _ in range(6):
        sched.step()
        sched2.step()
    assert sched.get_last_lr() == sched2.get_last_lr() and sched2.T_i == sched.T_i


@pytest.mark.parametrize("make,message", [
    (lambda o: fls.CosineAnnealingWarmRestarts(o, T_0=0), "T_0"),
    (lambda o: fls.CosineAnnealingWarmRestarts(o, T_0=2.5), "T_0 must be an integer"),
    (lambda o: fls.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), "T_mult"),
    (lambda o: fls.CosineAnnealingWarmRestarts(o, T_0=2).step(-1), "epoch"),
    (lambda o: fls.CyclicLR(o, 0.01, 0.1, mode="zigzag"), "mode"),
    (lambda o: fls.CyclicLR(o, 0.01, 0.1, scale_mode="epochs", scale_fn=abs), "scale_mode"),
    (lambda o: fls.CyclicLR(o, [0.01], 0.1), "one value per parameter group"),
    (lambda o: fls.CyclicLR(o, 0.01, 0.1, step_size_up=0), "step_size_up"),
])
def test_invalid_arguments_are_refused_by_name(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make(_fovea_opt())


def test_cycle_momentum_needs_an_optimizer_with_momentum():
    opt = optim.Adagrad([Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match="neither momentum nor betas"):
        fls.CyclicLR(opt, 0.01, 0.1)
