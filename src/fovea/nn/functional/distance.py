"""Norms and distances between vectors: ``normalize``, ``cosine_similarity``,
``pairwise_distance`` (PyTorch's formulas, eps placements and reductions).

All three rest on one p-norm node, :class:`VectorNorm`, whose backward is PyTorch's
(``x / ‖x‖`` for p = 2, 0 where the norm is 0, so that normalising a zero vector has a
finite gradient), written with ``ctx.xp`` and the saved norm, so it is differentiable again.
"""

from __future__ import annotations

import math
import numbers

from fovea.autograd import Function
from fovea.errors import ShapeError
from fovea.ops import arithmetic
from fovea.ops._util import as_tensor, normalize_dim, require_float, xp_of
from fovea.tensor import Tensor

__all__ = ["cosine_similarity", "normalize", "pairwise_distance"]


class VectorNorm(Function):
    """‖x‖_p = (Σ |x|^p)^(1/p) over ``axes`` (max |x| for p = inf, Σ |x| for p = 1).

    Backward (PyTorch's, 0 where the norm is 0): p = 2: x / ‖x‖; p = 1: sign(x); p = inf:
    sign(x) split evenly among the maxima; other p: sign(x) |x|^(p-1) / ‖x‖^(p-1).
    """

    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        xp = ctx.xp
        a = xp.abs(x)
        if p == 2:
            out = xp.sqrt(xp.sum(x * x, axis=axes, keepdims=True))
        elif p == 1:
            out = xp.sum(a, axis=axes, keepdims=True)
        elif p == math.inf:
            out = xp.max(a, axis=axes, keepdims=True)
        else:
            out = xp.sum(a ** p, axis=axes, keepdims=True) ** (1.0 / p)
        ctx.p, ctx.kshape = p, out.shape
        if not keepdim:
            out = out.reshape([s for i, s in enumerate(out.shape) if i not in axes])
        ctx.save_for_backward(x, out)  # the returned array: re-attached when recording
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        xp = ctx.xp
        p = ctx.p
        g = xp.reshape(g, ctx.kshape)
        n = xp.reshape(out, ctx.kshape)
        if p == 1:
            return g * xp.sign(x)
        zero = n == 0
        safe = xp.where(zero, 1.0, n)
        if p == 2:
            scaled = x / safe
        elif p == math.inf:
            hit = (xp.abs(x) == n) & ~zero
            count = xp.sum(xp.astype(hit, x.dtype), axis=_axes(ctx, x.ndim), keepdims=True)
            scaled = xp.sign(x) * xp.astype(hit, x.dtype) / xp.where(zero, 1.0, count)
        else:
            scaled = xp.sign(x) * xp.abs(x) ** (p - 1) / safe ** (p - 1)
        return xp.where(zero, 0 * g, g) * scaled


def _axes(ctx, ndim):
    return tuple(i for i in range(ndim) if ctx.kshape[i] == 1)


def _norm(x: Tensor, p, dim: int, keepdim: bool) -> Tensor:
    """‖x‖_p along one axis ``dim`` (p > 0 or inf)."""
    p = float(p)
    if not (p > 0):
        raise ValueError(f"norm: p must be positive (or inf), got {p}")
    d = normalize_dim(dim, x.ndim, "norm") if x.ndim else 0
    axes = (d,) if x.ndim else ()
    return VectorNorm.apply(x, p=p, axes=axes, keepdim=keepdim)


def _float_tensor(x, op, arg="input"):
    x = as_tensor(x, op=op)
    require_float(x, op, arg)
    return x


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖_p, eps) along ``dim``: unit-norm vectors. (*) -> (*).

    Args:
        input: a floating tensor of any shape.
        p: the norm's exponent (2: Euclidean, 1, or ``math.inf``).
        dim: the axis holding the vectors.
        eps: the smallest denominator (a zero vector stays zero).
    """
    x = _float_tensor(input, "normalize")
    n = _norm(x, p, dim, keepdim=True)
    return x / arithmetic.clamp(n, min=float(eps))


def _broadcast(x1, x2, op):
    x1, x2 = _float_tensor(x1, op, "x1"), _float_tensor(x2, op, "x2")
    try:
        xp_of(x1).broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ShapeError(f"{op}: x1 of shape {x1.shape} and x2 of shape {x2.shape} cannot be "
                         f"broadcast together") from None
    if x1.dtype != x2.dtype:
        raise TypeError(f"{op}: x1 has dtype {x1.dtype} but x2 has {x2.dtype}")
    return x1, x2


def _clamped_value(n: Tensor, eps: float) -> Tensor:
    """max(n, eps) in value, with the gradient of n itself (PyTorch clamps the norms of
    cosine_similarity in place under no_grad)."""
    nd = n.detach()
    return n + (arithmetic.clamp(nd, min=eps) - nd)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ (x1 / max(‖x1‖, eps)) (x2 / max(‖x2‖, eps)) along ``dim``, in [-1, 1].

    Args:
        x1, x2: floating tensors that broadcast together, vectors along ``dim``.
        dim: the vector axis (of the broadcast shape).
        eps: the smallest norm (each vector is normalised first, as PyTorch does).

    Returns:
        The broadcast shape without ``dim``.
    """
    x1, x2 = _broadcast(x1, x2, "cosine_similarity")
    ndim = max(x1.ndim, x2.ndim)
    d = normalize_dim(dim, ndim, "cosine_similarity")
    if x1.ndim < ndim:
        x1 = x1.reshape(*([1] * (ndim - x1.ndim)), *x1.shape)
    if x2.ndim < ndim:
        x2 = x2.reshape(*([1] * (ndim - x2.ndim)), *x2.shape)
    n1 = _clamped_value(_norm(x1, 2, d, keepdim=True), float(eps))
    n2 = _clamped_value(_norm(x2, 2, d, keepdim=True), float(eps))
    return ((x1 / n1) * (x2 / n2)).sum(d)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """‖x1 - x2 + eps‖_p along the last axis (PyTorch adds eps to the difference).

    Args:
        x1, x2: (N, D) or (D,) (or any shapes that broadcast), vectors on the last axis.
        p: the norm's exponent (> 0, or ``math.inf``).
        eps: added to each difference, so that equal vectors have a finite gradient.
        keepdim: keep the last axis (of size 1).

    Returns:
        (N,) (or the broadcast shape without its last axis).
    """
    x1, x2 = _broadcast(x1, x2, "pairwise_distance")
    if not isinstance(p, numbers.Real) or p <= 0:
        raise ValueError(f"pairwise_distance: p must be a positive number, got {p!r}")
    diff = x1 - x2 + float(eps)
    if diff.ndim == 0:
        return _norm(diff.reshape(1), p, 0, keepdim).reshape(*([1] if keepdim else []))
    return _norm(diff, p, -1, keepdim)
