"""The array module as backward code sees it in the fast (non-recorded) mode.

It is NumPy's namespace (the active backend's) plus the few helpers that NumPy lacks and
that backward passes need (scatter-adds into zeros). :mod:`fovea._diffns` mirrors each name
with differentiable fovea ops, for backward passes recorded with ``create_graph=True``.
"""

from __future__ import annotations

from fovea import backend
from fovea.backends.cpu import layout as _layout

xp = backend.xp

exp = xp.exp
log = xp.log
sqrt = xp.sqrt
tanh = xp.tanh
abs = xp.abs  # noqa: A001 - NumPy's name
maximum = xp.maximum
minimum = xp.minimum
where = xp.where
sign = xp.sign
matmul = xp.matmul
swapaxes = xp.swapaxes
expand_dims = xp.expand_dims
concatenate = xp.concatenate
sum = xp.sum  # noqa: A001 - NumPy's name
mean = xp.mean
reshape = xp.reshape
transpose = xp.transpose
broadcast_to = xp.broadcast_to
pad = xp.pad
zeros_like = xp.zeros_like
take_along_axis = xp.take_along_axis


def astype(x, dtype):
    return x.astype(dtype, copy=False)


def is_basic_key(key) -> bool:
    """True when ``key`` uses only ints, slices, None and Ellipsis (no repeated positions)."""
    items = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, int | slice) for k in items)


def scatter_add_zeros(shape, key, values):
    """``zeros(shape)`` with ``values`` added at ``key`` (repeated indices accumulate).

    The result follows ``values``' memory layout when the ranks agree (a channels-last
    gradient of ``x[:, :, ::2, ::2]`` stays channels-last).
    """
    out = _layout.zeros(shape, values, values.dtype) if xp is _layout.np else \
        xp.zeros(shape, dtype=values.dtype)
    is_mask = not isinstance(key, tuple) and getattr(key, "dtype", None) == xp.dtype(bool)
    if is_basic_key(key) or is_mask:
        out[key] = values
    else:
        xp.add.at(out, key, values)
    return out


def put_along_axis_zeros(shape, indices, values, axis):
    """``zeros(shape)`` with ``values`` added at ``indices`` along ``axis`` (accumulating)."""
    out = xp.zeros(shape, dtype=values.dtype)
    if indices.shape[axis] == 1:
        xp.put_along_axis(out, indices, values, axis=axis)
    else:
        grid = list(xp.indices(indices.shape, sparse=True))
        grid[axis] = indices
        xp.add.at(out, tuple(grid), values)
    return out
