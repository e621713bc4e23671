"""Negative log-likelihood losses of count and real-valued targets: ``poisson_nll_loss`` and
``gaussian_nll_loss`` (PyTorch's formulas, constants and shape rules)."""

from __future__ import annotations

import math
import numbers

from fovea.creation import full_like
from fovea.errors import ShapeError
from fovea.nn.functional.loss.reduction import check_reduction, legacy_reduction, reduce_loss
from fovea.ops import arithmetic
from fovea.ops._util import as_tensor, require_float, xp_of
from fovea.tensor import Tensor


def _operands(input, target, op):
    input, target = as_tensor(input, op=op), as_tensor(target, like=input, op=op)
    require_float(input, op)
    require_float(target, op, "target")
    try:
        xp_of(input).broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ShapeError(f"{op}: input of shape {input.shape} and target of shape "
                         f"{target.shape} cannot be broadcast together") from None
    return input, target


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of a Poisson target with rate λ (dropping log(t!)).

    ℓ = e^x - t x with ``log_input`` (x = log λ), else x - t log(x + eps) (x = λ). With
    ``full`` the Stirling approximation of log(t!), t log t - t + ½ log(2π t), is added
    where t > 1.

    Args:
        input: x, any shape (*).
        target: counts t, broadcastable to the input.
        log_input, full, eps: as above.
        size_average, reduce: PyTorch's deprecated reduction flags.
        reduction: 'mean', 'sum' or 'none' ((*) elementwise).
    """
    op = "poisson_nll_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction, op)
    input, target = _operands(input, target, op)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + float(eps)).log()
    if full:
        big = target > 1
        safe = arithmetic.where(big, target, 2.0)  # log of t ≤ 1 is never taken
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + arithmetic.where(big, stirling, 0.0)
    return reduce_loss(loss, reduction)


def _match_var(var: Tensor, input: Tensor, op: str) -> Tensor:
    """PyTorch's shapes for ``var``: the input's, the input's without its last axis
    (homoscedastic per vector), or the input's with one axis of size 1."""
    if var.shape == input.shape:
        return var
    if var.shape == input.shape[:-1]:
        return var.unsqueeze(-1)
    if var.ndim == input.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
        return var
    raise ShapeError(f"{op}: var of shape {var.shape} does not fit the input's shape "
                     f"{input.shape} (expected that shape, one axis of it set to 1, or the "
                     f"shape without its last axis)")


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target`` under N(input, var): ½ (log v + (x - t)² / v),
    plus ½ log(2π) with ``full``.

    ``var`` is clamped below at ``eps`` in value only (as PyTorch does under no_grad, so its
    gradient is that of the unclamped expression).

    Args:
        input: the means x, (N, *) or (*).
        target: samples t, broadcastable to the input.
        var: positive variances: the input's shape, the input's shape with one axis of size 1
            or without its last axis (one variance per vector), or a positive float.
        full: add the constant ½ log(2π).
        eps: the smallest variance used.
        reduction: 'mean', 'sum' or 'none'.
    """
    op = "gaussian_nll_loss"
    check_reduction(reduction, op)
    input, target = _operands(input, target, op)
    if isinstance(var, numbers.Real) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries ({var})")
        var = full_like(input, float(var))
    else:
        var = as_tensor(var, op=op)
        require_float(var, op, "var")
        if var._data.size and bool((var._data < 0).any()):
            raise ValueError(f"{op}: var has negative entry/entries")
        var = _match_var(var, input, op)
    vd = var.detach()
    var = var + (arithmetic.clamp(vd, min=float(eps)) - vd)  # the value clamped, not the grad
    d = input - target
    loss = 0.5 * (var.log() + d * d / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)
