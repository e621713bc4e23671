"""Learning-rate schedules: the same lr sequences as PyTorch's (to ~1e-12), 1/t decay against its
formula, ReduceLROnPlateau on scripted metrics, state dicts and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fovea import optim
from fovea.nn import Parameter
from fovea.optim import lr_scheduler as fls

STEPS = 30


def _fovea_opt(kind="SGD", lrs=(0.1, 0.03)):
    groups = [{"params": [Parameter(np.zeros(2))], "lr": lr} for lr in lrs]
    if kind == "SGD":
        return optim.SGD(groups, lr=lrs[0], momentum=0.9)
    return optim.Adam(groups, lr=lrs[0])


def _torch_opt(torch, kind="SGD", lrs=(0.1, 0.03)):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    if kind == "SGD":
        return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)
    return torch.optim.Adam(groups, lr=lrs[0])


def _sequence(opt, sched, steps=STEPS, metric=None):
    """lr (and momentum / beta1) of every group after construction and after each step."""
    def snapshot():
        out = []
        for g in opt.param_groups:
            out.append(g["lr"])
            out.append(g["momentum"] if "momentum" in g else g["betas"][0])
        return out

    seq = [snapshot()]
    for i in range(steps):
        opt.step()
        sched.step(metric[i]) if metric is not None else sched.step()
        seq.append(snapshot())
    return np.array(seq, dtype=float)


CASES = [
    ("StepLR", dict(step_size=7, gamma=0.5), "SGD"),
    ("MultiStepLR", dict(milestones=[3, 10, 10, 22], gamma=0.3), "SGD"),
    ("ExponentialLR", dict(gamma=0.9), "SGD"),
    ("CosineAnnealingLR", dict(T_max=12, eta_min=0.001), "SGD"),
    ("CosineAnnealingLR", dict(T_max=30), "Adam"),
    ("LinearLR", dict(start_factor=0.1, end_factor=1.0, total_iters=8), "SGD"),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.2, total_iters=40), "SGD"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=STEPS), "SGD"),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], epochs=5, steps_per_epoch=6, pct_start=0.25,
                        anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0),
     "Adam"),
    ("OneCycleLR", dict(max_lr=0.4, total_steps=STEPS, three_phase=True,
                        base_momentum=0.8, max_momentum=0.9), "SGD"),
    ("OneCycleLR", dict(max_lr=0.4, total_steps=STEPS, cycle_momentum=False), "SGD"),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e + 0.1 * math.sin(e)), "SGD"),
]


@pytest.mark.parametrize("name,kwargs,kind", CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)])
def test_schedule_matches_pytorch(name, kwargs, kind):
    torch = pytest.importorskip("torch")
    fo, to = _fovea_opt(kind), _torch_opt(torch, kind)
    fs = getattr(fls, name)(fo, **kwargs)
    ts = getattr(torch.optim.lr_scheduler, name)(to, **kwargs)
    mine, theirs = _sequence(fo, fs), _sequence(to, ts)
    np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-15)
    assert fs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    assert fs.last_epoch == ts.last_epoch == STEPS
    assert np.ptp(mine[:, 0]) > 0  # the schedule did change the rate


def test_cosine_annealing_uses_pytorchs_recursion_not_the_closed_form():
    torch = pytest.importorskip("torch")
    fo, to = _fovea_opt(lrs=(0.1,)), _torch_opt(torch, lrs=(0.1,))
    fs = fls.CosineAnnealingLR(fo, T_max=7, eta_min=0.01)
    ts = torch.optim.lr_scheduler.CosineAnnealingLR(to, T_max=7, eta_min=0.01)
    mine, theirs = _sequence(fo, fs, 40), _sequence(to, ts, 40)
    np.testing.assert_array_equal(mine, theirs)  # the same floats, bit for bit
    # It is the cosine (period 2 T_max past T_max) up to rounding, but the closed form's floats
    # differ from the recursion's.
    t = np.arange(41)
    closed = 0.01 + 0.09 * (1 + np.cos(np.pi * t / 7)) / 2
    np.testing.assert_allclose(mine[:, 0], closed, rtol=1e-12)
    assert np.any(mine[:, 0] != closed)


def test_sequential_warmup_then_cosine_matches_pytorch():
    torch = pytest.importorskip("torch")

    def build(lib, opt):
        warm = lib.LinearLR(opt, start_factor=0.2, total_iters=5)
        cos = lib.CosineAnnealingLR(opt, T_max=20, eta_min=1e-3)
        return lib.SequentialLR(opt, [warm, cos], milestones=[5])

    fo, to = _fovea_opt(), _torch_opt(torch)
    fs, ts = build(fls, fo), build(torch.optim.lr_scheduler, to)
    np.testing.assert_allclose(_sequence(fo, fs), _sequence(to, ts), rtol=1e-12)


def test_chained_scheduler_matches_pytorch():
    torch = pytest.importorskip("torch")

    def build(lib, opt):
        return lib.ChainedScheduler([lib.ExponentialLR(opt, gamma=0.95),
                                     lib.StepLR(opt, step_size=4, gamma=0.5)])

    fo, to = _fovea_opt(), _torch_opt(torch)
    fs, ts = build(fls, fo), build(torch.optim.lr_scheduler, to)
    np.testing.assert_allclose(_sequence(fo, fs), _sequence(to, ts), rtol=1e-12)


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(mode="min", factor=0.5, patience=2, threshold=0.05, cooldown=1, min_lr=0.01),
    dict(mode="max", factor=0.3, patience=1, threshold_mode="abs", threshold=0.1),
    dict(mode="min", factor=0.5, patience=0, min_lr=[0.02, 0.001], eps=1e-3),
])
def test_reduce_on_plateau_matches_pytorch_on_a_scripted_metric(kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    # Improves, then plateaus with noise, then improves a little, then plateaus.
    metric = np.concatenate([np.linspace(2.0, 1.0, 8), 1.0 + 0.05 * rng.standard_normal(10),
                             np.linspace(0.95, 0.9, 4), np.full(18, 0.9)])
    if kwargs.get("mode") == "max":
        metric = -metric
    fo, to = _fovea_opt(), _torch_opt(torch)
    fs = fls.ReduceLROnPlateau(fo, **kwargs)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(to, **kwargs)
    mine = _sequence(fo, fs, len(metric), metric=metric)
    theirs = _sequence(to, ts, len(metric), metric=[float(m) for m in metric])
    np.testing.assert_allclose(mine, theirs, rtol=1e-15)
    assert fs.num_bad_epochs == ts.num_bad_epochs and fs.best == ts.best
    assert mine[-1, 0] < mine[0, 0]


@pytest.mark.parametrize("decay_rate,decay_steps,staircase", [(0.5, 1, False), (0.1, 4, False),
                                                              (1.0, 5, True)])
def test_inverse_time_decay_follows_its_formula(decay_rate, decay_steps, staircase):
    opt = _fovea_opt()
    sched = fls.InverseTimeLR(opt, decay_rate=decay_rate, decay_steps=decay_steps,
                              staircase=staircase)
    seq = _sequence(opt, sched)
    t = np.arange(STEPS + 1)
    k = np.floor(t / decay_steps) if staircase else t / decay_steps
    for i, lr0 in enumerate((0.1, 0.03)):
        np.testing.assert_allclose(seq[:, 2 * i], lr0 / (1 + decay_rate * k), rtol=1e-15)


def test_scheduler_state_dict_round_trip_resumes_the_sequence():
    def build(opt):
        warm = fls.LinearLR(opt, start_factor=0.1, total_iters=4)
        cos = fls.CosineAnnealingLR(opt, T_max=15)
        return fls.SequentialLR(opt, [warm, cos], milestones=[4])

    opt = _fovea_opt()
    sched = build(opt)
    _sequence(opt, sched, 10)
    saved_sched, saved_opt = sched.state_dict(), opt.state_dict()
    reference = _sequence(opt, sched, 10)

    opt2 = _fovea_opt(lrs=(1.0, 1.0))
    sched2 = build(opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    resumed = _sequence(opt2, sched2, 10)
    np.testing.assert_array_equal(resumed[1:], reference[1:])

    plateau = fls.ReduceLROnPlateau(opt, patience=0)
    plateau.step(1.0)
    plateau.step(2.0)
    sd = plateau.state_dict()
    assert "optimizer" not in sd and sd["num_bad_epochs"] == 0 and sd["best"] == 1.0


def test_resuming_with_last_epoch_needs_initial_lr():
    opt = _fovea_opt()
    with pytest.raises(KeyError, match="initial_lr"):
        fls.StepLR(opt, step_size=3, last_epoch=5)


@pytest.mark.parametrize("make,error,match", [
    (lambda o: fls.StepLR(o, step_size=0), ValueError, "step_size must be >= 1"),
    (lambda o: fls.StepLR(o, step_size=2.5), TypeError, "step_size must be an integer"),
    (lambda o: fls.ExponentialLR(o, gamma=-0.5), ValueError, "invalid gamma"),
    (lambda o: fls.CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be > 0"),
    (lambda o: fls.LinearLR(o, start_factor=0.0), ValueError, r"start_factor must be in"),
    (lambda o: fls.MultiStepLR(o, milestones=[2, -1]), ValueError, "milestones"),
    (lambda o: fls.OneCycleLR(o, max_lr=0.1), ValueError, "total_steps"),
    (lambda o: fls.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5), ValueError,
     "pct_start"),
    (lambda o: fls.OneCycleLR(o, max_lr=[0.1], total_steps=10), ValueError,
     "one value per parameter group"),
    (lambda o: fls.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
     ValueError, "anneal_strategy"),
    (lambda o: fls.ReduceLROnPlateau(o, factor=1.5), ValueError, "factor"),
    (lambda o: fls.ReduceLROnPlateau(o, mode="best"), ValueError, "mode"),
    (lambda o: fls.InverseTimeLR(o, decay_rate=0.1, decay_steps=0), ValueError, "decay_steps"),
    (lambda o: fls.StepLR("sgd", step_size=3), TypeError, "Optimizer"),
    (lambda o: fls.SequentialLR(o, [fls.StepLR(o, 2)], milestones=[3]), ValueError,
     "milestone"),
])
def test_bad_scheduler_arguments_raise(make, error, match):
    with pytest.raises(error, match=match):
        make(_fovea_opt())


def test_one_cycle_refuses_to_step_past_its_end():
    opt = _fovea_opt()
    sched = fls.OneCycleLR(opt, max_lr=0.1, total_steps=5)
    for _ in range(5):  # as PyTorch: last_epoch may reach total_steps, not pass it
        sched.step()
    with pytest.raises(ValueError, match="total_steps=5"):
        sched.step()
    plain = optim.Adagrad([Parameter(np.zeros(1))])
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        fls.OneCycleLR(plain, max_lr=0.1, total_steps=5)
