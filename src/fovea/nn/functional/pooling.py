"""Pooling and un-pooling (PyTorch's ``max_pool2d``, ``avg_pool2d``, adaptive pools, unpool).

Windowed pooling loops over the kH·kW taps of the window, never over pixels: each tap is
one strided view of the padded input covering every output position at once, so a 2×2
pool is four whole-array operations. Max pooling remembers which tap won (the first one on
ties, like PyTorch) and its backward sends each gradient there; windows that do not overlap
(stride >= kernel) write without accumulating.

Output size (per spatial dimension)::

    out = floor((H + 2P - D(K - 1) - 1) / S) + 1       (ceil with ceil_mode; the last
                                                        window must start inside the input
                                                        or the left padding)
"""

from __future__ import annotations

import numbers

import numpy as np

from fovea import _fused
from fovea.autograd import Function, is_grad_enabled
from fovea.backends import CPU_NS as _arrayns
from fovea.nn.functional._linear_map import AxisMaps, LinearMapFn, Put, ScatterAdd
from fovea.nn.utils.conv import Geometry, pair
from fovea.ops._util import as_tensor
from fovea.tensor import Tensor

# --- window geometry ---------------------------------------------------------------------

class _Window:
    """Sizes of one pooling configuration: input (H, W), output (Ho, Wo), padded plane."""

    def __init__(self, geo: Geometry, in_hw, out_hw, channels_last: bool = False):
        self.geo, self.in_hw, self.out_hw = geo, tuple(in_hw), tuple(out_hw)
        self.channels_last = channels_last
        g = geo
        # ceil_mode windows may reach past the padding: pad further on the far side.
        self.hp = max(in_hw[0] + g.pt + g.pb, (out_hw[0] - 1) * g.sh + g.dh * (g.kh - 1) + 1)
        self.wp = max(in_hw[1] + g.pl + g.pr, (out_hw[1] - 1) * g.sw + g.dw * (g.kw - 1) + 1)
        self.overlap = g.sh < g.dh * (g.kh - 1) + 1 or g.sw < g.dw * (g.kw - 1) + 1
        # Windows that tile the (unpadded) input exactly write every input position once.
        self.tiles = (not self.overlap and g.dh == g.dw == 1 and not g.padded
                      and (self.hp, self.wp) == (out_hw[0] * g.kh, out_hw[1] * g.kw)
                      and (self.hp, self.wp) == tuple(in_hw))

    @property
    def unpadded(self) -> bool:
        """No padding, no dilation, and every window inside the input (the compiled path)."""
        g = self.geo
        return (not g.padded and g.dh == g.dw == 1
                and (self.hp, self.wp) == tuple(self.in_hw))

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
        if self.channels_last and not _channels_last(g) and g.ndim == 4:
            return np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        return g

    def crop(self, xp):
        h, w = self.in_hw
        return xp[:, :, self.geo.pt:self.geo.pt + h, self.geo.pl:self.geo.pl + w]

    def taps(self):
        """(tap number, r, s) for every kernel tap, row-major (the tie-breaking order)."""
        return [(r * self.geo.kw + s, r, s) for r in range(self.geo.kh)
                for s in range(self.geo.kw)]

    def tap(self, xp, r: int, s: int):
        """View (N, C, Ho, Wo) of padded ``xp``: the input under tap (r, s) of every window."""
        g = self.geo
        ho, wo = self.out_hw
        return xp[:, :, r * g.dh:r * g.dh + g.sh * (ho - 1) + 1:g.sh,
                  s * g.dw:s * g.dw + g.sw * (wo - 1) + 1:g.sw]


def _channels_last(x) -> bool:
    return x.ndim == 4 and not x.flags.c_contiguous and x.transpose(0, 2, 3, 1).flags.c_contiguous


def _empty_like_layout(x, shape):
    """An empty (N, C, H, W) array in ``x``'s memory order (channels-last stays so)."""
    if _channels_last(x):
        n, c, h, w = shape
        return np.empty((n, h, w, c), dtype=x.dtype).transpose(0, 3, 1, 2)
    return np.empty(shape, dtype=x.dtype)


# --- max pooling -------------------------------------------------------------------------

def _max_pool_raw(x, win: _Window, need_arg: bool):
    """Window maxima (N, C, Ho, Wo) and the winning tap of each (or None).

    Ties go to the first tap in row-major order, as in PyTorch. Only plain arithmetic is
    used (NumPy's masked ``where=`` operations are ten times slower on these strided views):
    taps come in increasing order, so the winner is max(arg, t·[v > out]).
    """
    g = win.geo
    if need_arg and win.unpadded and _fused.enabled(x):
        # One compiled pass on channels-last input (conv outputs are): out and arg together.
        res = _fused.max_pool(x, g.kh, g.kw, g.sh, g.sw, *win.out_hw)
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


class _ArgScatter:
    """Max pooling's backward: g (N, C, Ho, Wo) -> its values at the winning taps (N, C, H, W)."""

    def __init__(self, arg, win: _Window):
        self.arg, self.win = arg, win

    def apply(self, g):
        win = self.win
        geo = win.geo
        if win.unpadded and _fused.enabled(g):
            dx = _fused.max_pool_grad(g, self.arg, geo.kw, geo.sh, geo.sw, *win.in_hw)
            if dx is not None:
                return dx
        g = win.match(g)
        dxp = win.zeros_padded(g, written=win.tiles)
        finite = bool(np.isfinite(g).all())
        for t, r, s in win.taps():
            dst = win.tap(dxp, r, s)
            if win.overlap:
                dst += _masked(g, self.arg == t, finite)
            else:
                _masked(g, self.arg == t, finite, out=dst)
        return win.crop(dxp)

    @property
    def T(self):  # noqa: N802
        return _ArgGather(self.arg, self.win)


class _ArgGather:
    """The transpose of :class:`_ArgScatter`: (N, C, H, W) -> its values at the winning taps."""

    def __init__(self, arg, win: _Window):
        self.arg, self.win = arg, win

    def apply(self, x):
        xp = self.win.pad(x, 0.0)
        out = np.zeros_like(self.arg, dtype=x.dtype)
        finite = bool(np.isfinite(x).all())
        for t, r, s in self.win.taps():
            out += _masked(self.win.tap(xp, r, s), self.arg == t, finite)
        return out

    @property
    def T(self):  # noqa: N802
        return _ArgScatter(self.arg, self.win)


class MaxPool2dFn(Function):
    """y = max over each window. Backward: the gradient goes to the (first) maximum."""

    @staticmethod
    def forward(ctx, x, *, win, need_arg, sink=None):
        y, arg = _max_pool_raw(x, win, need_arg)
        ctx.scatter = _ArgScatter(arg, win) if need_arg else None
        if sink is not None:  # return_indices: hand the winners to the caller
            sink.append(arg)
        return y

    @staticmethod
    def backward(ctx, g):
        if ctx.xp is _arrayns:
            return ctx.scatter.apply(g)
        return LinearMapFn.apply(g, op=ctx.scatter)


def _flat_indices(arg, win: _Window):
    """Winning taps -> PyTorch's indices: flat positions h·W + w in the unpadded input."""
    g = win.geo
    ho, wo = win.out_hw
    r, s = np.divmod(arg.astype(np.int64), g.kw)
    hh = (np.arange(ho) * g.sh - g.pt)[:, None] + r * g.dh
    ww = (np.arange(wo) * g.sw - g.pl)[None, :] + s * g.dw
    return hh * win.in_hw[1] + ww


# --- average pooling ---------------------------------------------------------------------

class _AvgPool:
    """Window means (sum / divisor); ``divisor`` is a number or an (Ho, Wo) array."""

    def __init__(self, win: _Window, divisor):
        self.win, self.divisor = win, divisor

    def apply(self, x):
        win = self.win
        xp = win.pad(x, 0.0)
        taps = win.taps()
        out = win.tap(xp, 0, 0).copy(order="K")
        for _, r, s in taps[1:]:
            out += win.tap(xp, r, s)
        out /= _as_dtype(self.divisor, x.dtype)
        return out

    @property
    def T(self):  # noqa: N802
        return _AvgPoolT(self.win, self.divisor)


class _AvgPoolT:
    """The transpose of :class:`_AvgPool`: spread g / divisor over each window."""

    def __init__(self, win: _Window, divisor):
        self.win, self.divisor = win, divisor

    def apply(self, g):
        win = self.win
        gd = win.match(g) / _as_dtype(self.divisor, g.dtype)
        dxp = win.zeros_padded(gd, written=win.tiles)
        for _, r, s in win.taps():
            dst = win.tap(dxp, r, s)
            if win.overlap:
                dst += gd
            else:
                dst[...] = gd
        return win.crop(dxp)

    @property
    def T(self):  # noqa: N802
        return _AvgPool(self.win, self.divisor)


def _as_dtype(d, dtype):
    return d.astype(dtype, copy=False) if isinstance(d, np.ndarray) else d


def _avg_divisor(win: _Window, count_include_pad: bool, divisor_override):
    """PyTorch's divisor per output position: window area clipped to the padded input
    (count_include_pad) or to the input itself; a scalar when it is the same everywhere."""
    if divisor_override is not None:
        return float(divisor_override)
    g = win.geo
    h, w = win.in_hw
    ho, wo = win.out_hw
    hs = np.arange(ho) * g.sh - g.pt
    ws = np.arange(wo) * g.sw - g.pl
    he, we = np.minimum(hs + g.kh, h + g.pb), np.minimum(ws + g.kw, w + g.pr)
    if count_include_pad:
        area = np.outer(he - hs, we - ws)
    else:
        area = np.outer(np.minimum(he, h) - np.maximum(hs, 0),
                        np.minimum(we, w) - np.maximum(ws, 0))
    if (area == area.flat[0]).all():
        return float(area.flat[0])
    return area.astype(np.float64)


# --- public functions --------------------------------------------------------------------

def _input4(input, op: str):
    x = as_tensor(input, op=op)
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or a 3-D unbatched input "
                         f"(C, H, W), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating tensor, got dtype {x.dtype}")
    unbatched = x.ndim == 3
    return (x.unsqueeze(0) if unbatched else x), unbatched


def _window(x: Tensor, kernel_size, stride, padding, dilation, ceil_mode, op: str) -> _Window:
    k = pair(kernel_size, "kernel_size", op, low=1)
    s = k if stride is None or (isinstance(stride, tuple | list) and not stride) \
        else pair(stride, "stride", op, low=1)
    p = pair(padding, "padding", op)
    d = pair(dilation, "dilation", op, low=1)
    for pi, ki in zip(p, k):
        if pi * 2 > ki:
            raise ValueError(f"{op}: padding should be at most half of the kernel size, got "
                             f"padding={p} for kernel_size={k}")
    geo = Geometry(k[0], k[1], s[0], s[1], d[0], d[1], p[0], p[0], p[1], p[1])
    h, w = x.shape[2:]
    return _Window(geo, (h, w), geo.out_size(h, w, op, ceil_mode=bool(ceil_mode)),
                   _channels_last(x._data))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Args:
        input: (N, C, H, W) (or unbatched (C, H, W)).
        kernel_size: int or (kH, kW).
        stride: int or pair; defaults to ``kernel_size`` (non-overlapping windows).
        padding: implicit -inf padding on each side, at most half the kernel.
        dilation: spacing between window taps.
        ceil_mode: round the output size up (see the module docstring).
        return_indices: also return the argmax of each window as flat indices h·W + w into
            the input's (H, W) plane, int64 (N, C, Ho, Wo), as ``max_unpool2d`` expects.

    Returns:
        (N, C, Ho, Wo), and the indices when ``return_indices``.
    """
    op = "max_pool2d"
    x, unbatched = _input4(input, op)
    win = _window(x, kernel_size, stride, padding, dilation, ceil_mode, op)
    need_arg = return_indices or (x.requires_grad and is_grad_enabled())
    sink = [] if return_indices else None
    out = MaxPool2dFn.apply(x, win=win, need_arg=need_arg, sink=sink)
    if unbatched:
        out = out[0]
    if not return_indices:
        return out
    idx = Tensor._make(_flat_indices(sink[0], win), None)
    return out, (idx[0] if unbatched else idx)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Args:
        input: (N, C, H, W) (or unbatched (C, H, W)).
        kernel_size, stride, padding, ceil_mode: as in :func:`max_pool2d` (zero padding).
        count_include_pad: divide by the window area including zero padding (default) or
            by the number of input pixels under the window.
        divisor_override: divide every window sum by this instead.

    Returns:
        (N, C, Ho, Wo).
    """
    op = "avg_pool2d"
    x, unbatched = _input4(input, op)
    if divisor_override is not None and (not isinstance(divisor_override, numbers.Integral)
                                         or divisor_override == 0):
        raise ValueError(f"{op}: divisor_override must be a non-zero integer, got "
                         f"{divisor_override!r}")
    win = _window(x, kernel_size, stride, padding, 1, ceil_mode, op)
    divisor = _avg_divisor(win, bool(count_include_pad), divisor_override)
    out = LinearMapFn.apply(x, op=_AvgPool(win, divisor))
    return out[0] if unbatched else out


def _output_hw(output_size, in_hw, op: str) -> tuple[int, int]:
    if isinstance(output_size, numbers.Integral) or output_size is None:
        output_size = (output_size, output_size)
    if not isinstance(output_size, tuple | list) or len(output_size) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    out = []
    for o, i in zip(output_size, in_hw):
        o = i if o is None else o
        if not isinstance(o, numbers.Integral) or isinstance(o, bool) or o < 1:
            raise ValueError(f"{op}: output_size must contain positive integers (or None), "
                             f"got {output_size!r}")
        out.append(int(o))
    return out[0], out[1]


def _adaptive_bins(size: int, out: int):
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
    x, unbatched = _input4(input, op)
    h, w = x.shape[2:]
    oh, ow = _output_hw(output_size, (h, w), op)
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
        flat = flat.reshape(out_hw[0], out_hw[1], -1)
        vals = x.reshape(n, c, h * w)[:, :, flat]  # (N, C, oh, ow, Lh·Lw)
        k = np.argmax(vals, axis=-1)[..., None]
        y = np.take_along_axis(vals, k, axis=-1)[..., 0]
        ctx.idx = np.take_along_axis(np.broadcast_to(flat, vals.shape), k, axis=-1)[..., 0]
        ctx.in_hw = (h, w)
        if sink is not None:
            sink.append(ctx.idx)
        return y

    @staticmethod
    def backward(ctx, g):
        op = ScatterAdd(ctx.idx, ctx.in_hw)
        if ctx.xp is _arrayns:
            return op.apply(g)
        return LinearMapFn.apply(g, op=op)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive bins (see :func:`adaptive_avg_pool2d`).

    Returns (N, C, oH, oW), and with ``return_indices`` the flat h·W + w index of each
    maximum (the first one on ties).
    """
    op = "adaptive_max_pool2d"
    x, unbatched = _input4(input, op)
    h, w = x.shape[2:]
    out_hw = _output_hw(output_size, (h, w), op)
    if h == 0 or w == 0:
        raise ValueError(f"{op}: input has an empty spatial plane {tuple(x.shape)}")
    sink = [] if return_indices else None
    out = AdaptiveMaxPool2dFn.apply(x, out_hw=out_hw, sink=sink)
    out = out[0] if unbatched else out
    if not return_indices:
        return out
    idx = Tensor._make(sink[0].astype(np.int64), None)
    return out, (idx[0] if unbatched else idx)


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
    x, unbatched = _input4(input, op)
    idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
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


