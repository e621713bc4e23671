"""The multiclass SVM (hinge) loss of the lectures, ``svm_loss``."""

from __future__ import annotations

from fovea.nn.functional.loss.reduction import check_reduction, reduce_loss
from fovea.ops._util import as_tensor, require_float, xp_of
from fovea.ops.arithmetic import where
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
