"""Memory-layout helpers: new arrays in the axis order of an existing one.

fovea's convolutions hand out channels-last arrays (NHWC memory seen as (N, C, H, W)), and
NumPy's elementwise loops are several times slower when two operands have different
layouts. Ops that build a new array of a related shape (padding, the gradient of an
indexing op) therefore allocate it in the layout of the array it comes from, so that a
channels-last stream of activations and gradients stays channels-last.
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
