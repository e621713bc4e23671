"""Padding, as PyTorch's ``F.pad``: constant, reflect, replicate and circular.

``pad`` lists (before, after) pairs from the last dimension backwards: ``(1, 2)`` pads the
last dimension by 1 before and 2 after, ``(l, r, t, b)`` the last two, ``(l, r, t, b, f,
k)`` the last three. Negative values crop.

Constant padding is :func:`fovea.ops.shape.pad`. The other modes are index maps: along each
padded axis, output position ``j`` reads input position ``src[j]``, with ``c = j - before``
the position in the input's coordinates:

* ``reflect``: ``c`` mirrored at the edges without repeating them (``-1 -> 1``), each pad
  smaller than the input's size;
* ``replicate``: ``c`` clipped to ``[0, size - 1]`` (the edge value repeats);
* ``circular``: the input first cropped by the negative pads, then ``c`` taken modulo the
  cropped size (each pad at most that size: it wraps around once).

The map is applied as gathers (``take`` along each axis); its transpose, the gradient, sums
the values that came from each input position (a segment sum after sorting the indices),
itself recorded as the transposed map under ``create_graph``.
"""

from __future__ import annotations

import numbers

import numpy as np

from fovea import backends
from fovea.errors import ShapeError
from fovea.nn.functional._linear_map import LinearMapFn, _segment_add
from fovea.ops import shape as _shape
from fovea.ops._util import as_tensor
from fovea.tensor import Tensor

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _source_indices(mode: str, size: int, before: int, after: int, dim: int, shape) -> np.ndarray:
    """src[j] for each output position j of one axis (host int64), checking the pad sizes."""
    out = size + before + after
    if out < 0:
        raise ShapeError(f"pad: padding ({before}, {after}) at dimension {dim} crops more than "
                         f"the input's size {size} (input shape {tuple(shape)})")
    j = np.arange(out, dtype=np.int64)
    if mode == "reflect":
        if before >= size or after >= size:
            raise ShapeError(f"pad: reflect padding must be less than the input's size, got "
                             f"padding ({before}, {after}) at dimension {dim} of an input of "
                             f"shape {tuple(shape)}")
        c = np.abs(j - before)  # mirror at 0
        return (size - 1) - np.abs((size - 1) - c)  # mirror at size - 1
    if mode == "replicate":
        if size == 0 and out:
            raise ShapeError(f"pad: replicate padding of an empty dimension {dim} (input shape "
                             f"{tuple(shape)})")
        return np.clip(j - before, 0, size - 1)
    lo, hi = max(-before, 0), size - max(-after, 0)
    core = hi - lo
    if before > core or after > core:
        raise ShapeError(f"pad: circular padding ({before}, {after}) at dimension {dim} would "
                         f"wrap around the input (size {core} after cropping) more than once")
    return lo + (j - max(before, 0)) % max(core, 1)


class AxisGather:
    """y = x with axis ``a`` re-indexed by ``src[a]`` for each (axis, src) pair (a linear map
    for :class:`~fovea.nn.functional._linear_map.LinearMapFn`)."""

    def __init__(self, maps, in_sizes):
        self.maps, self.in_sizes = maps, in_sizes

    def apply(self, x):
        xp = backends.for_array(x).xp
        for axis, src in self.maps:
            x = xp.take(x, xp.asarray(src), axis=axis)
        return x

    @property
    def T(self):  # noqa: N802 - the transpose, as in NumPy
        return AxisScatter(self)


class AxisScatter:
    """The transpose of :class:`AxisGather`: each input position gets the sum of the output
    values read from it (zero where none were, as after cropping)."""

    def __init__(self, gather: AxisGather):
        self.gather = gather

    def apply(self, g):
        xp = backends.for_array(g).xp
        for (axis, src), size in reversed(list(zip(self.gather.maps, self.gather.in_sizes))):
            order = np.argsort(src, kind="stable")
            shape = list(g.shape)
            shape[axis] = size
            out = xp.zeros(shape, dtype=g.dtype)
            if src.size:
                _segment_add(xp, out, xp.take(g, xp.asarray(order), axis=axis), src[order], axis)
            g = out
        return g

    @property
    def T(self):  # noqa: N802
        return self.gather


def _check_pad(x, pad, mode):
    if not isinstance(pad, tuple | list) or not all(
            isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in pad):
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2:
        raise ValueError(f"pad: padding length must be divisible by 2, got {len(pad)}")
    if len(pad) // 2 > x.ndim:
        raise ShapeError(f"pad: padding length should be at most two times the input's "
                         f"dimension, got padding length {len(pad)} for a {x.ndim}-d input")
    if mode not in _MODES:
        raise ValueError(f"pad: mode must be one of {_MODES}, got {mode!r}")
    k = len(pad) // 2
    if mode != "constant" and not (1 <= k <= 3 and k + 1 <= x.ndim <= k + 2):
        raise ShapeError(f"pad: {mode} padding of size {len(pad)} needs a {k + 1}-d or "
                         f"{k + 2}-d input (a pad of 2, 4 or 6 values pads the last 1, 2 or 3 "
                         f"dimensions of a batched or unbatched input), got {x.ndim}-d")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative values, crop) the last dimensions of ``input``.

    Args:
        input: a tensor (*). Non-constant modes take (N, C, L) or (C, L) for a pad of 2
            values, (N, C, H, W) or (C, H, W) for 4, (N, C, D, H, W) or (C, D, H, W) for 6.
        pad: (before, after) pairs from the last dimension backwards, at most 2·ndim values.
        mode: ``'constant'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        value: the fill of ``'constant'`` mode (default 0); refused by the other modes.

    Returns:
        The padded tensor, in ``input``'s dtype; differentiable in every mode.
    """
    x = as_tensor(input, op="pad")
    pad = tuple(pad) if isinstance(pad, list) else pad
    _check_pad(x, pad, mode)
    if mode == "constant":
        return _shape.pad(x, pad, value=0.0 if value is None else value)
    if value is not None and value != 0:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take a value argument")
    maps, sizes = [], []
    for i in range(len(pad) // 2):
        axis = x.ndim - 1 - i
        before, after = int(pad[2 * i]), int(pad[2 * i + 1])
        if before == 0 and after == 0:
            continue
        maps.append((axis, _source_indices(mode, x.shape[axis], before, after, axis, x.shape)))
        sizes.append(x.shape[axis])
    if not maps:
        return _shape.pad(x, ())  # an unpadded copy, as PyTorch returns a new tensor
    return LinearMapFn.apply(x, op=AxisGather(maps, sizes))
