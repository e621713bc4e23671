"""Indexing: ``x[key]`` with slices, integers, integer arrays and boolean masks; gather.

Backward scatters the gradient into zeros of the input's shape; repeated integer indices
accumulate (``np.add.at``), so ``x[[0, 0]]`` sends twice the gradient to ``x[0]``.
"""

from __future__ import annotations

from fovea import backends
from fovea.autograd import Function
from fovea.ops._util import as_tensor, normalize_dim, xp_of
from fovea.tensor import Tensor


class Index(Function):
    @staticmethod
    def forward(ctx, x, key):
        ctx.shape, ctx.key = x.shape, key
        return x[key]

    @staticmethod
    def backward(ctx, g):
        return ctx.run(ScatterAddZeros, g, shape=ctx.shape, key=ctx.key)


class ScatterAddZeros(Function):
    """zeros(shape) with ``values`` added at ``key``: the backward of Index, differentiable."""

    @staticmethod
    def forward(ctx, values, shape, key):
        ctx.key = key
        return ctx.xp.scatter_add_zeros(shape, key, values)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.key]


class TakeAlongAxis(Function):
    @staticmethod
    def forward(ctx, x, indices, axis):
        ctx.shape, ctx.indices, ctx.axis = x.shape, indices, axis
        return ctx.xp.take_along_axis(x, indices, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return ctx.run(PutAlongAxisZeros, g, shape=ctx.shape, indices=ctx.indices, axis=ctx.axis)


class PutAlongAxisZeros(Function):
    """zeros(shape) with ``values`` added at ``indices`` along ``axis``: TakeAlongAxis' backward."""

    @staticmethod
    def forward(ctx, values, shape, indices, axis):
        ctx.indices, ctx.axis = indices, axis
        return ctx.xp.put_along_axis_zeros(shape, indices, values, axis)

    @staticmethod
    def backward(ctx, g):
        return ctx.run(TakeAlongAxis, g, indices=ctx.indices, axis=ctx.axis)


def normalize_key(key, xp=None):
    """Replace Tensors (and lists) inside an index by arrays; check integer/bool dtypes.

    Lists become arrays of ``xp`` (the indexed tensor's array module; default device's if None).
    """
    xp = backends.default().xp if xp is None else xp

    def one(k):
        if isinstance(k, Tensor):
            k = k._data
        if isinstance(k, list) or getattr(k, "ndim", 0):
            k = xp.asarray(k)  # index arrays go to the indexed tensor's device
        if getattr(k, "dtype", None) is not None:  # an array (or an array scalar)
            if k.dtype != bool and k.dtype.kind not in "iu":
                raise TypeError(f"getitem: index arrays must be integer or bool, got {k.dtype}")
        return k

    if isinstance(key, tuple):
        return tuple(one(k) for k in key)
    return one(key)


def getitem(x, key):
    """``x[key]``: basic slicing, integer-array and boolean-mask indexing, as in NumPy."""
    x = as_tensor(x, op="getitem")
    key = normalize_key(key, xp_of(x))
    try:
        return Index.apply(x, key=key)
    except IndexError as exc:
        raise IndexError(f"getitem: {exc} (tensor of shape {x.shape})") from None


def scatter_add_zeros(shape, key, values):
    return ScatterAddZeros.apply(as_tensor(values), shape=shape, key=key)


def _index_array(indices, x, op):
    idx = indices._data if isinstance(indices, Tensor) else xp_of(x).asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {idx.dtype}")
    return idx


def take_along_axis(x, indices, axis):
    """Pick values of ``x`` at ``indices`` along ``axis`` (``indices`` has ``x``'s rank)."""
    x = as_tensor(x, op="take_along_axis")
    idx = _index_array(indices, x, "take_along_axis")
    return TakeAlongAxis.apply(x, indices=idx, axis=axis)


def put_along_axis_zeros(shape, indices, values, axis):
    return PutAlongAxisZeros.apply(as_tensor(values), shape=shape, indices=indices, axis=axis)


def gather(x, dim, index):
    """``out[i][j] = x[i][index[i][j]]`` along ``dim`` (PyTorch's gather)."""
    x = as_tensor(x, op="gather")
    idx = _index_array(index, x, "gather")
    d = normalize_dim(dim, x.ndim, "gather")
    if idx.ndim != x.ndim:
        raise ValueError(f"gather: index has {idx.ndim} dimensions but input has {x.ndim}")
    if idx.size and (idx.min() < -x.shape[d] or idx.max() >= x.shape[d]):
        raise IndexError(f"gather: index out of range for dimension {d} of size {x.shape[d]}")
    for i, (a, b) in enumerate(zip(idx.shape, x.shape)):
        if i != d and a > b:
            raise ValueError(f"gather: index shape {idx.shape} exceeds input {x.shape} at dim {i}")
    if idx.shape != x.shape:
        sl = tuple(slice(0, s) if i != d else slice(None) for i, s in enumerate(idx.shape))
        x = x[sl]
    return TakeAlongAxis.apply(x, indices=idx, axis=d)
