"""Fixed linear maps as graph nodes, differentiable to any order.

Pooling's backward, average pooling, up-sampling and un-pooling are all ``y = A x`` for a
matrix ``A`` that depends only on sizes and (for max pooling) on saved indices. Such a map
is an object with ``apply(x)`` (raw arrays) and ``T`` (the transposed map, another such
object). One node type runs them: its backward is the transposed map, itself recorded as
a node when the backward pass is recorded (``create_graph=True``), so gradients of any
order come for free and each map is written once.

Index maps here act on the flattened spatial plane (H·W) of (N, C, H, W) arrays. Maps
compute with the array module of the array they are applied to (their index and weight
arrays are host constants, moved to that device with ``xp.asarray``: free on the CPU).
"""

from __future__ import annotations

import numpy as np

from fovea import backends
from fovea.autograd import Function


def _xp(a):
    return backends.for_array(a).xp


class LinearMapFn(Function):
    """y = op(x) for a linear ``op``; backward: dx = op.T(g), run as another such node."""

    @staticmethod
    def forward(ctx, x, *, op):
        ctx.op = op
        return op.apply(x)

    @staticmethod
    def backward(ctx, g):
        return ctx.run(LinearMapFn, g, op=ctx.op.T)


class Gather:
    """(N, C, H, W) -> values at flat plane indices ``idx`` (N, C, *out) (max unpool's grad)."""

    def __init__(self, idx, in_hw: tuple[int, int]):
        self.idx, self.in_hw = idx, in_hw

    def apply(self, x):
        n, c = x.shape[:2]
        flat = x.reshape(n, c, -1)
        out = _xp(x).take_along_axis(flat, self.idx.reshape(n, c, -1), axis=2)
        return out.reshape(self.idx.shape)

    @property
    def T(self):  # noqa: N802 - the transpose, as in NumPy
        return ScatterAdd(self.idx, self.in_hw)


class ScatterAdd:
    """Values (N, C, *) added into zeros (N, C, H, W) at flat plane indices (max pool's grad)."""

    def __init__(self, idx, out_hw: tuple[int, int]):
        self.idx, self.out_hw = idx, out_hw

    def apply(self, g):
        xp = _xp(g)
        n, c = g.shape[:2]
        plane = self.out_hw[0] * self.out_hw[1]
        # One bincount over globally numbered positions: repeated indices accumulate.
        base = (xp.arange(n * c, dtype=np.int64) * plane).reshape(n, c, 1)
        pos = (self.idx.reshape(n, c, -1) + base).ravel()
        out = xp.bincount(pos, weights=g.reshape(-1), minlength=n * c * plane)
        return out.astype(g.dtype, copy=False).reshape(n, c, *self.out_hw)

    @property
    def T(self):  # noqa: N802
        return Gather(self.idx, self.out_hw)


class Put:
    """Values (N, C, *) written into zeros (N, C, H, W) at flat plane indices (max unpool).

    Where two values target one position the later one is kept (as PyTorch does on CPU).
    """

    def __init__(self, idx, out_hw: tuple[int, int]):
        self.idx, self.out_hw = idx, out_hw

    def apply(self, x):
        xp = _xp(x)
        n, c = x.shape[:2]
        out = xp.zeros((n, c, self.out_hw[0] * self.out_hw[1]), dtype=x.dtype)
        xp.put_along_axis(out, self.idx.reshape(n, c, -1), x.reshape(n, c, -1), axis=2)
        return out.reshape(n, c, *self.out_hw)

    @property
    def T(self):  # noqa: N802
        return Gather(self.idx, self.out_hw)


class AxisMaps:
    """Separable map on the two spatial axes: y = Mh · x · Mwᵀ (interpolation, adaptive pooling).

    Each of ``mh`` (out_h, H) and ``mw`` (out_w, W) is an :class:`Taps` (at most two
    non-zeros per row, applied by gathers) or a dense matrix (applied by a matrix product).
    """

    def __init__(self, mh, mw):
        self.mh, self.mw = mh, mw

    def apply(self, x):
        y = _apply_axis(self.mw, x, 3)
        return _apply_axis(self.mh, y, 2)

    @property
    def T(self):  # noqa: N802
        return AxisMaps(_transpose(self.mh), _transpose(self.mw))


def _transpose(m):
    return m.T


def _apply_axis(m, x, axis: int):
    if isinstance(m, np.ndarray):  # a dense host matrix
        xp = _xp(x)
        y = xp.tensordot(x, xp.asarray(m, dtype=x.dtype), axes=([axis], [1]))  # new axis last
        return xp.moveaxis(y, -1, axis)
    return m.apply(x, axis)


class Taps:
    """A (out, in) matrix with rows ``w0·e[i0] + w1·e[i1]`` (linear/nearest interpolation).

    ``i0`` and ``i1`` are non-decreasing, so the transpose is a segment sum
    (``np.add.reduceat``) instead of a scatter with collisions.
    """

    def __init__(self, i0, w0, i1, w1, in_size: int):
        self.i0, self.w0, self.i1, self.w1, self.in_size = i0, w0, i1, w1, in_size

    def apply(self, x, axis: int):
        xp = _xp(x)
        shape = [1] * x.ndim
        shape[axis] = -1
        y = xp.take(x, xp.asarray(self.i0), axis=axis)
        if self.w0 is not None:
            y *= xp.asarray(self.w0, dtype=x.dtype).reshape(shape)
        if self.w1 is not None:
            y += xp.take(x, xp.asarray(self.i1), axis=axis) * xp.asarray(
                self.w1, dtype=x.dtype).reshape(shape)
        return y

    @property
    def T(self):  # noqa: N802
        return _TapsT(self)


class _TapsT:
    """The transpose of :class:`Taps`: (in, out); sums each input's contributions."""

    def __init__(self, taps: Taps):
        self.taps = taps

    def apply(self, g, axis: int):
        xp = _xp(g)
        t = self.taps
        shape = [1] * g.ndim
        shape[axis] = -1
        out_shape = list(g.shape)
        out_shape[axis] = t.in_size
        out = xp.zeros(out_shape, dtype=g.dtype)
        for idx, w in ((t.i0, t.w0), (t.i1, t.w1)):
            if idx is None:
                continue
            gw = g if w is None else g * xp.asarray(w, dtype=g.dtype).reshape(shape)
            _segment_add(xp, out, gw, idx, axis)
        return out

    @property
    def T(self):  # noqa: N802
        return self.taps


def _segment_add(xp, out, values, idx: np.ndarray, axis: int) -> None:
    """out[..., idx[j], ...] += values[..., j, ...] along ``axis`` for non-decreasing host
    ``idx`` (the segment starts are host arithmetic; the sums run on the values' device)."""
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    sums = xp.add.reduceat(values, xp.asarray(starts), axis=axis)
    key = [slice(None)] * out.ndim
    key[axis] = xp.asarray(idx[starts])
    out[tuple(key)] += sums
