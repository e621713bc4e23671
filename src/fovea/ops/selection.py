"""Order statistics: median, nanmedian, kthvalue, mode.

With a ``dim`` each returns ``(values, indices)`` (a namedtuple, as PyTorch's
``torch.return_types``) and the gradient goes to the selected index, like ``max(dim=)``.
``median()`` / ``nanmedian()`` without ``dim`` return the value alone and share the
gradient evenly among the elements equal to it, as PyTorch does.

The median is the lower of the two middle values for an even count (PyTorch's rule, not
the mean of the two). A NaN makes ``median`` NaN (its index: the first NaN); ``nanmedian``
ignores NaNs. Among equal values the index is the first in stable sorted order; PyTorch
documents its indices for ties as unspecified.
"""

from __future__ import annotations

from collections import namedtuple

from fovea import dtypes
from fovea.autograd import Function
from fovea.ops._util import as_tensor, tensor_method, xp_of
from fovea.ops.reduce import select_along, single_dim, via_1d
from fovea.tensor import Tensor

__all__ = ["kthvalue", "median", "mode", "nanmedian"]

MedianResult = namedtuple("MedianResult", ["values", "indices"])
KthvalueResult = namedtuple("KthvalueResult", ["values", "indices"])
ModeResult = namedtuple("ModeResult", ["values", "indices"])


class SharedSelection(Function):
    """y = the element of x equal to ``value`` (computed in the wrapper); the gradient is
    shared evenly among all elements equal to it (NaN counting as equal to NaN)."""

    @staticmethod
    def forward(ctx, x, value):
        xp = ctx.xp
        mask = x == value
        if dtypes.is_floating(x.dtype) and xp.isnan(value):
            mask = xp.isnan(x)
        ctx.share = (mask / xp.sum(mask)).astype(x.dtype)
        return xp.asarray(value, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.share


def _is_nan(xp, a):
    return xp.isnan(a) if a.dtype.kind == "f" else xp.zeros(a.shape, dtype=bool)


def _median_positions(xp, data, axis, ignore_nan):
    """Sorted order along ``axis`` and the position (kept dim) of each row's median in it."""
    order = xp.argsort(data, axis=axis, kind="stable")  # NaNs last, in their own order
    n = data.shape[axis]
    valid = xp.sum(~_is_nan(xp, data), axis=axis, keepdims=True)
    if ignore_nan:
        k = xp.maximum(valid - 1, 0) // 2
    else:  # a row with NaN: its first NaN, which sorts to position `valid`
        k = xp.where(valid < n, valid, (n - 1) // 2)
    return order, k


def _median_all(x, ignore_nan, op):
    xp = xp_of(x)
    if x.numel() == 0:
        raise ValueError(f"{op}: expected a non-empty tensor, got shape {x.shape}")
    flat = xp.reshape(x._data, (-1,))
    order, k = _median_positions(xp, flat, 0, ignore_nan)
    value = flat[order[k[0]]]
    if not x.requires_grad:
        return Tensor._make(xp.asarray(value, dtype=x.dtype), None)
    return SharedSelection.apply(x, value=value)


def _median_dim(x, dim, keepdim, ignore_nan, op):
    d = single_dim(dim, x.ndim, op)

    def run(t, axis):
        xp = xp_of(t)
        if t.shape[axis] == 0:
            raise ValueError(f"{op}: cannot take the median of an empty dimension "
                             f"(input shape {t.shape})")
        order, k = _median_positions(xp, t._data, axis, ignore_nan)
        idx = xp.take_along_axis(order, k, axis=axis)
        return select_along(t, idx, axis, keepdim, MedianResult)
    return via_1d(run, x, d)


@tensor_method()
def median(input, dim=None, keepdim=False):
    """The median (lower middle value): of all elements when ``dim`` is None (the value),
    else along ``dim`` as ``(values, indices)``. NaN if the row has a NaN."""
    x = as_tensor(input, op="median")
    if dim is None:
        return _median_all(x, False, "median")
    return _median_dim(x, dim, keepdim, False, "median")


@tensor_method()
def nanmedian(input, dim=None, keepdim=False):
    """:func:`median` ignoring NaNs (NaN only where a row is all NaN)."""
    x = as_tensor(input, op="nanmedian")
    if dim is None:
        return _median_all(x, True, "nanmedian")
    return _median_dim(x, dim, keepdim, True, "nanmedian")


@tensor_method()
def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest element (1-based) along ``dim``: ``(values, indices)``."""
    x = as_tensor(input, op="kthvalue")
    d = single_dim(dim, x.ndim, "kthvalue")
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise IndexError(f"kthvalue: k = {k} is out of range for a dimension of size {n} "
                         f"(expected 1 <= k <= {n})")

    def run(t, axis):
        xp = xp_of(t)
        order = xp.argsort(t._data, axis=axis, kind="stable")
        idx = xp.take(order, xp.asarray([k - 1]), axis=axis)
        return select_along(t, idx, axis, keepdim, KthvalueResult)
    return via_1d(run, x, d)


def _mode_last_axis(xp, data):
    """The most frequent value of each row of ``data`` (..., n) (the smallest on a tie in
    frequency) and the last index where it occurs, as PyTorch returns; (..., 1) each."""
    n = data.shape[-1]
    s = xp.sort(data, axis=-1)
    pos = xp.arange(n, dtype=xp.int64)
    starts = xp.concatenate([xp.ones(s.shape[:-1] + (1,), dtype=bool),
                             s[..., 1:] != s[..., :-1]], axis=-1)
    ends = xp.concatenate([s[..., 1:] != s[..., :-1],
                           xp.ones(s.shape[:-1] + (1,), dtype=bool)], axis=-1)
    run_start = xp.maximum.accumulate(xp.where(starts, pos, 0), axis=-1)
    run_end = xp.minimum.accumulate(xp.where(ends, pos, n - 1)[..., ::-1], axis=-1)[..., ::-1]
    best = xp.argmax(run_end - run_start, axis=-1)[..., None]  # first: the smallest value
    value = xp.take_along_axis(s, best, axis=-1)
    idx = xp.max(xp.where(data == value, pos, -1), axis=-1, keepdims=True)
    return idx


@tensor_method()
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and
    the last index where it occurs: ``(values, indices)``."""
    x = as_tensor(input, op="mode")
    d = single_dim(dim, x.ndim, "mode")

    def run(t, axis):
        xp = xp_of(t)
        if t.shape[axis] == 0:
            raise ValueError(f"mode: cannot take the mode of an empty dimension "
                             f"(input shape {t.shape})")
        idx = _mode_last_axis(xp, xp.moveaxis(t._data, axis, -1))
        idx = xp.moveaxis(idx, -1, axis)
        return select_along(t, idx, axis, keepdim, ModeResult)
    return via_1d(run, x, d)
