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


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("p", [2.0, 1.0])
def test_triplet_margin_loss_matches_torch(swap, reduction, p):
    rng = np.random.default_rng(21)
    a, pos, neg = (rng.standard_normal((6, 4)) for _ in range(3))
    check_op(lambda x, y, z: F.triplet_margin_loss(x, y, z, margin=1.5, p=p, swap=swap,
                                                   reduction=reduction),
             lambda x, y, z: torch.nn.functional.triplet_margin_loss(
                 x, y, z, margin=1.5, p=p, swap=swap, reduction=reduction),
             [a, pos, neg])


def test_triplet_margin_loss_of_unbatched_vectors_and_legacy_flags_match_torch():
    rng = np.random.default_rng(22)
    a, pos, neg = (rng.standard_normal(5) for _ in range(3))
    check_op(lambda x, y, z: F.triplet_margin_loss(x, y, z, size_average=False),
             lambda x, y, z: torch.nn.functional.triplet_margin_loss(x, y, z, reduction="sum"),
             [a, pos, neg])


def test_triplet_margin_with_distance_loss_takes_a_distance_function():
    rng = np.random.default_rng(23)
    a, pos, neg = (rng.standard_normal((5, 3)) for _ in range(3))

    def fv_dist(x, y):
        return 1 - F.cosine_similarity(x, y)

    def t_dist(x, y):
        return 1 - torch.nn.functional.cosine_similarity(x, y)
    check_op(lambda x, y, z: F.triplet_margin_with_distance_loss(
                 x, y, z, distance_function=fv_dist, margin=0.5, swap=True),
             lambda x, y, z: torch.nn.functional.triplet_margin_with_distance_loss(
                 x, y, z, distance_function=t_dist, margin=0.5, swap=True),
             [a, pos, neg])


def test_triplet_margin_loss_errors():
    x = fovea.randn(3, 4)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(x, x, x, margin=0.0)
    with pytest.raises(RuntimeError, match="same number of dimensions, but got: anchor 2D, "
                                           "positive 1D, and negative 2D inputs"):
        F.triplet_margin_loss(x, fovea.randn(4), x)
