"""Shared helpers of the loss functions: argument checks and the final reduction."""

from __future__ import annotations

from fovea.ops._util import as_tensor, require_float
from fovea.tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str, op: str) -> None:
    """Refuse a ``reduction`` other than 'mean', 'sum' or 'none', naming the loss ``op``."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def reduce_loss(losses: Tensor, reduction: str) -> Tensor:
    """'none' -> the elementwise losses, 'sum' -> their sum, 'mean' -> their mean."""
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.mean()


def pair(input, target, reduction: str, op: str):
    """Validate an (input, target) pair of the same shape and floating dtype."""
    input, target = as_tensor(input, op=op), as_tensor(target, op=op)
    check_reduction(reduction, op)
    require_float(input, op)
    require_float(target, op, "target")
    if input.shape != target.shape:
        raise ValueError(f"{op}: input and target must have the same shape, got {input.shape} "
                         f"and {target.shape}")
    if input.dtype != target.dtype:
        raise TypeError(f"{op}: input has dtype {input.dtype} but target has {target.dtype}")
    return input, target


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated ``size_average`` / ``reduce`` flags as a ``reduction`` string
    (``reduce=False`` -> 'none'; else ``size_average=False`` -> 'sum'; else 'mean')."""
    if size_average is None and reduce is None:
        return reduction
    if reduce is not None and not reduce:
        return "none"
    return "sum" if size_average is not None and not size_average else "mean"
