"""Adaptive pooling: ``adaptive_avg_pool2d`` and ``adaptive_max_pool2d`` over PyTorch's bins,
giving exactly the requested output size."""

from __future__ import annotations

import numpy as np

from fovea.autograd import Function
from fovea.nn.functional._linear_map import AxisMaps, LinearMapFn, ScatterAdd
from fovea.nn.functional.pooling._common import input4, output_hw
from fovea.tensor import Tensor


def _adaptive_bins(size: int, out: int):  # host index arithmetic
    """PyTorch's bins: [floor(i·size/out), ceil((i+1)·size/out)) for i < out."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _adaptive_matrix(size: int, out: int) -> np.ndarray:
    start, end = _adaptive_bins(size, out)
    j = np.arange(size)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return inside / (end - start)[:, None]


def adaptive_avg_pool2d(input, output_size):
    """Average over PyTorch's adaptive bins, giving exactly ``output_size`` (oH, oW).

    Bin i along H covers [floor(i·H/oH), ceil((i+1)·H/oH)); bins may overlap. Computed as
    y = Ah · x · Awᵀ with the (small) averaging matrices. ``output_size`` may be an int, a
    pair, or contain None (keep that input size).
    """
    op = "adaptive_avg_pool2d"
    x, unbatched = input4(input, op)
    h, w = x.shape[2:]
    oh, ow = output_hw(output_size, (h, w), op)
    if h == 0 or w == 0:
        raise ValueError(f"{op}: input has an empty spatial plane {tuple(x.shape)}")
    op_ = AxisMaps(_adaptive_matrix(h, oh), _adaptive_matrix(w, ow))
    out = LinearMapFn.apply(x, op=op_)
    return out[0] if unbatched else out


class AdaptiveMaxPool2dFn(Function):
    @staticmethod
    def forward(ctx, x, *, out_hw, sink=None):
        n, c, h, w = x.shape
        (sh, eh), (sw, ew) = _adaptive_bins(h, out_hw[0]), _adaptive_bins(w, out_hw[1])
        # Pad each bin to the longest by repeating its last index (harmless for a max).
        ih = np.minimum(sh[:, None] + np.arange((eh - sh).max()), eh[:, None] - 1)
        iw = np.minimum(sw[:, None] + np.arange((ew - sw).max()), ew[:, None] - 1)
        flat = ih[:, None, :, None] * w + iw[None, :, None, :]  # (oh, ow, Lh, Lw)
        xp = ctx.xp
        flat = xp.asarray(flat.reshape(out_hw[0], out_hw[1], -1))
        vals = x.reshape(n, c, h * w)[:, :, flat]  # (N, C, oh, ow, Lh·Lw)
        k = xp.argmax(vals, axis=-1)[..., None]
        y = xp.take_along_axis(vals, k, axis=-1)[..., 0]
        ctx.idx = xp.take_along_axis(xp.broadcast_to(flat, vals.shape), k, axis=-1)[..., 0]
        ctx.in_hw = (h, w)
        if sink is not None:
            sink.append(ctx.idx)
        return y

    @staticmethod
    def backward(ctx, g):
        return ctx.run(LinearMapFn, g, op=ScatterAdd(ctx.idx, ctx.in_hw))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive bins (see :func:`adaptive_avg_pool2d`).

    Returns (N, C, oH, oW), and with ``return_indices`` the flat h·W + w index of each
    maximum (the first one on ties).
    """
    op = "adaptive_max_pool2d"
    x, unbatched = input4(input, op)
    h, w = x.shape[2:]
    out_hw = output_hw(output_size, (h, w), op)
    if h == 0 or w == 0:
        raise ValueError(f"{op}: input has an empty spatial plane {tuple(x.shape)}")
    sink = [] if return_indices else None
    out = AdaptiveMaxPool2dFn.apply(x, out_hw=out_hw, sink=sink)
    out = out[0] if unbatched else out
    if not return_indices:
        return out
    idx = Tensor._make(sink[0].astype(np.int64), None)
    return out, (idx[0] if unbatched else idx)
