"""Pooling windows and max-pool's hot loops, in one place (Numba when it applies, NumPy
otherwise).

Interface (raw (N, C, H, W) arrays, any memory layout; results keep the input's layout)::

    win = Window(geometry, (H, W), (Ho, Wo), channels_last)   # sizes and tap views
    out, arg = max_pool(x, win, need_arg)      # maxima (N, C, Ho, Wo), winning tap or None
    dx = max_pool_backward(g, arg, win)        # g at each window's winner, (N, C, H, W)
    y = max_pool_gather(x, arg, win)           # its transpose: x at the winners

``Window`` is the generic family's (:mod:`fovea.backends.generic.pool`), allocating in the
input's memory layout. ``arg`` holds the winning tap r·kW + s of each window (uint8 below
256 taps): ties go to the first tap in row-major order, and a NaN wins (the last NaN of the
window), as in PyTorch. Average pooling (:mod:`fovea.nn.functional.pooling`) uses
:class:`Window`'s tap views directly.

The loops run over the kH·kW taps of the window, never over pixels: each tap is one strided
view of the padded input covering every output position at once. With no padding or
dilation and a channels-last input (conv outputs are), one compiled pass computes the
maxima and the winners together, and one the gradient.
"""

from __future__ import annotations

import numpy as np

from fovea.backends.cpu.layout import nhwc_rows, rows_base
from fovea.backends.cpu.numba import enabled, kernel
from fovea.backends.generic import pool as generic

prange = range  # replaced by numba.prange when a kernel is compiled


def channels_last(x) -> bool:
    """Whether 4-D ``x`` is laid out channels-last (NHWC memory) and not also C-contiguous."""
    return x.ndim == 4 and not x.flags.c_contiguous and x.transpose(0, 2, 3, 1).flags.c_contiguous


def _empty_like_layout(x, shape):
    """An empty (N, C, H, W) array in ``x``'s memory order (channels-last stays so)."""
    if channels_last(x):
        n, c, h, w = shape
        return np.empty((n, h, w, c), dtype=x.dtype).transpose(0, 3, 1, 2)
    return np.empty(shape, dtype=x.dtype)


class Window(generic.Window):
    """:class:`fovea.backends.generic.pool.Window` (sizes, taps, tap views) whose new arrays
    follow the input's memory layout (channels-last stays channels-last)."""

    def pad(self, x, value: float):
        """``x`` (N, C, H, W) inside a (N, C, Hp, Wp) frame of ``value``, in x's memory order."""
        h, w = self.in_hw
        g = self.geo
        if (self.hp, self.wp) == (h, w):
            return x
        out = _empty_like_layout(x, (x.shape[0], x.shape[1], self.hp, self.wp))
        out[:, :, :g.pt] = value
        out[:, :, g.pt + h:] = value
        out[:, :, g.pt:g.pt + h, :g.pl] = value
        out[:, :, g.pt:g.pt + h, g.pl + w:] = value
        out[:, :, g.pt:g.pt + h, g.pl:g.pl + w] = x
        return out

    def zeros_padded(self, like, written: bool = False):
        """Zeros of the padded input's shape in ``like``'s memory order (left uninitialised
        when ``written``: the caller then writes every element, as tiling windows do)."""
        out = _empty_like_layout(like, (like.shape[0], like.shape[1], self.hp, self.wp))
        if not written:
            out[...] = 0
        return out

    def match(self, g):
        """``g`` in the memory order of the forward input (one transpose if it differs).

        Upstream gradients often come back NCHW (e.g. through a flatten) while activations
        are channels-last: mixing the two orders makes every element-wise step a strided
        gather, and hands the layers below a gradient in the order they do not want.
        """
        if self.channels_last and not channels_last(g) and g.ndim == 4:
            return np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        return g


# --- max pooling ---------------------------------------------------------------------------

def max_pool(x: np.ndarray, win: Window, need_arg: bool):
    """Window maxima (N, C, Ho, Wo) and the winning tap of each (or None).

    Only plain arithmetic is used on the NumPy path (NumPy's masked ``where=`` operations
    are ten times slower on these strided views): taps come in increasing order, so the
    winner is max(arg, t·[v > out]).
    """
    g = win.geo
    if need_arg and win.unpadded and enabled(x):
        # One compiled pass on channels-last input (conv outputs are): out and arg together.
        res = _max_pool_compiled(x, g.kh, g.kw, g.sh, g.sw, *win.out_hw)
        if res is not None:
            return res
    xp = win.pad(x, -np.inf)
    taps = win.taps()
    out = win.tap(xp, 0, 0).copy(order="K")
    arg = hit = None
    if need_arg:
        # zeros_like keeps out's memory order (channels-last stays so).
        arg = np.zeros_like(out, dtype=np.uint8 if len(taps) < 256 else np.int32)
        hit = np.empty_like(arg)
    for t, r, s in taps[1:]:
        v = win.tap(xp, r, s)
        if need_arg:
            # bool viewed as 0/1 bytes: no casting loop (those are slow).
            np.multiply(np.greater(v, out).view(np.uint8), arg.dtype.type(t), out=hit)
            np.maximum(arg, hit, out=arg)
        np.maximum(out, v, out=out)  # propagates NaN
    if need_arg and np.isnan(out).any():
        # PyTorch's rule: a NaN wins over everything, the last NaN of the window is taken.
        arg[...] = 0
        ref = win.tap(xp, 0, 0).copy(order="K")
        for t, r, s in taps[1:]:
            v = win.tap(xp, r, s)
            take = (v > ref) | np.isnan(v)
            np.copyto(arg, t, where=take, casting="unsafe")
            np.copyto(ref, v, where=take)
    return out, arg


def _masked(g, mask, finite: bool, out=None):
    """g where mask else 0: a multiplication when g is finite (0·inf would be NaN).

    ``dtype=`` makes NumPy cast the mask inside the multiply loop, 2.5x faster than its
    default mixed-type loop; masked ``where=`` copies are slower still.
    """
    if finite:
        return np.multiply(g, mask, out=out, dtype=g.dtype)
    res = np.where(mask, g, 0).astype(g.dtype, copy=False)
    if out is None:
        return res
    out[...] = res
    return out


def max_pool_backward(g: np.ndarray, arg: np.ndarray, win: Window) -> np.ndarray:
    """g (N, C, Ho, Wo) sent to each window's winning tap -> dx (N, C, H, W).

    Windows that do not overlap (stride >= kernel) write without accumulating.
    """
    geo = win.geo
    if win.unpadded and enabled(g):
        dx = _max_pool_grad_compiled(g, arg, geo.kw, geo.sh, geo.sw, *win.in_hw)
        if dx is not None:
            return dx
    g = win.match(g)
    dxp = win.zeros_padded(g, written=win.tiles)
    finite = bool(np.isfinite(g).all())
    for t, r, s in win.taps():
        dst = win.tap(dxp, r, s)
        if win.overlap:
            dst += _masked(g, arg == t, finite)
        else:
            _masked(g, arg == t, finite, out=dst)
    return win.crop(dxp)


def max_pool_gather(x: np.ndarray, arg: np.ndarray, win: Window) -> np.ndarray:
    """The transpose of :func:`max_pool_backward`: x (N, C, H, W) at each window's winner."""
    xp = win.pad(x, 0.0)
    out = np.zeros_like(arg, dtype=x.dtype)
    finite = bool(np.isfinite(x).all())
    for t, r, s in win.taps():
        out += _masked(win.tap(xp, r, s), arg == t, finite)
    return out


# --- compiled kernels on channels-last input (no padding, no dilation) ---------------------

@kernel
def _k_max_pool(x, c, kh, kw, sh, sw, out, arg):
    """out/arg (N, Ho, Wo, C): window maxima of rows x (N, H, W·C) and the winning tap
    r·kw + s; ties to the first tap, a NaN wins (the last NaN), as in PyTorch."""
    n, ho, wo, _ = out.shape
    for q in prange(n * ho):
        i, oh = q // ho, q % ho
        for ow in range(wo):
            for ch in range(c):
                out[i, oh, ow, ch] = x[i, oh * sh, ow * sw * c + ch]
                arg[i, oh, ow, ch] = 0
            for a in range(kh):
                for b in range(kw):
                    base = (ow * sw + b) * c
                    for ch in range(c):
                        v = x[i, oh * sh + a, base + ch]
                        if v > out[i, oh, ow, ch] or v != v:
                            out[i, oh, ow, ch] = v
                            arg[i, oh, ow, ch] = a * kw + b


@kernel
def _k_max_pool_grad(g, arg, kw, sh, sw, dx):
    """dx (N, H, W, C) += g at each window's winning tap; dx zeroed (or fully written by
    tiling windows) by the caller. Images run in parallel, so overlapping windows are safe."""
    n, ho, wo, c = arg.shape
    for i in prange(n):
        for oh in range(ho):
            for ow in range(wo):
                for ch in range(c):
                    t = arg[i, oh, ow, ch]
                    dx[i, oh * sh + t // kw, ow * sw + t % kw, ch] += g[i, oh, ow, ch]


def _max_pool_compiled(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, ho: int, wo: int):
    """(out, arg) as channels-last (N, C, Ho, Wo) views, or None unless x is channels-last
    (crops allowed) and the window count fits (the caller checks no padding/dilation)."""
    x3 = nhwc_rows(x)
    if x3 is None or kh * kw > 255:
        return None
    n, c = x.shape[:2]
    out = np.empty((n, ho, wo, c), dtype=x.dtype)
    arg = np.empty((n, ho, wo, c), dtype=np.uint8)
    _k_max_pool(rows_base(x3), c, kh, kw, sh, sw, out, arg)
    return out.transpose(0, 3, 1, 2), arg.transpose(0, 3, 1, 2)


def _max_pool_grad_compiled(g: np.ndarray, arg: np.ndarray, kw: int, sh: int, sw: int, h: int,
                            w: int) -> np.ndarray | None:
    """dx as a channels-last (N, C, H, W) view from g and the winning taps (N, C, Ho, Wo),
    or None unless arg is a channels-last uint8 array."""
    if arg.dtype != np.uint8 or arg.ndim != 4 or not arg.transpose(0, 2, 3, 1).flags.c_contiguous:
        return None
    n, c = arg.shape[:2]
    dx = np.zeros((n, h, w, c), dtype=g.dtype)
    _k_max_pool_grad(g.transpose(0, 2, 3, 1), arg.transpose(0, 2, 3, 1), kw, sh, sw, dx)
    return dx.transpose(0, 3, 1, 2)
