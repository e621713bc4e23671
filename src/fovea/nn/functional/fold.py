"""Sliding blocks as columns and back: ``unfold`` (im2col) and ``fold`` (col2im).

``unfold`` copies every kh×kw window of a padded (N, C, H, W) input into one column of an
(N, C·kh·kw, L) array (rows ordered channel, then kernel row, then kernel column; L windows
in row-major order), which turns a convolution into a matrix product. ``fold`` is its
adjoint: it adds each column back into its window of an (N, C, H, W) output, so overlapping
windows sum. Each is the other's gradient (run as the other's node under ``create_graph``),
and both loop only over the kh·kw kernel taps, each a strided slice of the whole batch.
Window sizes follow :mod:`fovea.backends.conv_geometry` (PyTorch's formula).
"""

from __future__ import annotations

import numbers

from fovea.autograd import Function
from fovea.backends.conv_geometry import Geometry
from fovea.errors import ShapeError
from fovea.ops._util import as_tensor
from fovea.tensor import Tensor

__all__ = ["fold", "unfold"]


def _taps(g: Geometry, ho: int, wo: int):
    """(i, j, row slice, column slice) of each kernel tap in the padded plane."""
    for i in range(g.kh):
        rows = slice(i * g.dh, i * g.dh + g.sh * (ho - 1) + 1, g.sh)
        for j in range(g.kw):
            yield i, j, rows, slice(j * g.dw, j * g.dw + g.sw * (wo - 1) + 1, g.sw)


class Unfold(Function):
    """(N, C, H, W) -> (N, C·kh·kw, Ho·Wo). Backward: ``fold`` of the gradient."""

    @staticmethod
    def forward(ctx, x, geom, out_hw):
        xp = ctx.xp
        g = geom
        n, c, h, w = x.shape
        ctx.geom, ctx.hw, ctx.out_hw = g, (h, w), out_hw
        if g.padded:
            x = xp.pad(x, ((0, 0), (0, 0), (g.pt, g.pb), (g.pl, g.pr)))
        ho, wo = out_hw
        cols = xp.empty((n, c, g.kh, g.kw, ho, wo), dtype=x.dtype)
        for i, j, rows, columns in _taps(g, ho, wo):
            cols[:, :, i, j] = x[:, :, rows, columns]
        return cols.reshape(n, c * g.kh * g.kw, ho * wo)

    @staticmethod
    def backward(ctx, g):
        return ctx.run(Fold, g, geom=ctx.geom, hw=ctx.hw, out_hw=ctx.out_hw)


class Fold(Function):
    """(N, C·kh·kw, Ho·Wo) -> (N, C, H, W), overlapping windows added. Backward: ``unfold``."""

    @staticmethod
    def forward(ctx, cols, geom, hw, out_hw):
        xp = ctx.xp
        g = geom
        n = cols.shape[0]
        c = cols.shape[1] // (g.kh * g.kw)
        ho, wo = out_hw
        h, w = hw
        ctx.geom, ctx.out_hw = g, out_hw
        cols = cols.reshape(n, c, g.kh, g.kw, ho, wo)
        out = xp.zeros((n, c, h + g.pt + g.pb, w + g.pl + g.pr), dtype=cols.dtype)
        for i, j, rows, columns in _taps(g, ho, wo):
            out[:, :, rows, columns] += cols[:, :, i, j]
        return out[:, :, g.pt:g.pt + h, g.pl:g.pl + w]

    @staticmethod
    def backward(ctx, g):
        return ctx.run(Unfold, g, geom=ctx.geom, out_hw=ctx.out_hw)


def _pair(v, name: str, op: str, low: int) -> tuple[int, int]:
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        v = (v, v)
    if not (isinstance(v, tuple | list) and len(v) == 2 and all(
            isinstance(e, numbers.Integral) and not isinstance(e, bool) and e >= low
            for e in v)):
        raise ValueError(f"{op}: {name} must be an int >= {low} or a pair of them, got {v!r}")
    return int(v[0]), int(v[1])


def _geometry(kernel_size, dilation, padding, stride, op: str) -> Geometry:
    kh, kw = _pair(kernel_size, "kernel_size", op, 1)
    dh, dw = _pair(dilation, "dilation", op, 1)
    ph, pw = _pair(padding, "padding", op, 0)
    sh, sw = _pair(stride, "stride", op, 1)
    return Geometry(kh, kw, sh, sw, dh, dw, ph, ph, pw, pw)


def _blocks(g: Geometry, h: int, w: int, op: str) -> tuple[int, int]:
    try:
        return g.out_size(h, w, op)
    except ValueError as e:  # an empty output: a shape problem (RuntimeError in PyTorch)
        raise ShapeError(str(e)) from None


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding blocks as columns (im2col).

    Args:
        input: (N, C, H, W) or unbatched (C, H, W).
        kernel_size, dilation, padding, stride: ints or (h, w) pairs, as in ``conv2d``
            (zero padding on both sides).

    Returns:
        (N, C·kh·kw, L) (or (C·kh·kw, L)), L = Ho·Wo the number of windows.
    """
    op = "unfold"
    x = as_tensor(input, op=op)
    if x.ndim not in (3, 4):
        raise ShapeError(f"{op}: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got shape "
                         f"{x.shape}")
    g = _geometry(kernel_size, dilation, padding, stride, op)
    batched = x.ndim == 4
    if not batched:
        x = x.unsqueeze(0)
    out_hw = _blocks(g, x.shape[2], x.shape[3], op)
    out = Unfold.apply(x, geom=g, out_hw=out_hw)
    return out if batched else out.squeeze(0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Add columns back into their sliding blocks of an image (col2im), the adjoint of
    :func:`unfold`: overlapping blocks sum.

    Args:
        input: (N, C·kh·kw, L) or unbatched (C·kh·kw, L).
        output_size: (H, W) (or an int) of the image.
        kernel_size, dilation, padding, stride: as in :func:`unfold`; L must equal the number
            of blocks they give on an (H, W) image.

    Returns:
        (N, C, H, W) (or (C, H, W)).
    """
    op = "fold"
    x = as_tensor(input, op=op)
    if x.ndim not in (2, 3):
        raise ShapeError(f"{op}: expected a 2-d (C·kh·kw, L) or 3-d (N, C·kh·kw, L) input, got "
                         f"shape {x.shape}")
    g = _geometry(kernel_size, dilation, padding, stride, op)
    h, w = _pair(output_size, "output_size", op, 1)
    batched = x.ndim == 3
    if not batched:
        x = x.unsqueeze(0)
    k = g.kh * g.kw
    if x.shape[1] % k:
        raise ShapeError(f"{op}: expected the size of input's dimension 1 ({x.shape[1]}) to be "
                         f"divisible by the product of kernel_size ({k})")
    ho, wo = _blocks(g, h, w, op)
    if x.shape[2] != ho * wo:
        raise ShapeError(f"{op}: given output_size=({h}, {w}) and the window parameters, "
                         f"expected {ho} * {wo} = {ho * wo} sliding blocks in input's last "
                         f"dimension, got {x.shape[2]}")
    out = Fold.apply(x, geom=g, hw=(h, w), out_hw=(ho, wo))
    return out if batched else out.squeeze(0)
