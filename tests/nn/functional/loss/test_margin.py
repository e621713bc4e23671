"""nn/functional/loss/margin.py: the lectures' multiclass SVM loss against PyTorch's
multi_margin_loss · C through the shared harness, the lecture's worked example; errors."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F
from oracle import check_op, torch

REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_svm_loss_matches_multi_margin_loss_times_classes(squared, reduction):
    rng = np.random.default_rng(1)
    n, c, delta = 6, 5, 1.5
    check_op(lambda s, y: F.svm_loss(s, y, delta=delta, squared=squared, reduction=reduction),
             lambda s, y: torch.nn.functional.multi_margin_loss(
                 s, y, p=2 if squared else 1, margin=delta, reduction=reduction) * c,
             [rng.standard_normal((n, c)), rng.integers(0, c, n)],
             second_order=False)  # PyTorch has no double backward of multi_margin_loss


def test_svm_loss_hand_worked_example_from_the_lecture():
    # CS231n lecture 3: scores of cat/car/frog images, Δ = 1: losses 2.9, 0, 12.9 (mean 5.27).
    scores = fovea.tensor(np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]))
    y = fovea.tensor([0, 1, 2])
    per_example = F.svm_loss(scores, y, reduction="none").numpy()
    np.testing.assert_allclose(per_example, [2.9, 0.0, 12.9], atol=1e-12)
    assert abs(nn.SVMLoss()(scores, y).item() - 15.8 / 3) < 1e-12
    # At initialisation (all scores equal) the loss is (C - 1) Δ.
    assert F.svm_loss(fovea.zeros(4, 10), fovea.tensor([1, 2, 3, 4])).item() == pytest.approx(9)


def test_svm_loss_errors():
    x = fovea.randn(4, 3)
    with pytest.raises(IndexError, match=r"labels must be in \[0, 3\)"):
        F.svm_loss(x, fovea.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"need labels of shape \(4,\)"):
        F.svm_loss(x, fovea.tensor([0, 1]))
    with pytest.raises(TypeError, match="integer class labels"):
        F.svm_loss(x, fovea.randn(4))
    with pytest.raises(ValueError, match="delta must be positive"):
        F.svm_loss(x, fovea.tensor([0, 1, 2, 0]), delta=0)
