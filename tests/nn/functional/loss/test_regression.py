"""nn/functional/loss/regression.py: mse, l1, smooth L1 and Huber losses against PyTorch
through the shared harness, for every reduction, with gradients to input and target."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, torch

REDUCTIONS = ["mean", "sum", "none"]
# (id, fovea function, torch function name, keyword arguments)
REGRESSION = [
    ("mse", F.mse_loss, "mse_loss", {}),
    ("l1", F.l1_loss, "l1_loss", {}),
    ("smooth_l1", F.smooth_l1_loss, "smooth_l1_loss", {}),
    ("smooth_l1_b0.3", F.smooth_l1_loss, "smooth_l1_loss", {"beta": 0.3}),
    ("smooth_l1_b0", F.smooth_l1_loss, "smooth_l1_loss", {"beta": 0.0}),
    ("huber", F.huber_loss, "huber_loss", {}),
    ("huber_d2", F.huber_loss, "huber_loss", {"delta": 2.0}),
]
KINKED_AT_0 = {"l1", "smooth_l1_b0"}  # |d| has a kink at a tie d = 0


def _case(name, fn, tname, kw, reduction):
    return (lambda a, b: fn(a, b, reduction=reduction, **kw),
            lambda a, b: getattr(torch.nn.functional, tname)(a, b, reduction=reduction, **kw))


@pytest.mark.parametrize("name,fn,tname,kw", REGRESSION, ids=[r[0] for r in REGRESSION])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_match_torch(name, fn, tname, kw, reduction):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)) * 2, rng.standard_normal((4, 5))
    check_op(*_case(name, fn, tname, kw, reduction), [a, b])


@pytest.mark.parametrize("name,fn,tname,kw", REGRESSION, ids=[r[0] for r in REGRESSION])
def test_regression_losses_at_a_tie_match_torch(name, fn, tname, kw):
    # d = 0 at one element: the subgradient of |d| there is 0, as in PyTorch.
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    a[0, 0] = b[0, 0]
    check_op(*_case(name, fn, tname, kw, "sum"), [a, b], fd=name not in KINKED_AT_0)


def test_regression_loss_errors():
    x = fovea.randn(4, 3)
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match=r"mse_loss: input and target must have the same shape, "
                                         r"got \(4, 3\) and \(4, 1\)"):
        F.mse_loss(x, fovea.randn(4, 1))
    with pytest.raises(TypeError, match="input has dtype float32 but target has float64"):
        F.l1_loss(x, fovea.randn(4, 3, dtype=np.float64))
    with pytest.raises(ValueError, match="beta must be non-negative"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match="delta must be positive"):
        F.huber_loss(x, x, delta=0.0)
