"""Ops that rearrange or repeat entries: ``flip``, ``fliplr``, ``flipud``, ``roll``,
``repeat``, ``tile``, ``repeat_interleave`` and ``Tensor.unfold`` (sliding windows).

All are compositions of differentiable views, indexing and concatenation (no Function of
their own), so their gradients of every order come from those ops: a repeated entry gets
the sum of its copies' gradients.
"""

from __future__ import annotations

import numbers

from fovea.errors import ShapeError
from fovea.ops._util import as_tensor, normalize_dim, tensor_method, xp_of
from fovea.ops.index import Index
from fovea.ops.shape import _dims, _shape_arg, cat, expand, movedim, reshape
from fovea.tensor import Tensor

__all__ = ["flip", "fliplr", "flipud", "repeat_interleave", "roll", "tile"]


@tensor_method()
def flip(input, dims):  # noqa: A002 - PyTorch's name
    """Reverse the order of entries along ``dims`` (an int or a sequence)."""
    x = as_tensor(input, op="flip")
    ds = _dims(dims, x.ndim, "flip")
    if x.ndim == 0 or not ds:
        return x
    return Index.apply(x, key=tuple(slice(None, None, -1) if i in ds else slice(None)
                                    for i in range(x.ndim)))


@tensor_method()
def fliplr(input):  # noqa: A002 - PyTorch's name
    """Flip dimension 1 (left-right); needs at least 2 dimensions."""
    x = as_tensor(input, op="fliplr")
    if x.ndim < 2:
        raise ShapeError(f"fliplr: input must be at least 2-d, got {x.ndim}-d")
    return flip(x, 1)


@tensor_method()
def flipud(input):  # noqa: A002 - PyTorch's name
    """Flip dimension 0 (up-down); needs at least 1 dimension."""
    x = as_tensor(input, op="flipud")
    if x.ndim < 1:
        raise ShapeError("flipud: input must be at least 1-d, got 0-d")
    return flip(x, 0)


@tensor_method()
def roll(input, shifts, dims=None):  # noqa: A002 - PyTorch's name
    """Shift entries cyclically by ``shifts`` along ``dims`` (ints or sequences of equal
    length); ``dims=None`` rolls the flattened tensor and restores the shape."""
    x = as_tensor(input, op="roll")
    shifts = tuple(shifts) if isinstance(shifts, tuple | list) else (shifts,)
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: {len(shifts)} shifts need as many dims, got dims=None")
        return reshape(roll(reshape(x, -1), shifts[0], 0), *x.shape)
    ds = tuple(dims) if isinstance(dims, tuple | list) else (dims,)
    if len(ds) != len(shifts):
        raise ValueError(f"roll: shifts {shifts} and dims {ds} differ in length")
    for s, d in zip(shifts, ds):
        d = normalize_dim(d, x.ndim, "roll")
        n = x.shape[d]
        k = int(s) % n if n else 0
        if k:  # the last k entries move to the front
            pre = (slice(None),) * d
            x = cat([x[pre + (slice(n - k, n),)], x[pre + (slice(0, n - k),)]], d)
    return x


@tensor_method()
def repeat(input, *sizes):  # noqa: A002 - PyTorch's name
    """Tile ``input`` ``sizes[i]`` times along each dimension (``Tensor.repeat``); extra
    leading sizes add dimensions. (2, 3).repeat(2, 1, 2) has shape (2, 2, 6)."""
    x = as_tensor(input, op="repeat")
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise ShapeError(f"repeat: {len(sizes)} repeat sizes can't be fewer than the "
                         f"tensor's {x.ndim} dimensions")
    if any(s < 0 for s in sizes):
        raise ValueError(f"repeat: sizes must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    # (s0, s1) -> (1, s0, 1, s1) -> expand to (r0, s0, r1, s1) -> (r0*s0, r1*s1)
    inter = reshape(x, *[v for s in shape for v in (1, s)])
    big = expand(inter, *[v for r, s in zip(sizes, shape) for v in (r, s)])
    return reshape(big, *(r * s for r, s in zip(sizes, shape)))


@tensor_method()
def tile(input, dims):  # noqa: A002 - PyTorch's name
    """Like :func:`repeat`, but fewer ``dims`` than dimensions are padded with leading 1s."""
    x = as_tensor(input, op="tile")
    dims = tuple(dims) if isinstance(dims, tuple | list) else (dims,)
    return repeat(x, *((1,) * (x.ndim - len(dims)) + dims))


@tensor_method()
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):  # noqa: A002
    """Repeat each entry along ``dim`` (the flattened tensor if None) ``repeats`` times (an
    int, or a 1-d tensor with one count per entry). ``repeat_interleave(counts)`` alone gives
    ``[0]*counts[0] + [1]*counts[1] + ...``."""
    x = as_tensor(input, op="repeat_interleave")
    xp = xp_of(x)
    if repeats is None:  # torch.repeat_interleave(repeats)
        if x.ndim != 1 or x.dtype.kind not in "iu":
            raise ShapeError("repeat_interleave: a single argument must be a 1-d integer tensor")
        return Tensor._make(xp.repeat(xp.arange(x.shape[0]), x._data), None)
    if dim is None:
        x, d = reshape(x, -1), 0
    else:
        d = normalize_dim(dim, x.ndim, "repeat_interleave")
    n = x.shape[d] if x.ndim else 1
    if x.ndim == 0:
        x = reshape(x, 1)
    if isinstance(repeats, numbers.Integral):
        reps = int(repeats)
    else:
        reps = xp.asarray(repeats._data if isinstance(repeats, Tensor) else repeats)
        reps = reps.reshape(-1)
        if reps.size == 1:
            reps = int(reps[0])
        elif reps.shape[0] != n:
            raise ShapeError(f"repeat_interleave: repeats has {reps.shape[0]} entries but "
                             f"dimension {d} has size {n}")
    if (reps < 0) if isinstance(reps, int) else bool((reps < 0).any()):
        raise ValueError("repeat_interleave: repeats must be non-negative")
    idx = xp.repeat(xp.arange(n), reps)
    if output_size is not None and idx.shape[0] != output_size:
        raise ValueError(f"repeat_interleave: output_size {output_size} differs from the "
                         f"result's {idx.shape[0]}")
    return Index.apply(x, key=(slice(None),) * d + (idx,))


def unfold(input, dimension, size, step):  # noqa: A002 - PyTorch's name
    """``Tensor.unfold``: every window of ``size`` entries, ``step`` apart, along
    ``dimension``. (..., n, ...) gives (..., (n - size) // step + 1, ..., size): the windows
    replace the dimension and their entries form a new last dimension."""
    x = as_tensor(input, op="unfold")
    if x.ndim == 0:
        x = reshape(x, 1)
    d = normalize_dim(dimension, x.ndim, "unfold")
    n = x.shape[d]
    if size > n or size < 0:
        raise ShapeError(f"unfold: size {size} exceeds the size {n} of dimension {d}")
    if step <= 0:
        raise ValueError(f"unfold: step must be positive, got {step}")
    xp = xp_of(x)
    windows = (n - size) // step + 1
    idx = xp.arange(windows)[:, None] * step + xp.arange(size)[None, :]
    out = Index.apply(x, key=(slice(None),) * d + (idx,))  # (..., windows, size, ...)
    out = movedim(out, d + 1, -1)
    return reshape(out, *out.shape[:-1]) if input.ndim == 0 else out


tensor_method("unfold")(unfold)
