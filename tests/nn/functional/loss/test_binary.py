"""nn/functional/loss/binary.py: binary cross-entropy on probabilities and on logits against
PyTorch through the shared harness (gradients to input and target, weights, pos_weight,
reductions, extreme logits), PyTorch's clamp of the logs at -100; errors."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, torch

REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(weighted, reduction):
    rng = np.random.default_rng(2)
    p, t = rng.uniform(0.02, 0.98, (4, 3)), rng.uniform(0, 1, (4, 3))
    if not weighted:
        check_op(lambda p, t: F.binary_cross_entropy(p, t, reduction=reduction),
                 lambda p, t: torch.nn.functional.binary_cross_entropy(p, t,
                                                                       reduction=reduction),
                 [p, t])
        return
    check_op(lambda p, t, w: F.binary_cross_entropy(p, t, w, reduction),
             lambda p, t, w: torch.nn.functional.binary_cross_entropy(p, t, w,
                                                                      reduction=reduction),
             [p, t, rng.uniform(0.5, 2, (3,))], grad_mask=[True, True, False])


def test_binary_cross_entropy_clamps_logs_at_minus_100_like_torch():
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-50])
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    # At p = 0 or 1 the gradient is (p - t) / 1e-12: no finite differences there.
    out = check_op(lambda p, t: F.binary_cross_entropy(p, t, reduction="none"),
                   lambda p, t: torch.nn.functional.binary_cross_entropy(p, t, reduction="none"),
                   [p, t], grad_mask=[True, False], fd=False, second_order=False)
    assert out.detach().numpy()[0] == 100


@pytest.mark.parametrize("pos_weight", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_torch(pos_weight, weighted, reduction):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3)) * 4
    x[0] = [0.0, 800.0, -800.0]  # the kink of |x| in the stable formula, and extreme logits
    arrays = [x, rng.uniform(0, 1, (5, 3)),
              rng.uniform(0.5, 2, (5, 1)) if weighted else None,
              rng.uniform(0.5, 3, 3) if pos_weight else None]
    given = [a is not None for a in arrays]

    def call(fn, *tensors, **kw):
        it = iter(tensors)
        x, t, w, pw = [next(it) if g else None for g in given]
        return fn(x, t, w, pos_weight=pw, reduction=reduction, **kw)

    inputs = [a for a in arrays if a is not None]
    check_op(lambda *a: call(F.binary_cross_entropy_with_logits, *a),
             lambda *a: call(torch.nn.functional.binary_cross_entropy_with_logits, *a),
             inputs, grad_mask=[True, True] + [False] * (len(inputs) - 2))


def test_bce_errors():
    x = fovea.randn(4, 3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(x, x)
    with pytest.raises(ValueError, match=r"weight of shape \(2,\) cannot be broadcast"):
        F.binary_cross_entropy(x.sigmoid(), x.sigmoid(), fovea.ones(2))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) cannot be broadcast"):
        F.binary_cross_entropy_with_logits(x, x.sigmoid(), pos_weight=fovea.ones(2))
