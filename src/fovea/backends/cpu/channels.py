"""Per-channel reductions for (N, C, *) arrays in either memory layout (batch norm, bias grads).

Batch norm reduces over every axis but the channel axis 1. How fast NumPy does that depends
on the memory layout, so each array is first seen as a matrix whose reduction is cheap:

* channels-last (a convolution's output: NHWC memory): the rows of an (M, C) matrix,
  M = N·H·W, reshaped to (M/k, k·C) ("wide rows") so that the inner loops are long: with
  C = 16 a broadcast op over (M, 16) is 2-4× slower than over (M/32, 512), because NumPy
  pays its loop overhead per row. A per-channel vector is tiled k times to match; sums are
  a matrix-vector product ``ones @ a`` (BLAS), folded back to C;
* a channels-last *crop* (a convolution's output handed out as a view into a larger,
  padded buffer): each image row of W·C values is still contiguous, so it is seen as
  (N, H, W·C) rows without copying (the same tiling, k = W);
* channels-first (NCHW memory, and (N, C) / (N, C, L) inputs): an (N, C, S) block,
  reduced with ``einsum('ncs->c')`` (contiguous inner loops).

All functions take and return raw arrays and know nothing about autograd. Per-channel
results are (C,) arrays in the input's dtype; :func:`per_channel` turns one into the
broadcastable shape of the view.
"""

from __future__ import annotations

import numpy as np

WIDE = 512  # aim for rows of at least this many values


class ChannelView:
    """An (N, C, *) array seen as ``rows`` (M/k, k·C) or (N, H, W·C), or as ``blocks``
    (N, C, S), without copying.

    Attributes:
        kind: ``"rows"`` or ``"blocks"``.
        a: the 2-D or 3-D view (rows: the last axis is contiguous, k·C long).
        shape: the original (N, C, *) shape.
        count: values per channel (M or N·S).
        k: channel groups per row (``rows`` only; 1 for ``blocks``).
    """

    __slots__ = ("kind", "a", "shape", "count", "k")

    def __init__(self, kind: str, a: np.ndarray, shape: tuple, k: int = 1):
        self.kind, self.a, self.shape, self.k = kind, a, shape, k
        self.count = a.size // shape[1] if shape[1] else 0

    def per_channel(self, v: np.ndarray) -> np.ndarray:
        """A (C,) vector shaped to broadcast against :attr:`a`."""
        if self.kind == "rows":
            return np.tile(v, self.k) if self.k > 1 else v
        return v[:, None]

    def fold(self, r: np.ndarray) -> np.ndarray:
        """A (k·C,) row reduction of :attr:`a` summed back to (C,)."""
        return r.reshape(self.k, -1).sum(0) if self.k > 1 else r

    def restore(self, b: np.ndarray) -> np.ndarray:
        """An array laid out like :attr:`a` seen with the original (N, C, *) shape."""
        if self.kind == "blocks":
            return b.reshape(self.shape)
        n, c, *rest = self.shape
        if not rest:
            return b.reshape(n, c)
        return np.moveaxis(b.reshape((n, *rest, c)), -1, 1)

    def like(self, b: np.ndarray) -> np.ndarray:
        """``b`` (N, C, *) seen the way :attr:`a` is, copied into that layout if needed."""
        v = view(b, prefer=self.kind)
        if v.kind == self.kind:
            return v.a.reshape(self.a.shape)
        if self.kind == "rows":
            return np.ascontiguousarray(np.moveaxis(b, 1, -1)).reshape(self.a.shape)
        return np.ascontiguousarray(b).reshape(self.a.shape)


def _is_channels_last(x: np.ndarray) -> bool:
    return x.ndim >= 3 and np.moveaxis(x, 1, -1).flags.c_contiguous


def _rows_contiguous(x: np.ndarray) -> bool:
    """Whether each (W, C) image row of (N, C, H, W) ``x`` is one contiguous run."""
    item = x.itemsize
    return x.strides[1] == item and x.strides[3] == x.shape[1] * item


def _rows(a2: np.ndarray, shape: tuple) -> ChannelView:
    """Contiguous (M, C) as wide rows (M/k, k·C), k the largest power of 2 <= WIDE/C dividing M."""
    m, c = a2.shape
    k = 1
    while k * 2 * c <= WIDE and m % (k * 2) == 0:
        k *= 2
    return ChannelView("rows", a2.reshape(m // k, k * c), shape, k)


def view(x: np.ndarray, prefer: str | None = None) -> ChannelView:
    """``x`` (N, C, *) as a :class:`ChannelView`; copies only if x is in neither layout."""
    shape = x.shape
    n, c = shape[0], shape[1]
    if x.ndim == 2:
        return _rows(x if x.flags.c_contiguous else np.ascontiguousarray(x), shape)
    cf = x.flags.c_contiguous
    if not cf and x.ndim == 4 and not _is_channels_last(x) and _rows_contiguous(x):
        _, _, h, w = shape
        return ChannelView("rows", np.moveaxis(x, 1, -1).reshape(n, h, w * c), shape, w)
    if not cf and not _is_channels_last(x):
        # A strided view (a crop of a padded buffer, a slice): copy it in its own axis order
        # (order 'K': runs stay contiguous, no transposition), then look again.
        x = x.copy(order="K")
        cf = x.flags.c_contiguous
    cl = _is_channels_last(x)
    if cl and (not cf or prefer != "blocks"):
        return _rows(np.moveaxis(x, 1, -1).reshape(-1, c), shape)
    if not cf:
        x = np.ascontiguousarray(x)
    return ChannelView("blocks", x.reshape(n, c, -1), shape)


def channel_sum(v: ChannelView, a: np.ndarray | None = None) -> np.ndarray:
    """Σ over everything but the channel of ``a`` (laid out like ``v.a``; default ``v.a``): (C,)."""
    a = v.a if a is None else a
    if v.kind == "rows":
        if a.ndim == 3:
            return v.fold(np.einsum("abk->k", a))
        return v.fold(np.ones(a.shape[0], dtype=a.dtype) @ a)
    return np.einsum("ncs->c", a)


def channel_dot(v: ChannelView, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ a·b over everything but the channel, for two arrays laid out like ``v.a``: (C,)."""
    if v.kind == "rows":
        if a.ndim == 3:
            return v.fold(np.einsum("abk,abk->k", a, b))
        return v.fold(np.einsum("mc,mc->c", a, b))
    return np.einsum("ncs,ncs->c", a, b)
