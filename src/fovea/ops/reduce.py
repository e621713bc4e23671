"""Reductions: sum, mean, var/std, max/min/amax/amin, logsumexp, argmax/argmin.

Every reduction takes ``dim`` (PyTorch) or ``axis`` (NumPy), an int or a tuple, and
``keepdim``. ``dim=None`` reduces over all elements.
"""

from __future__ import annotations

import builtins
from collections import namedtuple

from fovea import dtypes
from fovea.autograd import Function
from fovea.ops._util import as_tensor, normalize_dim, resolve_dims, xp_of
from fovea.tensor import Tensor

MaxResult = namedtuple("MaxResult", ["values", "indices"])
"""What ``max(dim=...)`` and ``min(dim=...)`` return, as ``torch.return_types.max`` does."""


def _expand_back(xp, g, shape, axes, keepdim):
    """Broadcast a reduced gradient back to ``shape`` (re-inserting reduced axes)."""
    if not keepdim and axes:
        g = xp.reshape(g, tuple(1 if i in axes else s for i, s in enumerate(shape)))
    return xp.broadcast_to(g, shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return ctx.xp.sum(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        axes = ctx.axes if ctx.axes is not None else tuple(range(len(ctx.shape)))
        return _expand_back(ctx.xp, g, ctx.shape, axes, ctx.keepdim)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        ctx.count = _count_reduced(x.shape, axes)
        return ctx.xp.mean(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        axes = ctx.axes if ctx.axes is not None else tuple(range(len(ctx.shape)))
        return _expand_back(ctx.xp, g / ctx.count, ctx.shape, axes, ctx.keepdim)


def _count_reduced(shape, axes) -> int:
    """How many elements each output element reduces over (all when ``axes`` is None)."""
    n = 1
    for i, s in enumerate(shape):
        if axes is None or i in axes:
            n *= s
    return n


class Amax(Function):
    """max over ``axes``; the gradient is shared evenly among tied maxima (as in PyTorch)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim, use_min):
        xp = ctx.xp
        out = (xp.min if use_min else xp.max)(x, axis=axes, keepdims=True)
        ctx.save_for_backward(x)
        ctx.out_keep = out
        ctx.axes, ctx.keepdim = axes, keepdim
        return out if keepdim else xp.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        axes = ctx.axes if ctx.axes is not None else tuple(range(x.ndim))
        mask = x == ctx.out_keep
        count = xp.astype(xp.sum(mask, axis=axes, keepdims=True), g.dtype)
        g = _expand_back(xp, g, x.shape, axes, ctx.keepdim)
        return xp.where(mask, g / count, 0)


def _reduce_args(x, dim, axis, op):
    x = as_tensor(x, op=op)
    return x, resolve_dims(dim, axis, x.ndim, op)


def _check_nonempty(x, axes, op):
    if x._data.size == 0 and (axes is None or any(x.shape[a] == 0 for a in axes)):
        raise ValueError(f"{op}: cannot reduce over an empty dimension (input shape {x.shape})")


def sum(x, dim=None, keepdim=False, *, axis=None, dtype=None):  # noqa: A001 - PyTorch's name
    """Sum over ``dim`` (all elements when None). (d_0, ..., d_k) -> reduced shape."""
    x, axes = _reduce_args(x, dim, axis, "sum")
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype == bool or x.dtype.kind in "iu":
        xp = xp_of(x)
        return Tensor._make(xp.sum(x._data, axis=axes, keepdims=keepdim, dtype=xp.int64), None)
    return Sum.apply(x, axes=axes, keepdim=keepdim)


def mean(x, dim=None, keepdim=False, *, axis=None):
    """Arithmetic mean over ``dim``."""
    x, axes = _reduce_args(x, dim, axis, "mean")
    if not dtypes.is_floating(x.dtype):
        raise TypeError(f"mean: input must be floating, got dtype {x.dtype} "
                        "(convert with .float() first)")
    return Mean.apply(x, axes=axes, keepdim=keepdim)


def var(x, dim=None, unbiased=True, keepdim=False, *, axis=None, correction=None):
    """Variance over ``dim``: Σ(x - mean)² / (n - correction); correction = 1 if unbiased."""
    x, axes = _reduce_args(x, dim, axis, "var")
    if correction is None:
        correction = 1 if unbiased else 0
    n = _count_reduced(x.shape, axes)
    centered = x - mean(x, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim) / builtins.max(n - correction, 0)


def std(x, dim=None, unbiased=True, keepdim=False, *, axis=None, correction=None):
    """Standard deviation over ``dim``: sqrt(var)."""
    return var(x, dim, unbiased, keepdim, axis=axis, correction=correction).sqrt()


def amax(x, dim=None, keepdim=False, *, axis=None):
    """Maximum over ``dim``; ties share the gradient evenly."""
    x, axes = _reduce_args(x, dim, axis, "amax")
    _check_nonempty(x, axes, "amax")
    return Amax.apply(x, axes=axes, keepdim=keepdim, use_min=False)


def amin(x, dim=None, keepdim=False, *, axis=None):
    """Minimum over ``dim``; ties share the gradient evenly."""
    x, axes = _reduce_args(x, dim, axis, "amin")
    _check_nonempty(x, axes, "amin")
    return Amax.apply(x, axes=axes, keepdim=keepdim, use_min=True)


def _max_min(x, dim, keepdim, axis, op, use_min):
    from fovea.ops.index import take_along_axis
    from fovea.ops.shape import squeeze

    x = as_tensor(x, op=op)
    d = dim if dim is not None else axis
    if d is None:
        return amin(x) if use_min else amax(x)
    if isinstance(d, tuple | list):
        raise TypeError(f"{op}: dim must be a single int (use amax/amin for several dims)")
    d = normalize_dim(d, x.ndim, op)
    _check_nonempty(x, (d,), op)
    # NOTE: the gradient goes to the first index of the extremum (the "max gate routes").
    xp = xp_of(x)
    idx = (xp.argmin if use_min else xp.argmax)(x._data, axis=d, keepdims=True)
    values = take_along_axis(x, idx, d)
    indices = Tensor._make(idx, None)
    if not keepdim:
        values, indices = squeeze(values, d), squeeze(indices, d)
    return MaxResult(values, indices)


def max(x, dim=None, keepdim=False, *, axis=None):  # noqa: A001 - PyTorch's name
    """Without ``dim``: the largest element. With ``dim``: ``(values, indices)`` along it."""
    return _max_min(x, dim, keepdim, axis, "max", use_min=False)


def min(x, dim=None, keepdim=False, *, axis=None):  # noqa: A001 - PyTorch's name
    """Without ``dim``: the smallest element. With ``dim``: ``(values, indices)`` along it."""
    return _max_min(x, dim, keepdim, axis, "min", use_min=True)


def logsumexp(x, dim=None, keepdim=False, *, axis=None):
    """log Σ exp(x) over ``dim``, computed stably as m + log Σ exp(x - m) with m = max x."""
    from fovea.ops.arithmetic import where

    x, axes = _reduce_args(x, dim, axis, "logsumexp")
    m = amax(x.detach(), axes, keepdim=True)
    m = where(m.isfinite(), m, 0)
    out = sum((x - m).exp(), axes, keepdim=True).log() + m
    if not keepdim:
        from fovea.ops.shape import squeeze

        out = squeeze(out, axes if axes is not None else tuple(range(x.ndim)))
    return out


def _arg(x, dim, keepdim, axis, op, use_min):
    x = as_tensor(x, op=op)
    xp = xp_of(x)
    fn = xp.argmin if use_min else xp.argmax
    d = dim if dim is not None else axis
    if d is None:
        return Tensor._make(xp.asarray(fn(x._data), dtype=xp.int64), None)
    d = normalize_dim(d, x.ndim, op)
    _check_nonempty(x, (d,), op)
    return Tensor._make(fn(x._data, axis=d, keepdims=keepdim).astype(xp.int64), None)


def argmax(x, dim=None, keepdim=False, *, axis=None):
    """Index of the largest element (flattened when ``dim`` is None); no gradient."""
    return _arg(x, dim, keepdim, axis, "argmax", use_min=False)


def argmin(x, dim=None, keepdim=False, *, axis=None):
    """Index of the smallest element (flattened when ``dim`` is None); no gradient."""
    return _arg(x, dim, keepdim, axis, "argmin", use_min=True)
