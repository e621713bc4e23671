"""Memory-layout helpers: new arrays in the axis order of an existing one, and the views
the compiled kernels take.

fovea's convolutions hand out channels-last arrays (NHWC memory seen as (N, C, H, W)), and
NumPy's elementwise loops are several times slower when two operands have different
layouts. Ops that build a new array of a related shape (padding, the gradient of an
indexing op) therefore allocate it in the layout of the array it comes from, so that a
channels-last stream of activations and gradients stays channels-last.

Interface the ops call (:mod:`fovea.backends.generic.layout` has the same)::

    axis_order(a)                      # axes from the largest stride to the smallest
    empty(shape, like, dtype=None)     # a new array in like's axis order
    zeros(shape, like, dtype=None)
    pad(x, widths, value)              # constant padding in x's memory layout
    reshape_order(x, out)              # the order a reshape's gradient goes back in, or None
    reshape_in_order(g, shape, order)  # g reshaped to shape, laid out in that order

The Numba kernels take either flat 1-D views of dense arrays (:func:`flat`) or "rows"
(A, B, L) whose last axis is contiguous (:func:`as_rows`, :func:`nhwc_rows`), read through
their whole underlying buffer when they are a crop of one (:func:`rows_base`).
"""

from __future__ import annotations

import numpy as np


def axis_order(a: np.ndarray) -> tuple[int, ...]:
    """The axes of ``a`` from the largest stride to the smallest (ties keep axis order)."""
    return tuple(sorted(range(a.ndim), key=lambda i: -abs(a.strides[i])))


def empty(shape: tuple, like: np.ndarray, dtype=None) -> np.ndarray:
    """An uninitialised array of ``shape`` whose memory follows ``like``'s axis order.

    Falls back to C order when ranks differ or ``like`` is already C-ordered.
    """
    dtype = like.dtype if dtype is None else dtype
    if len(shape) != like.ndim or like.ndim < 2 or like.flags.c_contiguous:
        return np.empty(shape, dtype=dtype)
    order = axis_order(like)
    if order == tuple(range(like.ndim)):
        return np.empty(shape, dtype=dtype)
    base = np.empty(tuple(shape[i] for i in order), dtype=dtype)
    return base.transpose(np.argsort(order))


def empty_in_order(shape: tuple, order: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` whose axes lie in memory in ``order`` (outermost
    first), e.g. ``(0, 2, 3, 1)`` for channels-last (N, C, H, W)."""
    base = np.empty(tuple(shape[i] for i in order), dtype=dtype)
    return base.transpose(np.argsort(order))


def zeros(shape: tuple, like: np.ndarray, dtype=None) -> np.ndarray:
    """Like :func:`empty`, filled with zeros."""
    out = empty(shape, like, dtype)
    out.fill(0)
    return out


def pad(x: np.ndarray, widths, value) -> np.ndarray:
    """``x`` inside a frame of ``value`` (``widths``: non-negative (before, after) pairs per
    dimension), in x's memory layout: np.pad would return C order, turning a channels-last
    activation into a channels-first one and slowing every later elementwise op."""
    if x.ndim < 2 or x.flags.c_contiguous:
        return np.pad(x, widths, mode="constant", constant_values=value)
    shape = tuple(s + b + a for s, (b, a) in zip(x.shape, widths))
    out = empty(shape, x)
    out.fill(value)
    out[tuple(slice(b, b + s) for s, (b, _) in zip(x.shape, widths))] = x
    return out


def reshape_order(x: np.ndarray, out: np.ndarray) -> tuple[int, ...] | None:
    """The axis order in which a reshape's gradient should go back: x's, when reshaping a
    large x that is not C-ordered had to copy it (a channels-last activation being
    flattened), so that the layers below keep working on one layout; else None."""
    if (x.ndim > 2 and x.size >= 1 << 15 and not x.flags.c_contiguous
            and not np.may_share_memory(out, x)):
        return axis_order(x)
    return None


def reshape_in_order(g: np.ndarray, shape: tuple, order: tuple[int, ...]) -> np.ndarray:
    """``g`` reshaped to ``shape`` (C order, as NumPy reshapes) in a new array whose axes
    lie in memory in ``order`` (see :func:`reshape_order`)."""
    out = empty_in_order(shape, order, g.dtype)
    out[...] = g.reshape(shape)
    return out


def flat(a: np.ndarray) -> np.ndarray | None:
    """A 1-D view of ``a``'s memory when it is dense in some axis order, else None."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    t = a.transpose(axis_order(a))
    return t.reshape(-1) if t.flags.c_contiguous else None


def as_rows(a: np.ndarray) -> np.ndarray:
    """A 2-D or 3-D rows view (last axis contiguous) as 3-D (A, B, L)."""
    return a[None] if a.ndim == 2 else a


def nhwc_rows(a: np.ndarray) -> np.ndarray | None:
    """(N, C, H, W) whose (W, C) image rows are contiguous runs (channels-last, possibly a
    crop of a padded buffer) as an (N, H, W·C) view, else None."""
    if a.ndim != 4:
        return None
    n, c, h, w = a.shape
    item = a.itemsize
    if a.strides[1] != item or (w > 1 and a.strides[3] != c * item):
        return None
    return np.moveaxis(a, 1, -1).reshape(n, h, w * c)


def rows_base(a3: np.ndarray) -> np.ndarray:
    """C-contiguous (A, R, P) array over the memory of rows view ``a3`` (A, B, L), of which
    ``a3`` is the corner [:, :B, :L]: a crop of a padded convolution output is read through
    its whole buffer so that the kernels see unit strides (and vectorise).

    Returns ``a3`` itself when it is C-contiguous or no such buffer can be proven to exist.
    """
    if a3.flags.c_contiguous:
        return a3
    item = a3.itemsize
    s0, s1, s2 = a3.strides
    if s2 != item or s1 % item or s0 % s1 or s1 < a3.shape[2] * item \
            or s0 < a3.shape[1] * s1:
        return a3
    shape = (a3.shape[0], s0 // s1, s1 // item)
    owner = a3
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    start = a3.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    if not owner.flags.c_contiguous or start < 0 \
            or start + shape[0] * s0 > owner.nbytes:
        return a3
    return np.lib.stride_tricks.as_strided(a3, shape, (s0, s1, item), writeable=False)
