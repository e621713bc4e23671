"""Resizing by interpolation (PyTorch's ``F.interpolate`` for 3-D and 4-D inputs).

Every mode is a separable linear map, y = Mh · x · Mwᵀ (y = x · Mᵀ for a 3-D signal), with
at most two non-zeros per row of each M, applied as gathers along each axis; the backward is
the transposed map (a segment sum), itself differentiable. Source coordinates follow PyTorch
exactly, computed in the input's precision (float32 stays float32):

* ``nearest``: src = min(floor(dst · scale), in - 1), scale = 1 / scale_factor when a
  scale factor is given (else in / out), in single precision; out = in and out = 2·in are
  exact copies / halvings.
* ``nearest-exact``: src = min(floor((dst + 0.5) · scale), in - 1).
* ``linear`` / ``bilinear``, ``align_corners=False``: src = max(scale · (dst + 0.5) - 0.5, 0) (pixel
  centres line up); ``align_corners=True``: src = dst · (in - 1) / (out - 1) (corner
  pixels line up). Then i0 = floor(src), i1 = min(i0 + 1, in - 1), λ = src - i0 and
  y = (1 - λ) x[i0] + λ x[i1].

uint8 images are resized as PyTorch's CPU kernel does: nearest modes are gathers; bilinear
computes its coordinates in float64, turns the weights into integers with as many
fractional bits as fit in 15 (``_int16_weights``), interpolates W then H, each pass rounded
half up back to uint8 (no gradient: integers are not differentiable).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from fovea import backends
from fovea.errors import ShapeError
from fovea.nn.functional._linear_map import AxisMaps, LinearMapFn, Taps
from fovea.ops._util import as_tensor
from fovea.tensor import Tensor

_MODES = ("nearest", "nearest-exact", "linear", "bilinear")
_NEEDS_NDIM = {"linear": 3, "bilinear": 4}


def _nearest_taps(in_size: int, out_size: int, scale_factor, exact: bool) -> Taps:
    dst = np.arange(out_size)
    if not exact and out_size == in_size:
        src = dst
    elif not exact and out_size == 2 * in_size and scale_factor is None:
        src = dst >> 1
    else:
        scale = np.float32(1.0 / scale_factor if scale_factor else in_size / out_size)
        pos = dst.astype(np.float32) + np.float32(0.5) if exact else dst.astype(np.float32)
        src = np.minimum(np.floor(pos * scale).astype(np.int64), in_size - 1)
    return Taps(src, None, None, None, in_size)


def _linear_taps(in_size: int, out_size: int, scale_factor, align_corners: bool,
                 dtype) -> Taps:
    # PyTorch computes the coordinates in the op's accumulation type: float32 for
    # float32/float16 inputs, float64 for float64.
    ct = np.float64 if dtype == np.float64 else np.float32
    dst = np.arange(out_size).astype(ct)
    if align_corners:
        scale = ct((in_size - 1) / (out_size - 1)) if out_size > 1 else ct(0)
        src = dst * scale
    else:
        scale = ct(1.0 / scale_factor) if scale_factor else ct(in_size) / ct(out_size)
        src = np.maximum(scale * (dst + ct(0.5)) - ct(0.5), ct(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    lam = np.clip(src - i0.astype(ct), 0, 1).astype(ct)
    i1 = np.minimum(i0 + 1, in_size - 1)
    return Taps(i0, (1 - lam).astype(ct), i1, lam, in_size)


def _sizes_or_none(v, n: int, name: str, op: str, kind):
    if v is None:
        return None
    if isinstance(v, numbers.Number) and not isinstance(v, bool):
        v = (v,) * n
    if not isinstance(v, tuple | list) or len(v) != n:
        raise ValueError(f"{op}: {name} must be a number or a tuple of {n} for a "
                         f"{n + 2}-D input, got {v!r}")
    for e in v:
        if isinstance(e, bool) or not isinstance(e, kind) or e <= 0:
            raise ValueError(f"{op}: {name} must contain positive "
                             f"{'integers' if kind is numbers.Integral else 'numbers'}, "
                             f"got {v!r}")
    return tuple(v)


def _int16_weights(w0: np.ndarray, w1: np.ndarray):
    """Weights as integers with the most fractional bits that keep them below 2^15 (PyTorch's
    fixed-point uint8 kernel): (w0 · 2^p, w1 · 2^p) rounded half up, and p."""
    w_max = max(float(w0.max()), float(w1.max()))
    prec = 0
    while prec < 22 and int(0.5 + w_max * (1 << (prec + 1))) < (1 << 15):
        prec += 1
    return (np.floor(w0 * (1 << prec) + 0.5).astype(np.int64),
            np.floor(w1 * (1 << prec) + 0.5).astype(np.int64), prec)


def _linear_uint8(x, taps: Taps, axis: int):
    """One pass of PyTorch's uint8 bilinear kernel along ``axis``: fixed-point weights, a
    rounding term, and the result rounded back to uint8 before the next pass."""
    xp = backends.for_array(x).xp
    if x.shape[axis] == taps.i0.size == taps.in_size:
        return x  # PyTorch skips an axis whose size does not change
    a0, a1, prec = _int16_weights(taps.w0, taps.w1)
    shape = [1] * x.ndim
    shape[axis] = -1
    wide = x.astype(xp.int64)
    acc = (xp.take(wide, xp.asarray(taps.i0), axis=axis) * xp.asarray(a0).reshape(shape)
           + xp.take(wide, xp.asarray(taps.i1), axis=axis) * xp.asarray(a1).reshape(shape))
    return xp.clip((acc + (1 << (prec - 1))) >> prec, 0, 255).astype(xp.uint8)


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None):
    """Resize signals or images by nearest-neighbour or (bi)linear interpolation.

    Args:
        input: (N, C, L) for ``'linear'`` and the nearest modes, (N, C, H, W) for
            ``'bilinear'`` and the nearest modes. Floating, or uint8 for ``'nearest'``,
            ``'nearest-exact'`` and ``'bilinear'`` (PyTorch's fixed-point rounding).
        size: the output's spatial size (L_out, or (H_out, W_out)), or an int for all;
            exclusive with ``scale_factor``.
        scale_factor: multiplier (or one per spatial axis); out = floor(in · scale_factor).
        mode: ``'nearest'`` (PyTorch's legacy nearest), ``'nearest-exact'``, ``'linear'``
            (3-D) or ``'bilinear'`` (4-D).
        align_corners: (bi)linear only: map corner pixel centres onto each other (True) or
            treat pixels as unit areas (False, the default).
        recompute_scale_factor: compute the coordinate scale from the output size instead
            of using ``scale_factor`` directly.

    Returns:
        (N, C, L_out) or (N, C, H_out, W_out) in the input's dtype; differentiable for
        floating inputs.
    """
    op = "interpolate"
    x = as_tensor(input, op=op)
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {_MODES}, got {mode!r}")
    if x.ndim not in (3, 4):
        raise ShapeError(f"{op}: expected a 3-D input (N, C, L) or a 4-D input (N, C, H, W), "
                         f"got shape {x.shape}")
    if mode in _NEEDS_NDIM and x.ndim != _NEEDS_NDIM[mode]:
        raise ShapeError(f"{op}: got a {x.ndim}-D input, but {mode} mode needs a "
                         f"{_NEEDS_NDIM[mode]}-D input")
    if x.dtype.kind != "f" and not (x.dtype == np.uint8 and mode != "linear"):
        raise TypeError(f"{op}: input must be a floating tensor (or uint8 for the nearest and "
                        f"bilinear modes), got dtype {x.dtype} with mode {mode!r}")
    linear = mode in _NEEDS_NDIM
    if align_corners is not None and not linear:
        raise ValueError(f"{op}: align_corners option can only be set with the interpolating "
                         f"modes 'linear' and 'bilinear', not {mode!r}")
    spatial = x.shape[2:]
    n = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: exactly one of size and scale_factor must be given")
    size = _sizes_or_none(size, n, "size", op, numbers.Integral)
    scale = _sizes_or_none(scale_factor, n, "scale_factor", op, numbers.Real)
    if size is not None:
        out = tuple(int(s) for s in size)
        scale = (None,) * n
    else:
        out = tuple(int(math.floor(i * float(s))) for i, s in zip(spatial, scale))
        if any(o < 1 for o in out):
            raise ValueError(f"{op}: scale_factor {scale_factor} gives an empty output "
                             f"{out} for input size {tuple(spatial)}")
        if recompute_scale_factor:
            scale = (None,) * n
    if any(i < 1 for i in spatial):
        raise ShapeError(f"{op}: input has an empty spatial dimension {tuple(x.shape)}")
    # uint8 coordinates are computed in float64, as PyTorch's uint8 kernel does.
    coord_dtype = np.float64 if x.dtype == np.uint8 else x.dtype
    taps = [_linear_taps(i, o, s, bool(align_corners), coord_dtype) if linear
            else _nearest_taps(i, o, s, mode == "nearest-exact")
            for i, o, s in zip(spatial, out, scale)]
    if x.dtype == np.uint8 and linear:
        y = _linear_uint8(_linear_uint8(x._data, taps[1], 3), taps[0], 2)
        return Tensor._make(y, None)
    if n == 1:  # a signal: one row of an image
        row = Taps(np.zeros(1, dtype=np.int64), None, None, None, 1)
        y = LinearMapFn.apply(x.unsqueeze(2), op=AxisMaps(row, taps[0]))
        return y.squeeze(2)
    return LinearMapFn.apply(x, op=AxisMaps(*taps))


def upsample(input, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None):
    """Alias of :func:`interpolate` (PyTorch's deprecated ``F.upsample``)."""
    return interpolate(input, size, scale_factor, mode, align_corners)
