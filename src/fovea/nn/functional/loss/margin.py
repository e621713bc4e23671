"""Margin losses: the lectures' multiclass SVM (hinge) loss, ``svm_loss``, and the triplet
losses ``triplet_margin_loss`` / ``triplet_margin_with_distance_loss``."""

from __future__ import annotations

from fovea.errors import ShapeError
from fovea.nn.functional.distance import pairwise_distance
from fovea.nn.functional.loss.reduction import check_reduction, legacy_reduction, reduce_loss
from fovea.ops._util import as_tensor, require_float, xp_of
from fovea.ops.arithmetic import clamp, minimum, where
from fovea.ops.index import take_along_axis
from fovea.tensor import Tensor


def svm_loss(scores: Tensor, y: Tensor, delta: float = 1.0, squared: bool = False,
             reduction: str = "mean") -> Tensor:
    """Multiclass SVM loss: L_i = Σ_{j ≠ y_i} max(0, s_j - s_{y_i} + Δ).

    With ``squared=True`` each term is squared (the L2-SVM). The 'mean' reduction averages
    L_i over the N examples (the lectures' data loss). PyTorch's ``multi_margin_loss`` with
    p=1, margin=Δ is the same sum divided by the number of classes C.

    Args:
        scores: (N, C) class scores.
        y: (N,) integer labels in [0, C).
        delta: the margin Δ (> 0).
        squared: square each hinge term.
        reduction: 'mean', 'sum' or 'none' ((N,) per-example losses).
    """
    scores, y = as_tensor(scores, op="svm_loss"), as_tensor(y, op="svm_loss")
    check_reduction(reduction, "svm_loss")
    require_float(scores, "svm_loss", "scores")
    if scores.ndim != 2:
        raise ValueError(f"svm_loss: expected scores of shape (N, C), got {scores.shape}")
    n, c = scores.shape
    if y.dtype.kind not in "iu":
        raise TypeError(f"svm_loss: y must hold integer class labels, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"svm_loss: scores of shape {scores.shape} need labels of shape ({n},), "
                         f"got {y.shape}")
    if delta <= 0:
        raise ValueError(f"svm_loss: delta must be positive, got {delta}")
    labels = y._data
    if labels.size and (labels.min() < 0 or labels.max() >= c):
        raise IndexError(f"svm_loss: labels must be in [0, {c}), got values from "
                         f"{labels.min()} to {labels.max()}")
    idx = labels.reshape(n, 1)
    correct = take_along_axis(scores, idx, 1)
    margins = (scores - correct + delta).relu()
    is_label = Tensor._make(xp_of(scores).arange(c) == idx, None)
    margins = where(is_label, 0.0, margins)
    if squared:
        margins = margins * margins
    return reduce_loss(margins.sum(1), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """Triplet loss with any distance d: max(d(a, p) - d(a, n) + margin, 0).

    Args:
        anchor, positive, negative: (N, D) or (D,), all of one rank.
        distance_function: d(x1, x2) -> (N,) (default :func:`pairwise_distance`).
        margin: the required gap (> 0) between the negative and the positive distance.
        swap: use min(d(a, n), d(p, n)) as the negative distance (Balntas et al., 2016).
        reduction: 'mean', 'sum' or 'none' ((N,)).
    """
    op = "triplet_margin_loss"
    check_reduction(reduction, op)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    anchor, positive, negative = (as_tensor(t, op=op) for t in (anchor, positive, negative))
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ShapeError(f"{op}: the anchor, positive, and negative tensors are expected to have "
                         f"the same number of dimensions, but got: anchor {anchor.ndim}D, "
                         f"positive {positive.ndim}D, and negative {negative.ndim}D inputs")
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = minimum(d_neg, dist(positive, negative))
    return reduce_loss(clamp(margin + d_pos - d_neg, min=0.0), reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """Triplet loss (Schroff et al., 2015) with the p-norm distance ‖x1 - x2 + eps‖_p:
    max(d(a, p) - d(a, n) + margin, 0) per triplet.

    Args:
        anchor, positive, negative: (N, D) or (D,), all of one rank.
        margin, swap, reduction: as in :func:`triplet_margin_with_distance_loss`.
        p, eps: the distance's norm and the eps added to each difference.
        size_average, reduce: PyTorch's deprecated reduction flags.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    return triplet_margin_with_distance_loss(
        anchor, positive, negative,
        distance_function=lambda x1, x2: pairwise_distance(x1, x2, p, eps),
        margin=margin, swap=swap, reduction=reduction)
