"""Reductions: sum, mean, prod, var/std (and var_mean/std_mean), max/min/amax/amin,
aminmax, logsumexp, argmax/argmin, count_nonzero.

Every reduction takes ``dim`` (PyTorch) or ``axis`` (NumPy), an int or a tuple, and
``keepdim``. ``dim=None`` reduces over all elements. On a 0-d tensor ``dim`` may be 0 or
-1 (nothing is reduced), as in PyTorch.
"""

from __future__ import annotations

import builtins
from collections import namedtuple

from fovea import dtypes
from fovea.autograd import Function, is_grad_enabled
from fovea.ops._util import as_tensor, normalize_dim, resolve_dims, tensor_method, xp_of
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
    axes = resolve_dims(dim, axis, x.ndim, op)
    if x.ndim == 0 and axes is not None:
        axes = ()  # dim 0 or -1 of a 0-d tensor: nothing to reduce, as in PyTorch
    return x, axes


def single_dim(dim, ndim: int, op: str) -> int:
    """``dim`` as an axis >= 0; a 0-d tensor takes 0 or -1 (as PyTorch), meaning axis 0."""
    if ndim == 0:
        if dim not in (0, -1):
            raise IndexError(f"{op}: dimension {dim} is out of range for a 0-d tensor "
                             "(expected 0 or -1)")
        return 0
    return normalize_dim(dim, ndim, op)


def via_1d(fn, x, axis: int):
    """``fn(x, axis)``, for a 0-d ``x`` run on its 1-element reshape and reshaped back
    (a tensor, or a namedtuple of tensors), as PyTorch treats a scalar's dim 0."""
    if x.ndim:
        return fn(x, axis)
    out = fn(x.reshape(1), 0)
    if isinstance(out, tuple):
        return type(out)(*(t.reshape(()) for t in out))
    return out.reshape(())


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
    x = as_tensor(x, op=op)
    d = dim if dim is not None else axis
    if d is None:
        return amin(x) if use_min else amax(x)
    if isinstance(d, tuple | list):
        raise TypeError(f"{op}: dim must be a single int (use amax/amin for several dims)")
    d = single_dim(d, x.ndim, op)
    if x.ndim == 0:
        return via_1d(lambda t, a: _max_min(t, a, False, None, op, use_min), x, d)
    _check_nonempty(x, (d,), op)
    # NOTE: the gradient goes to the first index of the extremum (the "max gate routes").
    xp = xp_of(x)
    idx = (xp.argmin if use_min else xp.argmax)(x._data, axis=d, keepdims=True)
    return select_along(x, idx, d, keepdim, MaxResult)


def select_along(x, idx, d, keepdim, result_type):
    """``result_type(values, indices)`` for the positions ``idx`` (raw, kept dim ``d`` of
    size 1) along ``d``: the values differentiable (the gradient goes to those positions)."""
    from fovea.ops.index import take_along_axis
    from fovea.ops.shape import squeeze

    values = take_along_axis(x, idx, d)
    indices = Tensor._make(idx, None)
    if not keepdim:
        values, indices = squeeze(values, d), squeeze(indices, d)
    return result_type(values, indices)


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
    d = single_dim(d, x.ndim, op)
    if x.ndim == 0:
        return Tensor._make(xp.zeros((), dtype=xp.int64), None)
    _check_nonempty(x, (d,), op)
    return Tensor._make(fn(x._data, axis=d, keepdims=keepdim).astype(xp.int64), None)


def argmax(x, dim=None, keepdim=False, *, axis=None):
    """Index of the largest element (flattened when ``dim`` is None); no gradient."""
    return _arg(x, dim, keepdim, axis, "argmax", use_min=False)


def argmin(x, dim=None, keepdim=False, *, axis=None):
    """Index of the smallest element (flattened when ``dim`` is None); no gradient."""
    return _arg(x, dim, keepdim, axis, "argmin", use_min=True)


# --- products, paired statistics, counts ---------------------------------------------------

AminmaxResult = namedtuple("AminmaxResult", ["min", "max"])
"""What ``aminmax`` returns, as ``torch.return_types.aminmax`` does."""


@tensor_method()
def prod(x, dim=None, keepdim=False, *, dtype=None):
    """Product of all elements, or along one ``dim``. Integers and bools multiply in int64.

    When a gradient is needed the product is the last entry of :func:`fovea.cumprod`, whose
    gradient is exact with zeros in x (one zero: the product of the others; two: 0).
    """
    from fovea.ops.scan import Cumprod

    x = as_tensor(x, op="prod")
    if dtype is not None:
        x = x.to(dtype)
    if isinstance(dim, tuple | list):
        raise TypeError("prod: dim must be a single int or None")
    xp = xp_of(x)
    if not dtypes.is_floating(x.dtype):
        axes = None if dim is None else (single_dim(dim, x.ndim, "prod"),) if x.ndim else ()
        return Tensor._make(xp.prod(x._data, axis=axes, keepdims=keepdim, dtype=xp.int64), None)
    if dim is None:
        if not (x.requires_grad and is_grad_enabled()):
            return Tensor._make(xp.prod(x._data), None)
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            return sum(flat) + 1  # the empty product, still on the graph
        return Cumprod.apply(flat, axis=0)[-1]
    d = single_dim(dim, x.ndim, "prod")
    if x.ndim == 0:
        return x * 1
    if not (x.requires_grad and is_grad_enabled()) or x.shape[d] == 0:
        return _prod_raw(x, d, keepdim)
    last = (slice(None),) * d + (slice(-1, None) if keepdim else -1,)
    return Cumprod.apply(x, axis=d)[last]


def _prod_raw(x, d, keepdim):
    out = xp_of(x).prod(x._data, axis=d, keepdims=keepdim)
    if x.requires_grad and is_grad_enabled():  # an empty dim: ones, with a zero gradient
        return sum(x, d, keepdim) * 0 + out
    return Tensor._make(out, None)


def var_mean(x, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim`` in one call (see :func:`var` for ``correction``)."""
    x = as_tensor(x, op="var_mean")
    return (var(x, dim, unbiased, keepdim, correction=correction),
            mean(x, dim, keepdim))


def std_mean(x, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim`` in one call (see :func:`var` for ``correction``)."""
    x = as_tensor(x, op="std_mean")
    return (std(x, dim, unbiased, keepdim, correction=correction),
            mean(x, dim, keepdim))


@tensor_method()
def aminmax(x, *, dim=None, keepdim=False):
    """``(min, max)`` over all elements or one ``dim``; ties share each gradient evenly."""
    x = as_tensor(x, op="aminmax")
    if isinstance(dim, tuple | list):
        raise TypeError("aminmax: dim must be a single int or None")
    if dim is not None:
        single_dim(dim, x.ndim, "aminmax")
    return AminmaxResult(amin(x, dim, keepdim), amax(x, dim, keepdim))


@tensor_method()
def count_nonzero(x, dim=None):
    """How many elements along ``dim`` (an int, a tuple, or None: all) are nonzero (int64)."""
    x, axes = _reduce_args(x, dim, None, "count_nonzero")
    xp = xp_of(x)
    return Tensor._make(xp.sum(x._data != 0, axis=axes, dtype=xp.int64), None)
