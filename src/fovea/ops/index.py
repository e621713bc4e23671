"""Indexing with PyTorch's rules: ``x[key]`` (slices, ints, None, Ellipsis, integer arrays,
boolean masks), and the selections built on it: ``index_select``, ``take``,
``take_along_dim``, ``masked_select``, ``gather``, ``nonzero``/``argwhere``.

Backward scatters the gradient into zeros of the input's shape; repeated integer indices
accumulate (``np.add.at``), so ``x[[0, 0]]`` sends twice the gradient to ``x[0]``.

Where PyTorch and NumPy differ: PyTorch applies integer indices first, as basic indices
(each removes its dimension), and only then the advanced ones (integer arrays and masks).
So ``x[1, :, idx]`` keeps the advanced dimension where ``idx`` stands (shape
``(x.shape[1], len(idx))``), while NumPy, for which an int next to an array is advanced too,
moves it to the front. :func:`normalize_key` turns such a key into the one NumPy key with
PyTorch's result (used for reading and for assignment).
"""

from __future__ import annotations

import numbers

from fovea import backends
from fovea.autograd import Function
from fovea.errors import DTypeError, ShapeError
from fovea.ops._util import as_tensor, normalize_dim, tensor_method, xp_of
from fovea.tensor import Tensor

__all__ = ["argwhere", "gather", "index_select", "masked_select", "nonzero", "take",
           "take_along_dim"]


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
    """x at ``indices`` along ``axis``; ``indices`` may be shorter than x in other dims (the
    leading part of x is read, as PyTorch's gather and scatter's backward do)."""

    @staticmethod
    def forward(ctx, x, indices, axis):
        ctx.shape, ctx.indices, ctx.axis = x.shape, indices, axis
        if _fits(indices.shape, x.shape, axis):
            return ctx.xp.take_along_axis(x, indices, axis=axis)
        grid = list(ctx.xp.indices(indices.shape, sparse=True))
        grid[axis] = indices
        return x[tuple(grid)]

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


def _fits(index_shape, shape, axis) -> bool:
    """Whether ``index_shape`` equals ``shape`` outside ``axis``."""
    return all(a == b for i, (a, b) in enumerate(zip(index_shape, shape)) if i != axis)


# --- keys: PyTorch's indexing rules ------------------------------------------------------

def _is_int(k) -> bool:
    return isinstance(k, numbers.Integral) and not isinstance(k, bool)


def _is_array(k) -> bool:
    return getattr(k, "dtype", None) is not None


def _one(k, xp):
    """One key item: Tensors and lists become arrays of ``xp``; a 0-d integer array is an int."""
    if isinstance(k, Tensor):
        k = k._data
    if isinstance(k, list):
        k = xp.asarray(k) if k else xp.zeros(0, dtype=xp.int64)  # [] indexes nothing
    elif _is_array(k) and getattr(k, "ndim", 0):
        k = xp.asarray(k)  # index arrays go to the indexed tensor's device
    if _is_array(k):
        if k.dtype != bool and k.dtype.kind not in "iu":
            raise IndexError(f"getitem: tensors used as indices must be long, int or bool "
                             f"tensors, got {k.dtype}")
        if k.ndim == 0 and k.dtype != bool:
            return int(k)  # PyTorch: a 0-d integer tensor indexes as an int does
    return k


def normalize_key(key, xp=None, shape=None):
    """A key for ``x[key]`` on a raw array of ``xp`` (default: the default device's).

    Tensors and lists inside the key become arrays of ``xp``, integer/bool dtypes are
    checked. With ``shape`` (the indexed array's), out-of-range integers raise
    ``IndexError`` naming the dimension and its size, and a key that mixes ints with
    advanced indices is rewritten so that NumPy gives PyTorch's result (ints are basic
    indices there); the result is then right for reading and for assignment alike.
    """
    if shape is not None and _is_basic(key):
        return key  # NumPy's rules are PyTorch's here; NumPy checks the ranges
    xp = backends.default().xp if xp is None else xp
    items = [_one(k, xp) for k in (key if isinstance(key, tuple) else (key,))]
    if shape is None:
        return tuple(items) if isinstance(key, tuple) else items[0]
    items = _expand_ellipsis(items, len(shape))
    has_int = has_adv = False
    dim = 0
    for k in items:
        if _is_int(k):
            _check_int(k, dim, shape[dim])
            has_int, dim = True, dim + 1
        elif isinstance(k, slice):
            dim += 1
        elif _is_array(k) and k.ndim:
            _check_array(k, dim, shape)
            has_adv, dim = True, dim + (k.ndim if k.dtype == bool else 1)
    if has_int and has_adv:
        return _torch_order_key(items, shape, xp)
    return tuple(items) if isinstance(key, tuple) or len(items) != 1 else items[0]


_BASIC = (slice, type(None), type(Ellipsis), int)


def _is_basic(key) -> bool:
    """Only slices, None, Ellipsis and Python ints (not bools): the common, fast case."""
    if type(key) is not tuple:
        return type(key) in _BASIC
    for k in key:
        if type(k) not in _BASIC:
            return False
    return True


def _consumes(k) -> int:
    """How many dimensions of the indexed array key item ``k`` uses up."""
    if k is None or k is Ellipsis or isinstance(k, bool) or (_is_array(k) and k.ndim == 0):
        return 0
    if _is_array(k) and k.dtype == bool:
        return k.ndim
    return 1


def _expand_ellipsis(items, ndim):
    if sum(k is Ellipsis for k in items) > 1:
        raise IndexError("getitem: an index can only have a single ellipsis ('...')")
    used = sum(_consumes(k) for k in items)
    if used > ndim:
        raise IndexError(f"getitem: too many indices for tensor of dimension {ndim}")
    at = [j for j, k in enumerate(items) if k is Ellipsis]
    if at:
        i = at[0]
        items = items[:i] + [slice(None)] * (ndim - used) + items[i + 1:]
    return items


def _check_int(i, dim, size):
    if not -size <= i < size:
        raise IndexError(f"getitem: index {i} is out of bounds for dimension {dim} with "
                         f"size {size}")


def _check_array(k, dim, shape):
    if k.dtype == bool:
        if tuple(k.shape) != tuple(shape[dim:dim + k.ndim]):
            raise IndexError(f"getitem: the shape of the mask {tuple(k.shape)} at index {dim} "
                             f"does not match the shape of the indexed tensor {tuple(shape)}")
    elif k.size:
        lo, hi = int(k.min()), int(k.max())
        bad = lo if lo < -shape[dim] else hi
        if lo < -shape[dim] or hi >= shape[dim]:
            raise IndexError(f"getitem: index {bad} is out of bounds for dimension {dim} with "
                             f"size {shape[dim]}")


def _torch_order_key(items, shape, xp):
    """The all-advanced NumPy key with PyTorch's result for a key mixing ints and arrays.

    PyTorch removes the ints' dimensions first; the advanced indices (integer arrays, masks
    as their nonzero() arrays) then broadcast to one block that stays in place if they are
    adjacent among the remaining items, else goes first. Here every consumed dimension gets
    an index array (a slice an ``arange``) shaped to its axis of that layout.
    """
    ints, basics, advs, adv_pos = {}, [], [], []
    dim = pos = 0
    for k in items:
        if _is_int(k):
            ints[dim] = k
            dim += 1
        elif isinstance(k, slice) or k is None:
            basics.append((dim if k is not None else None, k))
            pos += 1
            dim += k is not None
        elif not _is_array(k) or k.ndim == 0:  # a bool scalar: a new dim, masked
            advs.append((None, xp.zeros(1 if bool(k) else 0, dtype=xp.int64)))
            adv_pos.append(pos)
            pos += 1
        elif k.dtype == bool:
            for j, nz in enumerate(xp.nonzero(k)):
                advs.append((dim + j, nz))
                adv_pos.append(pos + j)
            pos, dim = pos + k.ndim, dim + k.ndim
        else:
            advs.append((dim, k))
            adv_pos.append(pos)
            pos, dim = pos + 1, dim + 1
    try:
        block = tuple(xp.broadcast_shapes(*[a.shape for _, a in advs]))
    except ValueError:
        raise IndexError("getitem: shape mismatch: indexing tensors of shapes "
                         f"{[tuple(a.shape) for _, a in advs]} cannot be broadcast") from None
    adjacent = adv_pos == list(range(adv_pos[0], adv_pos[0] + len(adv_pos)))
    start = sum(p < adv_pos[0] for p in range(pos) if p not in adv_pos) if adjacent else 0
    rank = len(block) + len(basics)
    out_shape = list(block)
    key = [None] * dim
    for i, (d, s) in enumerate(basics):
        axis = i + (len(block) if not adjacent or i >= start else 0)
        size = 1 if s is None else len(range(*s.indices(shape[d])))
        out_shape.insert(axis, size)
        if s is not None:
            r = xp.arange(*s.indices(shape[d]))
            key[d] = xp.reshape(r, (1,) * axis + (-1,) + (1,) * (rank - axis - 1))
    for d, a in advs:
        if d is not None:
            lead = start + len(block) - a.ndim
            key[d] = xp.reshape(a, (1,) * lead + a.shape + (1,) * (rank - lead - a.ndim))
    for d, i in ints.items():
        key[d] = xp.asarray(i, dtype=xp.int64)
    key[0] = xp.broadcast_to(key[0], tuple(out_shape))  # a masked bool scalar may add a dim
    return tuple(key)


# --- public wrappers ---------------------------------------------------------------------

def getitem(x, key):
    """``x[key]`` with PyTorch's rules: basic slicing, ints, None, Ellipsis, integer arrays
    and boolean masks (see the module docstring for where that differs from NumPy)."""
    x = as_tensor(x, op="getitem")
    key = normalize_key(key, xp_of(x), x.shape)
    try:
        return Index.apply(x, key=key)
    except IndexError as exc:  # NumPy's range errors, in PyTorch's words
        message = str(exc).replace(" for axis ", " for dimension ")
        raise IndexError(f"getitem: {message} (tensor of shape {x.shape})") from None


def scatter_add_zeros(shape, key, values):
    return ScatterAddZeros.apply(as_tensor(values), shape=shape, key=key)


def _index_array(indices, x, op):
    idx = indices._data if isinstance(indices, Tensor) else xp_of(x).asarray(indices)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"{op}: index must be an integer tensor, got dtype {idx.dtype}")
    return idx


def _check_range(idx, size, dim, op):
    if idx.size and (int(idx.min()) < -size or int(idx.max()) >= size):
        bad = int(idx.min()) if int(idx.min()) < -size else int(idx.max())
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {dim} with "
                         f"size {size}")


def take_along_axis(x, indices, axis):
    """Pick values of ``x`` at ``indices`` along ``axis`` (``indices`` has ``x``'s rank)."""
    x = as_tensor(x, op="take_along_axis")
    idx = _index_array(indices, x, "take_along_axis")
    return TakeAlongAxis.apply(x, indices=idx, axis=axis)


def put_along_axis_zeros(shape, indices, values, axis):
    return PutAlongAxisZeros.apply(as_tensor(values), shape=shape, indices=indices, axis=axis)


def gather(input, dim, index, *, sparse_grad=False):  # noqa: A002 - PyTorch's name
    """``out[i][j] = input[i][index[i][j]]`` along ``dim`` (PyTorch's gather).

    input: (..., n, ...); index: the same rank, no larger than input outside ``dim``;
    returns index's shape. ``sparse_grad`` is accepted and ignored (gradients are dense).
    """
    x = as_tensor(input, op="gather")
    idx = _index_array(index, x, "gather")
    d = normalize_dim(dim, x.ndim, "gather")
    if idx.ndim != max(x.ndim, 1) and not (idx.ndim == 0 and x.ndim == 0):
        raise ShapeError(f"gather: index has {idx.ndim} dimensions but input has {x.ndim}")
    if x.ndim == 0:
        return x.reshape(1)[idx.reshape(-1)].reshape(idx.shape)
    _check_range(idx, x.shape[d], d, "gather")
    for i, (a, b) in enumerate(zip(idx.shape, x.shape)):
        if i != d and a > b:
            raise ShapeError(f"gather: index shape {idx.shape} exceeds input {x.shape} at "
                             f"dim {i}")
    if idx.shape != x.shape:
        sl = tuple(slice(0, s) if i != d else slice(None) for i, s in enumerate(idx.shape))
        x = Index.apply(x, key=sl)
    return TakeAlongAxis.apply(x, indices=idx, axis=d)


@tensor_method()
def index_select(input, dim, index):  # noqa: A002 - PyTorch's name
    """The entries ``index`` (1-D integer) of ``input`` along ``dim``.

    input: (..., n, ...); returns (..., len(index), ...).
    """
    x = as_tensor(input, op="index_select")
    idx = _index_array(index, x, "index_select")
    if idx.ndim > 1:
        raise ShapeError(f"index_select: index must be 0-d or 1-d, got {idx.ndim}-d")
    idx = idx.reshape(-1)
    if x.ndim == 0:
        x = x.reshape(1)
    d = normalize_dim(dim, x.ndim, "index_select")
    _check_range(idx, x.shape[d], d, "index_select")
    out = Index.apply(x, key=(slice(None),) * d + (idx,))
    return out.reshape(()) if input.ndim == 0 else out


@tensor_method()
def take(input, index):  # noqa: A002 - PyTorch's name
    """``input`` read as 1-D (C order) at ``index``; returns index's shape."""
    x = as_tensor(input, op="take")
    idx = _index_array(index, x, "take")
    _check_range(idx, x.numel(), 0, "take")
    return Index.apply(x.reshape(-1), key=idx)


@tensor_method()
def take_along_dim(input, indices, dim=None):  # noqa: A002 - PyTorch's name
    """Values of ``input`` at ``indices`` along ``dim`` (NumPy's take_along_axis); the other
    dimensions broadcast. ``dim=None``: both are flattened first."""
    x = as_tensor(input, op="take_along_dim")
    idx = _index_array(indices, x, "take_along_dim")
    if dim is None:
        idx = idx.reshape(-1)
        _check_range(idx, x.numel(), 0, "take_along_dim")
        return TakeAlongAxis.apply(x.reshape(-1), indices=idx, axis=0)
    d = normalize_dim(dim, x.ndim, "take_along_dim")
    if idx.ndim != x.ndim:
        raise ShapeError(f"take_along_dim: input and indices should have the same number of "
                         f"dimensions, got {x.ndim} and {idx.ndim}")
    _check_range(idx, x.shape[d], d, "take_along_dim")
    xp = xp_of(x)
    rest = lambda s: s[:d] + (1,) + s[d + 1:]  # noqa: E731
    try:
        b = list(xp.broadcast_shapes(rest(x.shape), rest(idx.shape)))
    except ValueError:
        raise ShapeError(f"take_along_dim: input {x.shape} and indices {idx.shape} cannot be "
                         f"broadcast outside dimension {d}") from None
    x = x.expand(*(b[:d] + [x.shape[d]] + b[d + 1:]))
    idx = xp.broadcast_to(idx, tuple(b[:d] + [idx.shape[d]] + b[d + 1:]))
    return TakeAlongAxis.apply(x, indices=idx, axis=d)


def _bool_mask(mask, x, op):
    m = mask._data if isinstance(mask, Tensor) else xp_of(x).asarray(mask)
    if m.dtype != bool:
        raise DTypeError(f"{op}: expected a bool mask, got dtype {m.dtype}")
    return m


@tensor_method()
def masked_select(input, mask):  # noqa: A002 - PyTorch's name
    """The entries of ``input`` where ``mask`` (broadcast with it) holds, as a 1-D tensor."""
    x = as_tensor(input, op="masked_select")
    m = _bool_mask(mask, x, "masked_select")
    xp = xp_of(x)
    try:
        shape = tuple(xp.broadcast_shapes(x.shape, m.shape))
    except ValueError:
        raise ShapeError(f"masked_select: mask {m.shape} and input {x.shape} cannot be "
                         "broadcast") from None
    x = x.expand(*shape) if shape != x.shape else x
    return Index.apply(x, key=xp.broadcast_to(m, shape) if m.shape != shape else m)


@tensor_method()
def nonzero(input, *, as_tuple=False):  # noqa: A002 - PyTorch's name
    """Indices of the non-zero entries: an (n, ndim) int64 tensor, in C order; with
    ``as_tuple=True`` one 1-D tensor per dimension (what ``x[x.nonzero(as_tuple=True)]``
    takes)."""
    x = as_tensor(input, op="nonzero")
    xp = xp_of(x)
    a = x._data
    if a.ndim == 0:
        n = int(bool(a != 0))
        if as_tuple:
            return (Tensor._make(xp.zeros(n, dtype=xp.int64), None),)
        return Tensor._make(xp.zeros((n, 0), dtype=xp.int64), None)
    nz = [i.astype(xp.int64) for i in xp.nonzero(a)]
    if as_tuple:
        return tuple(Tensor._make(i, None) for i in nz)
    return Tensor._make(xp.stack(nz, axis=1), None)


@tensor_method()
def argwhere(input):  # noqa: A002 - PyTorch's name
    """``nonzero(input)``: an (n, ndim) int64 tensor of the non-zero entries' indices."""
    return nonzero(input)
