"""Max unpooling: ``max_unpool2d``, the partial inverse of ``max_pool2d`` (a linear map that
puts each value at its index)."""

from __future__ import annotations

import numpy as np

from fovea.nn.functional._linear_map import LinearMapFn, Put
from fovea.nn.functional.pooling._common import input4
from fovea.nn.utils.conv import pair
from fovea.ops._util import xp_of
from fovea.tensor import Tensor


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of ``max_pool2d``: each value goes back to the position its index
    names, everything else is zero (the "max unpooling" up-sampling of Lecture 11).

    Args:
        input: (N, C, H, W) pooled values (or unbatched (C, H, W)).
        indices: int64 flat indices from ``max_pool2d(..., return_indices=True)``, same shape.
        kernel_size, stride, padding: those of the pooling (stride defaults to kernel_size).
        output_size: (H_out, W_out) (leading N, C allowed); default
            ((H - 1)·sH - 2pH + kH, (W - 1)·sW - 2pW + kW).

    Returns:
        (N, C, H_out, W_out).
    """
    op = "max_unpool2d"
    x, unbatched = input4(input, op)
    idx = indices._data if isinstance(indices, Tensor) else xp_of(x).asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer tensor, got dtype {idx.dtype}")
    if unbatched:
        idx = idx[None]
    if idx.shape != x.shape:
        raise ValueError(f"{op}: indices have shape {idx.shape} but input has shape {x.shape}")
    k = pair(kernel_size, "kernel_size", op, low=1)
    s = k if stride is None else pair(stride, "stride", op, low=1)
    p = pair(padding, "padding", op)
    h, w = x.shape[2:]
    default = ((h - 1) * s[0] - 2 * p[0] + k[0], (w - 1) * s[1] - 2 * p[1] + k[1])
    if output_size is None:
        out_hw = default
    else:
        size = tuple(int(v) for v in output_size)
        if len(size) not in (2, 4) and not (unbatched and len(size) == 3):
            raise ValueError(f"{op}: output_size must be (H, W) (optionally with N, C in "
                             f"front), got {output_size!r}")
        out_hw = size[-2:]
        for o, d, st in zip(out_hw, default, s):
            if not d - st < o < d + st:
                raise ValueError(f"{op}: invalid output_size {out_hw}: each size must lie "
                                 f"strictly between {default[0] - s[0], default[1] - s[1]} "
                                 f"and {default[0] + s[0], default[1] + s[1]}")
    if out_hw[0] < 1 or out_hw[1] < 1:
        raise ValueError(f"{op}: the output would be empty ({out_hw[0]}x{out_hw[1]})")
    plane = out_hw[0] * out_hw[1]
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        bad = int(idx.max() if idx.max() >= plane else idx.min())
        raise ValueError(f"{op}: found an invalid max index {bad} (output volumes are of "
                         f"size {out_hw[0]}x{out_hw[1]})")
    out = LinearMapFn.apply(x, op=Put(idx.astype(np.int64, copy=False), out_hw))
    return out[0] if unbatched else out
