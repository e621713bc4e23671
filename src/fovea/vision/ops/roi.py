"""``roi_align`` and ``roi_pool``: fixed-size features of boxes on a feature map, with
backward, following torchvision's conventions exactly.

RoIAlign (Mask R-CNN) averages bilinear samples on a regular grid in each output bin. The
bilinear weights separate into a y part and an x part, so for each box the op is linear:
``out[k, c] = A_y[k] @ x[b_k, c] @ A_x[k]^T`` with ``A_y`` (PH, H) and ``A_x`` (PW, W)
sampling matrices built once per call (vectorised, boxes with different sampling grids
included); forward and backward are then matrix products, and the backward of the backward
is the forward again, so gradients of any order exist.

RoIPool (Fast R-CNN) rounds the box to the feature grid and takes the max over each bin;
its gradient goes to the arg-max of each bin.
"""

from __future__ import annotations

import numpy as np

from fovea.autograd import Function
from fovea.errors import ShapeError
from fovea.nn import Module
from fovea.tensor import Tensor

__all__ = ["roi_align", "roi_pool", "RoIAlign", "RoIPool"]


def _pair(v, name: str, op: str) -> tuple[int, int]:
    if isinstance(v, int):
        v = (v, v)
    v = tuple(int(i) for i in v)
    if len(v) != 2 or min(v) < 1:
        raise ValueError(f"{op}: {name} must be a positive int or a pair of them, got {v}")
    return v


def _rois(boxes, num_images: int, op: str) -> np.ndarray:
    """(K, 5) float64 rows ``(batch_index, x1, y1, x2, y2)`` from torchvision's two forms: a
    (K, 5) tensor, or a list with one (L_i, 4) tensor per image."""
    if isinstance(boxes, list | tuple):
        parts = []
        for i, b in enumerate(boxes):
            a = b.detach().numpy() if isinstance(b, Tensor) else np.asarray(b)
            if a.ndim != 2 or a.shape[1] != 4:
                raise ShapeError(f"{op}: boxes[{i}] must have shape (L, 4), got {a.shape}")
            parts.append(np.concatenate([np.full((len(a), 1), i), a], 1))
        r = np.concatenate(parts, 0) if parts else np.zeros((0, 5))
    else:
        r = boxes.detach().numpy() if isinstance(boxes, Tensor) else np.asarray(boxes)
        if r.ndim != 2 or r.shape[1] != 5:
            raise ShapeError(f"{op}: boxes must be a (K, 5) tensor of (batch_index, x1, y1, x2, "
                             f"y2) rows or a list of (L, 4) tensors, got shape {r.shape}")
    r = r.astype(np.float64)
    b = r[:, 0]
    if len(b) and (b.min() < 0 or b.max() >= num_images or (b != np.round(b)).any()):
        raise IndexError(f"{op}: box batch indices must be integers in [0, {num_images}), got "
                         f"{sorted(set(b.tolist()))[:5]}")
    return r


def _axis_matrix(start, length, pooled: int, size: int, sampling_ratio: int, dtype):
    """(K, pooled, size): the averaged bilinear weights of one axis' samples for each box."""
    k = len(start)
    bin_size = length / pooled
    grid = (np.full(k, sampling_ratio) if sampling_ratio > 0
            else np.ceil(length / pooled).astype(np.int64))
    g = max(int(grid.max(initial=0)), 1)
    den = np.maximum(grid, 1)[:, None, None]
    p = np.arange(pooled)[None, :, None]
    i = np.arange(g)[None, None, :]
    coord = start[:, None, None] + p * bin_size[:, None, None] \
        + (i + 0.5) * bin_size[:, None, None] / den
    valid = (i < grid[:, None, None]) & (coord >= -1.0) & (coord <= size)
    c = np.maximum(coord, 0.0)
    low = np.floor(c).astype(np.int64)
    edge = low >= size - 1
    low = np.where(edge, size - 1, low)
    high = np.where(edge, size - 1, low + 1)
    frac = np.where(edge, 0.0, c - low)
    w = valid / den
    m = np.zeros((k, pooled, size))
    kk = np.broadcast_to(np.arange(k)[:, None, None], low.shape)
    pp = np.broadcast_to(p, low.shape)
    np.add.at(m, (kk, pp, low), w * (1.0 - frac))
    np.add.at(m, (kk, pp, high), w * frac)
    return m.astype(dtype)


def _per_image(bidx, n):
    return [(i, np.flatnonzero(bidx == i)) for i in range(n) if (bidx == i).any()]


class RoIAlignFn(Function):
    """out[k, c] = ay[k] @ x[b_k, c] @ ax[k]^T; x: (N, C, H, W) -> (K, C, PH, PW)."""

    @staticmethod
    def forward(ctx, x, ay, ax, bidx):
        ctx.ay, ctx.ax, ctx.bidx, ctx.shape = ay, ax, bidx, x.shape
        out = np.zeros((len(bidx), x.shape[1], ay.shape[1], ax.shape[1]), x.dtype)
        for n, sel in _per_image(bidx, x.shape[0]):
            t = np.tensordot(ay[sel], x[n], axes=([2], [1]))           # (k, PH, C, W)
            out[sel] = np.matmul(t.transpose(0, 2, 1, 3), ax[sel].transpose(0, 2, 1)[:, None])
        return out

    @staticmethod
    def backward(ctx, g):
        return ctx.run(RoIAlignAdjoint, g, ay=ctx.ay, ax=ctx.ax, bidx=ctx.bidx, shape=ctx.shape)


class RoIAlignAdjoint(Function):
    """The transpose of :class:`RoIAlignFn`: g (K, C, PH, PW) -> dx (N, C, H, W)."""

    @staticmethod
    def forward(ctx, g, ay, ax, bidx, shape):
        ctx.ay, ctx.ax, ctx.bidx = ay, ax, bidx
        dx = np.zeros(shape, g.dtype)
        for n, sel in _per_image(bidx, shape[0]):
            u = np.matmul(g[sel], ax[sel][:, None])                    # (k, C, PH, W)
            dx[n] = np.tensordot(ay[sel], u, axes=([0, 1], [0, 2])).transpose(1, 0, 2)
        return dx

    @staticmethod
    def backward(ctx, g):
        return ctx.run(RoIAlignFn, g, ay=ctx.ay, ax=ctx.ax, bidx=ctx.bidx)


def roi_align(input: Tensor, boxes, output_size, spatial_scale: float = 1.0,
              sampling_ratio: int = -1, aligned: bool = False) -> Tensor:
    """RoIAlign (He et al. 2017), as ``torchvision.ops.roi_align``.

    Args:
        input: (N, C, H, W) feature map.
        boxes: (K, 5) rows ``(batch_index, x1, y1, x2, y2)`` in image coordinates, or a list
            of N (L_i, 4) xyxy tensors.
        output_size: ``(PH, PW)`` or an int.
        spatial_scale: feature-map size / image size (e.g. 1/16 for a stride-16 backbone).
        sampling_ratio: samples per bin along each axis; <= 0: ``ceil(box size / bins)``.
        aligned: shift the box by -0.5 pixel so that sample points sit at pixel centres
            (``aligned=True`` is ONNX's ``half_pixel`` mode); False keeps the legacy
            behaviour where boxes are at least 1x1.

    Returns:
        (K, C, PH, PW); the gradient flows to ``input`` (not to the boxes).
    """
    op = "roi_align"
    if input.dim() != 4:
        raise ShapeError(f"{op}: input must be (N, C, H, W), got {tuple(input.shape)}")
    ph, pw = _pair(output_size, "output_size", op)
    n, _, h, w = input.shape
    r = _rois(boxes, n, op)
    off = 0.5 if aligned else 0.0
    x1, y1 = r[:, 1] * spatial_scale - off, r[:, 2] * spatial_scale - off
    rw, rh = r[:, 3] * spatial_scale - off - x1, r[:, 4] * spatial_scale - off - y1
    if not aligned:  # the legacy (Detectron) behaviour: force malformed boxes to 1x1
        rw, rh = np.maximum(rw, 1.0), np.maximum(rh, 1.0)
    dtype = input._data.dtype
    ay = _axis_matrix(y1, rh, ph, h, sampling_ratio, dtype)
    ax = _axis_matrix(x1, rw, pw, w, sampling_ratio, dtype)
    return RoIAlignFn.apply(input, ay=ay, ax=ax, bidx=r[:, 0].astype(np.int64))


def _round(v):
    """C's round(): halves away from zero (NumPy rounds them to even)."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _bin_masks(start, size_in_cells, pooled: int, size: int):
    """(K, pooled, size) bool: which feature cells fall in each bin (RoIPool's rounding)."""
    bin_size = size_in_cells / pooled
    p = np.arange(pooled)[None, :]
    lo = np.clip(np.floor(p * bin_size[:, None]) + start[:, None], 0, size)
    hi = np.clip(np.ceil((p + 1) * bin_size[:, None]) + start[:, None], 0, size)
    cells = np.arange(size)[None, None, :]
    return (cells >= lo[..., None]) & (cells < hi[..., None])


class RoIPoolFn(Function):
    """Max over each bin's cells; the gradient goes to the arg-max (first in row-major order,
    as torchvision's strict ``>`` scan)."""

    @staticmethod
    def forward(ctx, x, mh, mw, bidx):
        k, c = len(bidx), x.shape[1]
        ph, pw, wdt = mh.shape[1], mw.shape[1], x.shape[3]
        out = np.zeros((k, c, ph, pw), x.dtype)
        arg = np.full((k, c, ph, pw), -1, np.int64)
        for n, sel in _per_image(bidx, x.shape[0]):
            xs = x[n][None, :, :, None, :]                                # (1, C, H, 1, W)
            v1 = np.where(mw[sel][:, None, None], xs, -np.inf)           # (k, C, H, PW, W)
            aw, m1 = v1.argmax(-1), v1.max(-1)                           # (k, C, H, PW)
            v2 = np.where(mh[sel][:, None, :, None, :],                  # (k, 1, PH, 1, H)
                          m1.transpose(0, 1, 3, 2)[:, :, None], -np.inf)  # (k, C, PH, PW, H)
            ah, m2 = v2.argmax(-1), v2.max(-1)                           # (k, C, PH, PW)
            col = np.take_along_axis(aw.transpose(0, 1, 3, 2)[:, :, None],
                                     ah[..., None], -1)[..., 0]           # aw at the chosen h
            empty = ~np.isfinite(m2)
            out[sel] = np.where(empty, 0, m2)
            arg[sel] = np.where(empty, -1, ah * wdt + col)
        ctx.arg, ctx.bidx, ctx.shape = arg, bidx, x.shape
        return out

    @staticmethod
    def backward(ctx, g):
        n, c, h, w = ctx.shape
        dx = np.zeros((n, c, h * w), g.dtype)
        k_, c_, _, _ = np.indices(ctx.arg.shape, sparse=True)
        ok = ctx.arg >= 0
        bi = np.broadcast_to(ctx.bidx[:, None, None, None], ctx.arg.shape)
        ci = np.broadcast_to(c_, ctx.arg.shape)
        np.add.at(dx, (bi[ok], ci[ok], ctx.arg[ok]), np.asarray(g)[ok])
        return dx.reshape(n, c, h, w)


def roi_pool(input: Tensor, boxes, output_size, spatial_scale: float = 1.0) -> Tensor:
    """RoIPool (Girshick 2015), as ``torchvision.ops.roi_pool`` (ONNX's ``MaxRoiPool``).

    Each box is scaled by ``spatial_scale`` and rounded to feature cells (both corners
    included, so a box is at least 1x1), split into PH x PW bins with floor/ceil edges, and
    each bin takes its maximum (0 for a bin outside the map).

    Args:
        input: (N, C, H, W); boxes: (K, 5) ``(batch_index, x1, y1, x2, y2)`` rows or a list of
            (L_i, 4) tensors; output_size: ``(PH, PW)`` or an int.

    Returns:
        (K, C, PH, PW).
    """
    op = "roi_pool"
    if input.dim() != 4:
        raise ShapeError(f"{op}: input must be (N, C, H, W), got {tuple(input.shape)}")
    ph, pw = _pair(output_size, "output_size", op)
    n, _, h, w = input.shape
    r = _rois(boxes, n, op)
    xs, ys = _round(r[:, 1] * spatial_scale), _round(r[:, 2] * spatial_scale)
    xe, ye = _round(r[:, 3] * spatial_scale), _round(r[:, 4] * spatial_scale)
    rw, rh = np.maximum(xe - xs + 1, 1), np.maximum(ye - ys + 1, 1)
    mh, mw = _bin_masks(ys, rh, ph, h), _bin_masks(xs, rw, pw, w)
    return RoIPoolFn.apply(input, mh=mh, mw=mw, bidx=r[:, 0].astype(np.int64))


class RoIAlign(Module):
    """Module form of :func:`roi_align` (``torchvision.ops.RoIAlign``)."""

    def __init__(self, output_size, spatial_scale: float, sampling_ratio: int,
                 aligned: bool = False):
        super().__init__()
        self.output_size, self.spatial_scale = output_size, spatial_scale
        self.sampling_ratio, self.aligned = sampling_ratio, aligned

    def forward(self, input, rois):
        return roi_align(input, rois, self.output_size, self.spatial_scale,
                         self.sampling_ratio, self.aligned)


class RoIPool(Module):
    """Module form of :func:`roi_pool` (``torchvision.ops.RoIPool``)."""

    def __init__(self, output_size, spatial_scale: float):
        super().__init__()
        self.output_size, self.spatial_scale = output_size, spatial_scale

    def forward(self, input, rois):
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

