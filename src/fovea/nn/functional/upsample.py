"""Up-sampling by interpolation (PyTorch's ``F.interpolate`` for 4-D inputs).

Both modes are separable linear maps, y = Mh · x · Mwᵀ, with at most two non-zeros per
row of each M, applied as gathers along H then W; the backward is the transposed map (a
segment sum), itself differentiable. Source coordinates follow PyTorch exactly, computed in
the input's precision (float32 stays float32):

* ``nearest``: src = min(floor(dst · scale), in - 1), scale = 1 / scale_factor when a
  scale factor is given (else in / out), in single precision; out = in and out = 2·in are
  exact copies / halvings.
* ``nearest-exact``: src = min(floor((dst + 0.5) · scale), in - 1).
* ``bilinear``, ``align_corners=False``: src = max(scale · (dst + 0.5) - 0.5, 0) (pixel
  centres line up); ``align_corners=True``: src = dst · (in - 1) / (out - 1) (corner
  pixels line up). Then i0 = floor(src), i1 = min(i0 + 1, in - 1), λ = src - i0 and
  y = (1 - λ) x[i0] + λ x[i1].
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from fovea.nn.functional._linear_map import AxisMaps, LinearMapFn, Taps
from fovea.ops._util import as_tensor

_MODES = ("nearest", "nearest-exact", "bilinear")


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


def _pair_or_none(v, name: str, op: str, kind):
    if v is None:
        return None
    if isinstance(v, numbers.Number) and not isinstance(v, bool):
        v = (v, v)
    if not isinstance(v, tuple | list) or len(v) != 2:
        raise ValueError(f"{op}: {name} must be a number or a pair for a 4-D input, got {v!r}")
    for e in v:
        if isinstance(e, bool) or not isinstance(e, kind) or e <= 0:
            raise ValueError(f"{op}: {name} must contain positive "
                             f"{'integers' if kind is numbers.Integral else 'numbers'}, "
                             f"got {v!r}")
    return tuple(v)


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None):
    """Resize images by nearest-neighbour or bilinear interpolation (with backward).

    Args:
        input: (N, C, H, W) (or unbatched (C, H, W)).
        size: output (H_out, W_out) or an int for both; exclusive with ``scale_factor``.
        scale_factor: multiplier (or pair); H_out = floor(H · scale_factor).
        mode: ``'nearest'`` (PyTorch's legacy nearest), ``'nearest-exact'`` or
            ``'bilinear'``.
        align_corners: bilinear only: map corner pixel centres onto each other (True) or
            treat pixels as unit areas (False, the default).
        recompute_scale_factor: compute the coordinate scale from the output size instead
            of using ``scale_factor`` directly.

    Returns:
        (N, C, H_out, W_out) in the input's dtype.
    """
    op = "interpolate"
    x = as_tensor(input, op=op)
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or a 3-D unbatched input "
                         f"(C, H, W), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating tensor, got dtype {x.dtype}")
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {_MODES}, got {mode!r}")
    if align_corners is not None and mode != "bilinear":
        raise ValueError(f"{op}: align_corners option can only be set with the interpolating "
                         f"mode 'bilinear', not {mode!r}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    in_hw = x.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: exactly one of size and scale_factor must be given")
    size = _pair_or_none(size, "size", op, numbers.Integral)
    scale = _pair_or_none(scale_factor, "scale_factor", op, numbers.Real)
    if size is not None:
        out_hw = tuple(int(s) for s in size)
        scale = (None, None)
    else:
        out_hw = tuple(int(math.floor(i * float(s))) for i, s in zip(in_hw, scale))
        if any(o < 1 for o in out_hw):
            raise ValueError(f"{op}: scale_factor {scale_factor} gives an empty output "
                             f"{out_hw} for input size {tuple(in_hw)}")
        if recompute_scale_factor:
            scale = (None, None)
    taps = []
    for i, o, s in zip(in_hw, out_hw, scale):
        if i < 1:
            raise ValueError(f"{op}: input has an empty spatial plane {tuple(x.shape)}")
        if mode == "bilinear":
            taps.append(_linear_taps(i, o, s, bool(align_corners), x.dtype))
        else:
            taps.append(_nearest_taps(i, o, s, mode == "nearest-exact"))
    out = LinearMapFn.apply(x, op=AxisMaps(*taps))
    return out[0] if unbatched else out


def upsample(input, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None):
    """Alias of :func:`interpolate` (PyTorch's deprecated ``F.upsample``)."""
    return interpolate(input, size, scale_factor, mode, align_corners)
