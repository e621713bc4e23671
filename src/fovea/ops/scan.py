"""Scans (cumulative ops) along one dimension: cumsum, cumprod, cummax, cummin,
logcumsumexp. ``dim`` is required, as in PyTorch; the output has the input's shape.

Backward passes reverse the scan (``x[..., ::-1]`` on raw arrays and Tensors alike) and
call the scans themselves through ``ctx.run``, so every order of gradient exists:
cumsum's gradient is a reversed cumsum; cumprod's handles zeros exactly (no division by
zero); logcumsumexp's is PyTorch's log-space formula, stable for any magnitude.
"""

from __future__ import annotations

from collections import namedtuple

from fovea import dtypes
from fovea.autograd import Function
from fovea.errors import DTypeError
from fovea.ops._util import as_tensor, tensor_method, xp_of
from fovea.ops.index import take_along_axis
from fovea.ops.reduce import single_dim, via_1d
from fovea.tensor import Tensor

__all__ = ["cummax", "cummin", "cumprod", "cumsum", "logcumsumexp"]

CumResult = namedtuple("CumResult", ["values", "indices"])
"""What ``cummax`` and ``cummin`` return, as ``torch.return_types.cummax`` does."""


def _rev(axis: int):
    """An index that reverses ``axis``."""
    return (slice(None),) * axis + (slice(None, None, -1),)


def _rev_cumsum(ctx, v, axis):
    """Σ_{i >= k} v_i along ``axis`` (a reversed cumsum), differentiable."""
    r = _rev(axis)
    return ctx.run(Cumsum, v[r], axis=axis)[r]


class Cumsum(Function):
    """y_k = Σ_{i <= k} x_i; dx_k = Σ_{i >= k} g_i."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return ctx.xp.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return _rev_cumsum(ctx, g, ctx.axis)


class Cumprod(Function):
    """y_k = Π_{i <= k} x_i; dx_k = Σ_{i >= k} g_i Π_{j <= i, j != k} x_j.

    Without zeros that is revcumsum(g·y)_k / x_k. With zeros (z: the first zero of a row):
    the same for k < z; at k = z, revcumsum(g·y')_z with y' the cumprod of x whose zero at
    z is replaced by 1; 0 for k > z (every product holds x_z = 0).
    """

    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        out = xp.cumprod(x, axis=axis)
        ctx.save_for_backward(x, out)
        ctx.axis = axis
        zero = x == 0
        ctx.masks = None
        if xp.any(zero):
            seen = xp.cumsum(zero, axis=axis)
            ctx.masks = (seen == 0, zero & (seen == 1))  # (before the first zero, at it)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        xp, axis = ctx.xp, ctx.axis
        if ctx.masks is None:
            return _rev_cumsum(ctx, g * out, axis) / x
        if ctx.recording:  # the masked formula is exact but not differentiable in x_z
            return _cumprod_grad_pairwise(ctx, x, g, axis)
        before, first = ctx.masks
        head = _rev_cumsum(ctx, g * out, axis) / xp.where(before, x, 1)
        out_skip = ctx.run(Cumprod, xp.where(first, 1, x), axis=axis)
        at_zero = _rev_cumsum(ctx, g * out_skip, axis)
        return xp.where(before, head, xp.where(first, at_zero, 0))


def _cumprod_grad_pairwise(ctx, x, g, axis):
    """cumprod's gradient as a differentiable function of x (Tensors) when x has zeros,
    with n² terms, as PyTorch does under double backward:
    dx_k = L_k Σ_{i >= k} g_i Π_{k < j <= i} x_j with L_k = Π_{j < k} x_j, every product a
    cumprod (no division)."""
    xp = ctx.xp
    xm, gm = xp.swapaxes(x, axis, -1), xp.swapaxes(g, axis, -1)  # (..., n)
    n, last = xm.shape[-1], xm.ndim  # `last`: the i axis of the (..., k, i) products
    raw = xp_of(x)
    k_idx = raw.reshape(raw.arange(n), (n, 1))
    i_idx = raw.reshape(raw.arange(n), (1, n))
    after = xp.where(i_idx > k_idx, xp.expand_dims(xm, -2), 1)  # x_i for i > k, else 1
    partial = ctx.run(Cumprod, after, axis=last)  # Π_{k < j <= i} x_j at (k, i)
    s = xp.sum(xp.where(i_idx >= k_idx, partial * xp.expand_dims(gm, -2), 0), axis=last)
    ones = xm[..., :1] * 0 + 1
    lead = ctx.run(Cumprod, xp.concatenate([ones, xm[..., :-1]], last - 1),
                   axis=last - 1)
    return xp.swapaxes(lead * s, axis, -1)


class LogCumSumExp(Function):
    """y_k = log Σ_{i <= k} e^(x_i), by ``logaddexp.accumulate`` (stable).

    dx_k = Σ_{i >= k} g_i e^(x_k - y_i), computed as PyTorch does in log space with the
    positive and negative parts of g apart: e^(x + revlcse(log g⁺ - y)) - e^(x + revlcse(
    log g⁻ - y)).
    """

    @staticmethod
    def forward(ctx, x, axis):
        out = ctx.xp.logaddexp.accumulate(x, axis=axis)
        ctx.save_for_backward(x, out)
        ctx.axis = axis
        # A huge finite stand-in for log 0 (not -inf: -inf - (-inf) is nan), with headroom
        # so that adding x or subtracting y cannot overflow.
        ctx.lowest = float(ctx.xp.finfo(x.dtype).min) / 4
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        xp, axis, lowest = ctx.xp, ctx.axis, ctx.lowest
        r = _rev(axis)
        log_abs = xp.log(xp.where(g == 0, 1, xp.abs(g)))
        parts = []
        for side in (g > 0, g < 0):
            logs = xp.where(side, log_abs, lowest) - out
            parts.append(xp.exp(ctx.run(LogCumSumExp, logs[r], axis=axis)[r] + x))
        return parts[0] - parts[1]


def _scan_input(input, dim, op):
    """The tensor and the axis of ``dim`` (0 for a 0-d tensor, see ``via_1d``)."""
    x = as_tensor(input, op=op)
    if dim is None:
        raise TypeError(f"{op}: dim is required (an int), got None")
    axis = single_dim(dim, x.ndim, op)
    return x, axis


def _int_scan(name, x, axis):
    xp = xp_of(x)
    return Tensor._make(getattr(xp, name)(x._data, axis=axis, dtype=xp.int64), None)


@tensor_method(inplace=True)
def cumsum(input, dim, *, dtype=None):
    """Running sum along ``dim``: y_k = x_0 + … + x_k (integers and bools sum in int64)."""
    x, axis = _scan_input(input, dim, "cumsum")
    if dtype is not None:
        x = x.to(dtype)

    def run(t, a):
        if not dtypes.is_floating(t.dtype):
            return _int_scan("cumsum", t, a)
        return Cumsum.apply(t, axis=a)
    return via_1d(run, x, axis)


@tensor_method(inplace=True)
def cumprod(input, dim, *, dtype=None):
    """Running product along ``dim``: y_k = x_0 ⋯ x_k (integers in int64); the gradient is
    exact where x has zeros."""
    x, axis = _scan_input(input, dim, "cumprod")
    if dtype is not None:
        x = x.to(dtype)

    def run(t, a):
        if not dtypes.is_floating(t.dtype):
            return _int_scan("cumprod", t, a)
        return Cumprod.apply(t, axis=a)
    return via_1d(run, x, axis)


@tensor_method()
def logcumsumexp(input, dim):
    """log Σ_{i <= k} e^(x_i) along ``dim``, stable for any magnitude (floating only)."""
    x, axis = _scan_input(input, dim, "logcumsumexp")
    if not dtypes.is_floating(x.dtype):
        raise DTypeError(f"logcumsumexp: expected a floating tensor, got dtype {x.dtype}")
    return via_1d(lambda t, a: LogCumSumExp.apply(t, axis=a), x, axis)


def _cum_extreme(x, axis, use_min):
    """(values, indices) of the running max/min; on ties the latest index, and a NaN, once
    seen, stays the value (with the index of the latest NaN), as PyTorch does."""
    xp = xp_of(x)
    data = x._data
    acc = (xp.minimum if use_min else xp.maximum).accumulate(data, axis=axis)
    hit = data == acc
    if dtypes.is_floating(x.dtype):
        hit = hit | xp.isnan(data)
    shape = [1] * data.ndim
    shape[axis] = data.shape[axis]
    pos = xp.reshape(xp.arange(data.shape[axis], dtype=xp.int64), shape)
    idx = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=axis)
    return CumResult(take_along_axis(x, idx, axis), Tensor._make(idx, None))


@tensor_method()
def cummax(input, dim):
    """Running maximum along ``dim``: ``(values, indices)``; the gradient goes to the index."""
    x, axis = _scan_input(input, dim, "cummax")
    return via_1d(lambda t, a: _cum_extreme(t, a, False), x, axis)


@tensor_method()
def cummin(input, dim):
    """Running minimum along ``dim``: ``(values, indices)``; the gradient goes to the index."""
    x, axis = _scan_input(input, dim, "cummin")
    return via_1d(lambda t, a: _cum_extreme(t, a, True), x, axis)
