"""Detection losses with torchvision's names: focal loss and the GIoU box loss (smooth L1 /
Huber are ``fovea.nn.functional.smooth_l1_loss`` / ``huber_loss``)."""

from __future__ import annotations

import fovea
import fovea.nn.functional as F
from fovea.errors import ShapeError
from fovea.nn.functional.loss.reduction import check_reduction, reduce_loss
from fovea.tensor import Tensor

__all__ = ["sigmoid_focal_loss", "generalized_box_iou_loss"]


def sigmoid_focal_loss(inputs: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2.0,
                       reduction: str = "none") -> Tensor:
    """Focal loss (Lin et al. 2017) on logits: ``-α_t (1 - p_t)^γ log p_t`` elementwise, with
    ``p = sigmoid(inputs)``, ``p_t = p`` where the target is 1 and ``1 - p`` where 0, and
    ``α_t = α`` / ``1 - α`` (no weighting when ``alpha < 0``).

    Args:
        inputs: logits of any shape; targets: the same shape, in [0, 1].
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
    """
    check_reduction(reduction, "sigmoid_focal_loss")
    if inputs.shape != targets.shape:
        raise ShapeError(f"sigmoid_focal_loss: inputs {tuple(inputs.shape)} and targets "
                         f"{tuple(targets.shape)} must have the same shape")
    p = inputs.sigmoid()
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return reduce_loss(loss, reduction)


def generalized_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none",
                             eps: float = 1e-7) -> Tensor:
    """``1 - GIoU`` of corresponding xyxy boxes (N, 4) and (N, 4) (elementwise, not all
    pairs, as torchvision); ``eps`` keeps the divisions finite for empty boxes."""
    check_reduction(reduction, "generalized_box_iou_loss")
    if boxes1.shape != boxes2.shape or boxes1.shape[-1] != 4:
        raise ShapeError(f"generalized_box_iou_loss: expected two (N, 4) box tensors, got "
                         f"{tuple(boxes1.shape)} and {tuple(boxes2.shape)}")
    x1, y1, x2, y2 = (boxes1[..., i] for i in range(4))
    u1, v1, u2, v2 = (boxes2[..., i] for i in range(4))
    xi1, yi1 = fovea.maximum(x1, u1), fovea.maximum(y1, v1)
    xi2, yi2 = fovea.minimum(x2, u2), fovea.minimum(y2, v2)
    inter = (xi2 - xi1).clamp(min=0) * (yi2 - yi1).clamp(min=0)
    union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
    iou = inter / (union + eps)
    xc1, yc1 = fovea.minimum(x1, u1), fovea.minimum(y1, v1)
    xc2, yc2 = fovea.maximum(x2, u2), fovea.maximum(y2, v2)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    loss = 1 - (iou - (area_c - union) / (area_c + eps))
    return reduce_loss(loss, reduction)
