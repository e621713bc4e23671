"""Raw convolution kernels on channels-last (NHWC) arrays: im2col, col2im and the matmuls.

The patch-matrix paths (see :mod:`.plan` for when each runs): plain im2col for grouped
and 1×1 convolutions and dtypes without an accumulating BLAS, "wide" patches for inputs
with few channels, and per-tap fallbacks for depthwise convolutions.

Why channels-last inside: with the channels innermost, a window of the padded input is
``kw * C`` contiguous numbers per kernel row, the im2col copy moves long runs, the patch
matrix is (N·Ho·Wo, kh·kw·C) and the convolution is one big matrix product
``cols @ W`` whose result (N·Ho·Wo, O) already *is* the NHWC output.

Every function here takes and returns NHWC arrays (any strides in, contiguous out) and
knows nothing about autograd. Shapes: x (N, H, W, C), y or g (N, Ho, Wo, O),
weight (O, C/groups, kh, kw) in PyTorch's layout.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from fovea.backends.conv_geometry import Geometry
from fovea.backends.cpu.blas import gemm
from fovea.backends.cpu.threads import parallel_for

# Minimum rows per thread chunk of a patch-matrix product.
ROW_GRAIN = 256


def pad_nhwc(x: np.ndarray, g: Geometry, h_extra: int = 0, w_extra: int = 0,
             value: float = 0.0) -> np.ndarray:
    """``x`` (N, H, W, C) with the geometry's padding (plus extra rows/columns after)."""
    pb, pr = g.pb + h_extra, g.pr + w_extra
    if not (g.pt or pb or g.pl or pr):
        return x
    n, h, w, c = x.shape
    out = np.empty((n, g.pt + h + pb, g.pl + w + pr, c), dtype=x.dtype)
    # Fill only the border; the interior is overwritten by the copy.
    out[:, :g.pt] = value
    out[:, g.pt + h:] = value
    out[:, g.pt:g.pt + h, :g.pl] = value
    out[:, g.pt:g.pt + h, g.pl + w:] = value
    out[:, g.pt:g.pt + h, g.pl:g.pl + w] = x
    return out


def _windows(xp: np.ndarray, g: Geometry, ho: int, wo: int) -> np.ndarray:
    """Read-only view (N, Ho, Wo, G, kh, kw, C/G) of the windows of padded NHWC ``xp``."""
    n, _, _, c = xp.shape
    cg = c // g.groups
    s_n, s_h, s_w, s_c = xp.strides
    shape = (n, ho, wo, g.groups, g.kh, g.kw, cg)
    strides = (s_n, s_h * g.sh, s_w * g.sw, s_c * cg, s_h * g.dh, s_w * g.dw, s_c)
    return as_strided(xp, shape, strides, writeable=False)


def im2col(x: np.ndarray, g: Geometry, ho: int, wo: int) -> np.ndarray:
    """Patch matrix of NHWC ``x``: (N·Ho·Wo, G, kh·kw·C/G), one row per output pixel.

    A single strided copy (no Python loop); the columns of a group are ordered
    (kernel row, kernel column, channel), matching :func:`weight_matrix`.
    """
    xp = pad_nhwc(x, g)
    view = _windows(xp, g, ho, wo)
    cols = np.empty(view.shape, dtype=x.dtype)

    def copy(i, j):
        cols[i:j] = view[i:j]

    parallel_for(copy, x.shape[0], 1)
    n = x.shape[0]
    return cols.reshape(n * ho * wo, g.groups, -1)


def col2im(cols: np.ndarray, g: Geometry, n: int, ho: int, wo: int, h: int,
           w: int) -> np.ndarray:
    """Adjoint of :func:`im2col`: add each patch back where it came from -> (N, H, W, C).

    ``cols`` is (N·Ho·Wo, G, kh·kw·C/G) with any strides. One strided add per kernel tap
    (kh·kw adds), each over the whole batch.
    """
    cg = cols.shape[-1] // (g.kh * g.kw)
    c = cg * g.groups
    c7 = cols.reshape(n, ho, wo, g.groups, g.kh, g.kw, cg)
    hp, wp = h + g.pt + g.pb, w + g.pl + g.pr
    # The padded buffer must hold every window, even when padding is smaller than the
    # windows' reach (transposed convolutions with output_padding).
    hp = max(hp, (ho - 1) * g.sh + g.dh * (g.kh - 1) + 1)
    wp = max(wp, (wo - 1) * g.sw + g.dw * (g.kw - 1) + 1)
    out = np.zeros((n, hp, wp, g.groups, cg), dtype=cols.dtype)
    he, we = g.sh * (ho - 1) + 1, g.sw * (wo - 1) + 1
    overlap = g.sh < g.dh * (g.kh - 1) + 1 or g.sw < g.dw * (g.kw - 1) + 1
    for r in range(g.kh):
        for s in range(g.kw):
            dst = out[:, r * g.dh:r * g.dh + he:g.sh, s * g.dw:s * g.dw + we:g.sw]
            if overlap:
                dst += c7[:, :, :, :, r, s]
            else:  # windows tile without overlap: each input pixel is written once
                dst[...] = c7[:, :, :, :, r, s]
    out = out.reshape(n, hp, wp, c)
    return out[:, g.pt:g.pt + h, g.pl:g.pl + w]


def weight_matrix(weight: np.ndarray, groups: int) -> np.ndarray:
    """PyTorch weight (O, C/G, kh, kw) -> (G, kh·kw·C/G, O/G), rows ordered like im2col."""
    o, cg, kh, kw = weight.shape
    w5 = weight.reshape(groups, o // groups, cg, kh, kw)
    return np.ascontiguousarray(w5.transpose(0, 3, 4, 2, 1)).reshape(groups, kh * kw * cg,
                                                                    o // groups)


def weight_from_matrix(wm: np.ndarray, o: int, cg: int, kh: int, kw: int) -> np.ndarray:
    """Inverse of :func:`weight_matrix`: (G, kh·kw·C/G, O/G) -> (O, C/G, kh, kw)."""
    groups = wm.shape[0]
    w5 = wm.reshape(groups, kh, kw, cg, o // groups).transpose(0, 4, 3, 1, 2)
    return np.ascontiguousarray(w5).reshape(o, cg, kh, kw)


def is_depthwise(weight_shape: tuple, groups: int) -> bool:
    """Whether a (O, C/G, kh, kw) weight with ``groups`` is depthwise (one channel per group)."""
    return groups > 1 and weight_shape[1] == 1


def is_pointwise(g: Geometry) -> bool:
    """A 1×1 kernel, stride 1, no padding, ungrouped: the patch matrix is x itself."""
    return g.kh == g.kw == 1 and g.sh == g.sw == 1 and not g.padded and g.groups == 1


def _rows(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) -> (N·H·W, C), copying only when the layout requires it."""
    return np.ascontiguousarray(x).reshape(-1, x.shape[-1])


def conv_forward_cols(cols: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                      g: Geometry, n: int, ho: int, wo: int) -> np.ndarray:
    """Patches (M, G, K) @ the weight matrix (+ bias) -> y (N, Ho, Wo, O)."""
    o = weight.shape[0]
    wm = weight_matrix(weight, g.groups)
    m = n * ho * wo
    y = np.empty((m, g.groups, o // g.groups), dtype=cols.dtype)

    def work(i, j):
        if g.groups == 1:
            np.matmul(cols[i:j, 0, :], wm[0], out=y[i:j, 0, :])
        else:
            np.matmul(cols[i:j].swapaxes(0, 1), wm, out=y[i:j].swapaxes(0, 1))
        if bias is not None:
            y[i:j].reshape(j - i, o)[...] += bias

    parallel_for(work, m, ROW_GRAIN)
    return y.reshape(n, ho, wo, o)


def conv_grad_input(gy: np.ndarray, weight: np.ndarray, g: Geometry, h: int,
                    w: int) -> np.ndarray:
    """dL/dx (N, H, W, C) of y = conv(x, weight), from gy = dL/dy (N, Ho, Wo, O).

    This is also the transposed convolution of ``gy`` with ``weight``.
    """
    n, ho, wo, o = gy.shape
    if is_depthwise(weight.shape, g.groups):
        return depthwise_grad_input(gy, weight, g, h, w)
    g2 = _rows(gy)
    wm = weight_matrix(weight, g.groups)
    og = o // g.groups
    dcols = np.empty((g2.shape[0], g.groups, wm.shape[1]), dtype=gy.dtype)

    def work(i, j):  # dcols = g @ Wᵀ, per group, rows split across threads
        np.matmul(g2[i:j].reshape(j - i, g.groups, og).swapaxes(0, 1), wm.swapaxes(1, 2),
                  out=dcols[i:j].swapaxes(0, 1))

    parallel_for(work, g2.shape[0], ROW_GRAIN)
    if is_pointwise(g):
        return dcols.reshape(n, h, w, -1)
    return col2im(dcols, g, n, ho, wo, h, w)


def conv_grad_weight(cols: np.ndarray, gy: np.ndarray, g: Geometry,
                     weight_shape: tuple) -> np.ndarray:
    """dL/dweight (O, C/G, kh, kw) from the patch matrix of x and gy (N, Ho, Wo, O)."""
    o, cg, kh, kw = weight_shape
    g2 = _rows(gy)
    og = o // g.groups

    def work(i, j):  # a reduction over rows: partial sums per chunk, added below
        return np.matmul(cols[i:j].transpose(1, 2, 0),
                         g2[i:j].reshape(j - i, g.groups, og).swapaxes(0, 1))

    wm = sum(parallel_for(work, g2.shape[0], ROW_GRAIN))
    return weight_from_matrix(wm, o, cg, kh, kw)


def conv_cols(x: np.ndarray, g: Geometry, ho: int, wo: int) -> np.ndarray:
    """The patch matrix of NHWC ``x`` (for 1x1 stride-1 kernels, the rows of x itself)."""
    if is_pointwise(g):
        return _rows(x)[:, None, :]
    return im2col(x, g, ho, wo)


# --- depthwise fallbacks (groups == C), used where the shifted-slice scheme does not apply
# A grouped matmul would be C matrix-vector products of length kh·kw; instead loop over
# the kh·kw taps and multiply-accumulate whole (N, Ho, Wo, C) slabs, channels innermost.

def _tap(xp: np.ndarray, g: Geometry, r: int, s: int, ho: int, wo: int) -> np.ndarray:
    return xp[:, r * g.dh:r * g.dh + g.sh * (ho - 1) + 1:g.sh,
              s * g.dw:s * g.dw + g.sw * (wo - 1) + 1:g.sw]


def depthwise_grad_input(gy: np.ndarray, weight: np.ndarray, g: Geometry, h: int,
                         w: int) -> np.ndarray:
    n, ho, wo, o = gy.shape
    c = g.groups
    m = o // c
    wt = weight.reshape(c, m, g.kh, g.kw)
    g5 = gy.reshape(n, ho, wo, c, m)
    hp = max(h + g.pt + g.pb, (ho - 1) * g.sh + g.dh * (g.kh - 1) + 1)
    wp = max(w + g.pl + g.pr, (wo - 1) * g.sw + g.dw * (g.kw - 1) + 1)
    dxp = np.zeros((n, hp, wp, c), dtype=gy.dtype)
    tmp = np.empty((n, ho, wo, c), dtype=gy.dtype)
    for r in range(g.kh):
        for s in range(g.kw):
            if m == 1:
                np.multiply(g5[..., 0], wt[:, 0, r, s], out=tmp)
            else:
                np.einsum("nhwcm,cm->nhwc", g5, wt[:, :, r, s], out=tmp)
            _tap(dxp, g, r, s, ho, wo)[...] += tmp
    return dxp[:, g.pt:g.pt + h, g.pl:g.pl + w]


def depthwise_grad_weight(x: np.ndarray, gy: np.ndarray, g: Geometry,
                          weight_shape: tuple) -> np.ndarray:
    n, ho, wo, o = gy.shape
    c = x.shape[-1]
    m = o // c
    xp = pad_nhwc(x, g)
    g5 = gy.reshape(n, ho, wo, c, m)
    dw = np.empty((c, m, g.kh, g.kw), dtype=gy.dtype)
    for r in range(g.kh):
        for s in range(g.kw):
            dw[:, :, r, s] = np.einsum("nhwc,nhwcm->cm", _tap(xp, g, r, s, ho, wo), g5,
                                       optimize=False)
    return dw.reshape(weight_shape)


# --- wide patches for inputs with few channels --------------------------------------------
# With C = 3 (an RGB first layer) the patch matrix is (N·Ho·Wo, kh·kw·3) @ (kh·kw·3, O):
# its output is only O wide, which BLAS runs far below peak. Taking B horizontally adjacent
# outputs per row instead -- a patch (kh, (B-1)·S + (kw-1)·D + 1, C) against a weight with B
# shifted copies of the kernel -- makes the product B·O wide and the patch matrix smaller
# (overlapping patches share columns), for a few redundant multiplications by zero.

WIDE_OUTPUTS = 4


def wide_block(g: Geometry, wo: int) -> int:
    """Outputs per patch row: B = 4 when the output row is long enough, else 1."""
    return WIDE_OUTPUTS if g.groups == 1 and wo >= 2 * WIDE_OUTPUTS else 1


def _wide_span(g: Geometry, b: int) -> int:
    return (b - 1) * g.sw + (g.kw - 1) * g.dw + 1


def wide_cols(x: np.ndarray, g: Geometry, ho: int, wo: int, b: int) -> np.ndarray:
    """Patch matrix (N·Ho·ceil(Wo/B), kh·span·C) for blocks of B adjacent outputs."""
    n, h, w, c = x.shape
    wb = -(-wo // b)
    span = _wide_span(g, b)
    need_w = (wb * b - 1) * g.sw + (g.kw - 1) * g.dw + 1
    xp = pad_nhwc(x, g, 0, max(0, need_w - (w + g.pl + g.pr)))
    s_n, s_h, s_w, s_c = xp.strides
    view = as_strided(xp, (n, ho, wb, g.kh, span, c),
                      (s_n, s_h * g.sh, s_w * g.sw * b, s_h * g.dh, s_w, s_c), writeable=False)
    cols = np.empty(view.shape, dtype=x.dtype)

    def copy(i, j):
        cols[i:j] = view[i:j]

    parallel_for(copy, n, 1)
    return cols.reshape(n * ho * wb, g.kh * span * c)


def wide_weight(weight: np.ndarray, g: Geometry, b: int) -> np.ndarray:
    """(O, C, kh, kw) -> (kh·span·C, B·O): block j holds the kernel shifted by j·stride."""
    o, c, kh, kw = weight.shape
    span = _wide_span(g, b)
    wide = np.zeros((kh, span, c, b, o), dtype=weight.dtype)
    k = weight.transpose(2, 3, 1, 0)  # (kh, kw, C, O)
    for j in range(b):
        wide[:, j * g.sw:j * g.sw + (kw - 1) * g.dw + 1:g.dw, :, j, :] = k
    return wide.reshape(kh * span * c, b * o)


def fill_rows(dst: np.ndarray, row: np.ndarray) -> None:
    """dst[...] = row for a C-contiguous (rows, k) ``dst``, with long inner loops.

    Broadcasting one short row over many gives NumPy an inner loop of only k elements;
    filling blocks of r rows from an r-times tiled row makes it r·k.
    """
    rows, k = dst.shape
    r = max(1, 4096 // max(k, 1))
    full = rows - rows % r
    if full and dst.flags.c_contiguous:
        dst[:full].reshape(-1, r * k)[...] = np.tile(row, r)
        dst[full:] = row
    else:
        dst[...] = row


def wide_forward(cols: np.ndarray, weight: np.ndarray, bias, g: Geometry, n: int, ho: int,
                 wo: int, b: int) -> np.ndarray:
    """y = cols @ W_wide (+ bias), rows split across threads (single-threaded BLAS each)."""
    o = weight.shape[0]
    wide = wide_weight(weight, g, b)
    y = np.empty((cols.shape[0], b * o), dtype=cols.dtype)
    tiled = None if bias is None else np.tile(bias, b)

    def work(i, j):
        if tiled is not None:
            fill_rows(y[i:j], tiled)  # BLAS then adds the product onto the bias
        gemm(cols[i:j], wide, y[i:j], tiled is not None)

    parallel_for(work, cols.shape[0], ROW_GRAIN)
    return y.reshape(n, ho, -1, o)[:, :, :wo]


def wide_grad_weight(cols: np.ndarray, gy: np.ndarray, g: Geometry, weight_shape,
                     b: int) -> np.ndarray:
    o, c, kh, kw = weight_shape
    n, ho, wo, _ = gy.shape
    wb = -(-wo // b)
    if wb * b != wo:
        padded = np.zeros((n, ho, wb * b, o), dtype=gy.dtype)
        padded[:, :, :wo] = gy
        gy = padded
    span = _wide_span(g, b)
    g2 = gy.reshape(-1, b * o)
    # A reduction over all rows: each thread reduces its rows, then the partial sums add.
    parts = parallel_for(lambda i, j: cols[i:j].T @ g2[i:j], cols.shape[0], ROW_GRAIN)
    dwide = sum(parts).reshape(kh, span, c, b, o)
    dw = np.zeros((kh, kw, c, o), dtype=gy.dtype)
    for j in range(b):
        dw += dwide[:, j * g.sw:j * g.sw + (kw - 1) * g.dw + 1:g.dw, :, j, :]
    return np.ascontiguousarray(dw.transpose(3, 2, 0, 1))
