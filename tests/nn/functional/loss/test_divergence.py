"""nn/functional/loss/divergence.py: kl_div against PyTorch through the shared harness, for
every reduction, with probability or log-probability targets; errors."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, torch


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
def test_kl_div_matches_torch(log_target, reduction):
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((4, 6))
    logq = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    p = rng.dirichlet(np.ones(6), 4)
    p[0, 2] = 0.0  # a zero-probability target contributes 0 (and is the edge of t log t)
    tgt = np.log(p + 1e-3) if log_target else p
    check_op(lambda x, t: F.kl_div(x, t, reduction, log_target),
             lambda x, t: torch.nn.functional.kl_div(x, t, reduction=reduction,
                                                     log_target=log_target),
             [logq, tgt], grad_mask=[True, log_target])


def test_kl_div_errors():
    x = fovea.randn(4, 3)
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.kl_div(x, x, reduction="avg")
