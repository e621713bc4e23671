"""nn/functional/loss/likelihood.py: poisson_nll_loss and gaussian_nll_loss against PyTorch
through the shared harness (every reduction, log_input/full, var shapes); errors."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, torch

TF = torch.nn.functional if torch else None


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("log_input,full", [(True, False), (False, False), (True, True),
                                            (False, True)])
def test_poisson_nll_loss_matches_torch(log_input, full, reduction):
    rng = np.random.default_rng(31)
    x = rng.standard_normal((4, 5)) if log_input else rng.uniform(0.2, 3.0, (4, 5))
    t = rng.poisson(2.0, (4, 5)).astype(np.float64)
    t[0, :3] = [0.0, 1.0, 1.5]  # targets at and below the Stirling cut-off (t ≤ 1)

    def ref(a, b):
        loss = np.exp(a) - b * a if log_input else a - b * np.log(a + 1e-8)
        if full:
            s = np.where(b > 1, b * np.log(np.maximum(b, 1)) - b
                         + 0.5 * np.log(2 * np.pi * np.maximum(b, 1)), 0)
            loss = loss + s
        return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
    check_op(lambda a, b: F.poisson_nll_loss(a, b, log_input, full, reduction=reduction),
             lambda a, b: TF.poisson_nll_loss(a, b, log_input, full, reduction=reduction),
             [x, t], grad_mask=[True, False], numpy_fn=ref)


def test_poisson_nll_loss_gradient_reaches_the_target_as_torch():
    rng = np.random.default_rng(32)
    check_op(lambda a, b: F.poisson_nll_loss(a, b), lambda a, b: TF.poisson_nll_loss(a, b),
             [rng.standard_normal(6), rng.uniform(0.5, 4.0, 6)])


VAR_SHAPES = [(4, 3), (4, 1), (4,), (1, 3)]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("var_shape", VAR_SHAPES, ids=[str(s) for s in VAR_SHAPES])
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_loss_matches_torch(var_shape, full, reduction):
    rng = np.random.default_rng(33)
    x, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    v = rng.uniform(0.1, 2.0, var_shape)
    check_op(lambda a, b, c: F.gaussian_nll_loss(a, b, c, full=full, reduction=reduction),
             lambda a, b, c: TF.gaussian_nll_loss(a, b, c, full=full, reduction=reduction),
             [x, t, v])


def test_gaussian_nll_loss_clamps_the_variance_value_but_not_its_gradient():
    rng = np.random.default_rng(34)
    v = np.array([1e-9, 0.5, 0.0, 2.0])  # below eps: clamped to eps in value
    check_op(lambda a, b, c: F.gaussian_nll_loss(a, b, c, eps=1e-3),
             lambda a, b, c: TF.gaussian_nll_loss(a, b, c, eps=1e-3),
             [rng.standard_normal(4), rng.standard_normal(4), v], fd=False)


def test_gaussian_nll_loss_takes_a_float_variance():
    rng = np.random.default_rng(35)
    check_op(lambda a, b: F.gaussian_nll_loss(a, b, 0.7),
             lambda a, b: TF.gaussian_nll_loss(a, b, 0.7),
             [rng.standard_normal((3, 2)), rng.standard_normal((3, 2))])


def test_likelihood_loss_errors():
    x = fovea.randn(4, 3)
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(x, x, -fovea.ones(4, 3))
    with pytest.raises(RuntimeError, match=r"var of shape \(2, 3\) does not fit"):
        F.gaussian_nll_loss(x, x, fovea.ones(2, 3))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.poisson_nll_loss(x, x, reduction="batchmean")
