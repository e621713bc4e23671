"""Regression losses: ``mse_loss``, ``l1_loss``, ``smooth_l1_loss``, ``huber_loss``.

Each takes ``input`` and ``target`` of the same shape (a mismatch, which PyTorch broadcasts
with a warning, is an error here: it is almost always a bug such as (N, 1) against (N,)) and
``reduction`` in 'mean' (over all elements), 'sum' or 'none' (elementwise, input's shape).
Gradients flow to both input and target.
"""

from __future__ import annotations

from fovea.nn.functional.loss.reduction import pair, reduce_loss
from fovea.ops.arithmetic import where
from fovea.tensor import Tensor


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Squared error (x - y)². Shapes: input (*), target (*)."""
    input, target = pair(input, target, reduction, "mse_loss")
    d = input - target
    return reduce_loss(d * d, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Absolute error |x - y| (gradient sign(x - y), 0 at a tie). Shapes: (*), (*)."""
    input, target = pair(input, target, reduction, "l1_loss")
    return reduce_loss((input - target).abs(), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d² / β where |d| < β, else |d| - 0.5 β (d = x - y); β = 0 gives the L1 loss."""
    input, target = pair(input, target, reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    d = input - target
    a = d.abs()
    if beta == 0:
        return reduce_loss(a, reduction)
    return reduce_loss(where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """0.5 d² where |d| < δ, else δ (|d| - 0.5 δ); equals δ · smooth_l1_loss(β=δ)."""
    input, target = pair(input, target, reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    d = input - target
    a = d.abs()
    return reduce_loss(where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction)
