"""Fused elementwise and per-channel kernels (compiled by Numba, see :mod:`fovea._jit`).

Each kernel is one parallel pass over memory that NumPy would make in several. Callers use
them only when :func:`fovea._jit.available` is true and fall back to their NumPy code
otherwise; the tests compare both paths.

Shapes and layouts:

* ReLU kernels take flat 1-D views of dense arrays (any axis order, see :func:`flat`).
* Per-channel kernels take "rows" (A, B, L): the last axis holds k tiles of the C channels
  (L = k·C, contiguous), the first two axes anything (an (M/k, k·C) matrix seen as
  (1, M/k, k·C), or a crop (N, H, W·C) of a padded convolution output). Per-column
  parameters are (L,) vectors: float64 for the reductions, whose sums are accumulated in
  float64, per thread, into a (T, L) array that the caller adds up (so results do not
  depend on scheduling); the elementwise maps take them in the data's dtype (batch norm
  passes float32 for float32 data: half the vector work, PyTorch's precision).
"""

from __future__ import annotations

import numpy as np

from fovea import _jit
from fovea._jit import kernel

prange = range  # replaced by numba.prange when a kernel is compiled


# Arrays smaller than this stay with NumPy: a kernel launch costs ~10-20 µs.
MIN_SIZE = 1 << 14


def enabled(a: np.ndarray) -> bool:
    """Whether the compiled kernels should handle ``a`` (floating, large, JIT available)."""
    return (isinstance(a, np.ndarray) and a.size >= MIN_SIZE
            and a.dtype in (np.float32, np.float64) and _jit.available())


def flat(a: np.ndarray) -> np.ndarray | None:
    """A 1-D view of ``a``'s memory when it is dense in some axis order, else None."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    order = sorted(range(a.ndim), key=lambda i: -abs(a.strides[i]))
    t = a.transpose(order)
    return t.reshape(-1) if t.flags.c_contiguous else None


def as_rows(a: np.ndarray) -> np.ndarray:
    """A 2-D or 3-D rows view (last axis contiguous) as 3-D (A, B, L)."""
    return a[None] if a.ndim == 2 else a


# --- ReLU ----------------------------------------------------------------------------------

@kernel
def _relu(x, out):
    for i in prange(x.size):
        v = x[i]
        out[i] = 0 if v < 0 else v  # NaN stays NaN, as np.maximum(x, 0)


@kernel
def _relu_grad(y, g, out):
    for i in prange(y.size):
        out[i] = g[i] if y[i] > 0 else 0


@kernel
def _relu_grad_rows(y, g, b, l, out):
    for r in prange(out.shape[0] * b):
        i, j = r // b, r % b
        for k in range(l):
            out[i, j, k] = g[i, j, k] if y[i, j, k] > 0 else 0


def nhwc_rows(a: np.ndarray) -> np.ndarray | None:
    """(N, C, H, W) whose (W, C) image rows are contiguous runs (channels-last, possibly a
    crop of a padded buffer) as an (N, H, W·C) view, else None."""
    if a.ndim != 4:
        return None
    n, c, h, w = a.shape
    item = a.itemsize
    if a.strides[1] != item or (w > 1 and a.strides[3] != c * item):
        return None
    return np.moveaxis(a, 1, -1).reshape(n, h, w * c)


def relu(x: np.ndarray) -> np.ndarray | None:
    """max(x, 0) in x's memory layout, or None when x is not dense."""
    src = flat(x)
    if src is None:
        return None
    out = np.empty_like(x)  # keeps a dense array's axis order
    dst = flat(out)
    if dst is None:
        return None
    _relu(src, dst)
    return out


def relu_grad(y: np.ndarray, g: np.ndarray) -> np.ndarray | None:
    """g where y > 0 else 0, or None unless y and g are dense in one layout or both
    channels-last (crops allowed); the result is channels-last in the second case."""
    if y.dtype != g.dtype or y.shape != g.shape:
        return None
    ys, gs = flat(y), flat(g)
    if y.strides == g.strides and ys is not None and gs is not None:
        out = np.empty_like(g)
        _relu_grad(ys, gs, flat(out))
        return out
    # Channels-last crops (a convolution's output or input gradient): rows of (W, C).
    y3, g3 = nhwc_rows(y), nhwc_rows(g)
    if y3 is None or g3 is None:
        return None
    out = np.empty(y3.shape, dtype=y.dtype)
    _relu_grad_rows(_base(y3), _base(g3), y3.shape[1], y3.shape[2], out)
    n, c, h, w = y.shape
    return np.moveaxis(out.reshape(n, h, w, c), -1, 1)


# --- per-channel reductions and affine maps on rows (A, B, L) -------------------------------

@kernel
def _col_sums(x, b, l, shift, part):
    """part[t] = Σ over thread t's rows of (x - shift); part (T, L) zeros."""
    rows = x.shape[0] * b
    nt = part.shape[0]
    for t in prange(nt):
        for r in range(t * rows // nt, (t + 1) * rows // nt):
            i, j = r // b, r % b
            for k in range(l):
                part[t, k] += x[i, j, k] - shift[k]


@kernel
def _col_sq_devs(x, b, l, mean, part):
    """part[t] = Σ over thread t's rows of (x - mean)²."""
    rows = x.shape[0] * b
    nt = part.shape[0]
    for t in prange(nt):
        for r in range(t * rows // nt, (t + 1) * rows // nt):
            i, j = r // b, r % b
            for k in range(l):
                d = x[i, j, k] - mean[k]
                part[t, k] += d * d


@kernel
def _col_grad_sums(g, x, b, l, mean, part_g, part_gx):
    """part_g[t] = Σ g and part_gx[t] = Σ g·(x - mean) over thread t's rows."""
    rows = x.shape[0] * b
    nt = part_g.shape[0]
    for t in prange(nt):
        for r in range(t * rows // nt, (t + 1) * rows // nt):
            i, j = r // b, r % b
            for k in range(l):
                gv = g[i, j, k]
                part_g[t, k] += gv
                part_gx[t, k] += gv * (x[i, j, k] - mean[k])


@kernel
def _col_affine(x, b, l, mean, scale, shift, out):
    """out = (x - mean)·scale + shift, per column."""
    for r in prange(x.shape[0] * b):
        i, j = r // b, r % b
        for k in range(l):
            out[i, j, k] = (x[i, j, k] - mean[k]) * scale[k] + shift[k]


@kernel
def _col_bn_grad(g, x, b, l, mean, c_g, c_0, c_x, out):
    """out = c_g·g + c_0 + c_x·(x - mean), per column (batch norm's input gradient)."""
    for r in prange(x.shape[0] * b):
        i, j = r // b, r % b
        for k in range(l):
            out[i, j, k] = c_g[k] * g[i, j, k] + c_0[k] + c_x[k] * (x[i, j, k] - mean[k])


def _base(a3: np.ndarray) -> np.ndarray:
    """C-contiguous (A, R, P) array over the memory of rows view ``a3`` (A, B, L), of which
    ``a3`` is the corner [:, :B, :L]: a crop of a padded convolution output is read through
    its whole buffer so that the kernels see unit strides (and vectorise).

    Returns ``a3`` itself when it is C-contiguous or no such buffer can be proven to exist.
    """
    if a3.flags.c_contiguous:
        return a3
    item = a3.itemsize
    s0, s1, s2 = a3.strides
    if s2 != item or s1 % item or s0 % s1 or s1 < a3.shape[2] * item \
            or s0 < a3.shape[1] * s1:
        return a3
    shape = (a3.shape[0], s0 // s1, s1 // item)
    owner = a3
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    start = a3.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    if not owner.flags.c_contiguous or start < 0 \
            or start + shape[0] * s0 > owner.nbytes:
        return a3
    return np.lib.stride_tricks.as_strided(a3, shape, (s0, s1, item), writeable=False)


def _partials(width: int, n: int = 1) -> list[np.ndarray]:
    from fovea.nn.functional._parallel import num_threads

    t = max(1, num_threads()) * 4
    return [np.zeros((t, width)) for _ in range(n)]


def col_sums(x3: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
    """Σ over rows of (x - shift), float64 (L,)."""
    (part,) = _partials(x3.shape[-1])
    shift = np.zeros(x3.shape[-1]) if shift is None else shift
    _col_sums(_base(x3), x3.shape[1], x3.shape[2], shift, part)
    return part.sum(0)


def col_sq_devs(x3: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Σ over rows of (x - mean)², float64 (L,)."""
    (part,) = _partials(x3.shape[-1])
    _col_sq_devs(_base(x3), x3.shape[1], x3.shape[2], mean, part)
    return part.sum(0)


def col_grad_sums(g3: np.ndarray, x3: np.ndarray, mean: np.ndarray):
    """(Σ g, Σ g·(x - mean)) over rows, float64 (L,) each; g3 and x3 of one shape."""
    pg, pgx = _partials(x3.shape[-1], 2)
    _col_grad_sums(_base(g3), _base(x3), x3.shape[1], x3.shape[2], mean, pg, pgx)
    return pg.sum(0), pgx.sum(0)


def col_affine(x3: np.ndarray, mean, scale, shift) -> np.ndarray:
    """(x - mean)·scale + shift as a new C-contiguous array of x3's shape and dtype."""
    out = np.empty(x3.shape, dtype=x3.dtype)
    _col_affine(_base(x3), x3.shape[1], x3.shape[2], mean, scale, shift, out)
    return out


def col_bn_grad(g3, x3, mean, c_g, c_0, c_x) -> np.ndarray:
    """c_g·g + c_0 + c_x·(x - mean) as a new C-contiguous array of x3's shape."""
    out = np.empty(x3.shape, dtype=x3.dtype)
    _col_bn_grad(_base(g3), _base(x3), x3.shape[1], x3.shape[2], mean, c_g, c_0, c_x, out)
    return out


# --- max pooling on channels-last input (no padding, no dilation) ---------------------------

@kernel
def _max_pool(x, c, kh, kw, sh, sw, out, arg):
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
def _max_pool_grad(g, arg, kw, sh, sw, dx):
    """dx (N, H, W, C) += g at each window's winning tap; dx zeroed (or fully written by
    tiling windows) by the caller. Images run in parallel, so overlapping windows are safe."""
    n, ho, wo, c = arg.shape
    for i in prange(n):
        for oh in range(ho):
            for ow in range(wo):
                for ch in range(c):
                    t = arg[i, oh, ow, ch]
                    dx[i, oh * sh + t // kw, ow * sw + t % kw, ch] += g[i, oh, ow, ch]


def max_pool(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, ho: int, wo: int):
    """(out, arg) as channels-last (N, C, Ho, Wo) views, or None unless x is channels-last
    (crops allowed) and the window count fits (the caller checks no padding/dilation)."""
    x3 = nhwc_rows(x)
    if x3 is None or kh * kw > 255:
        return None
    n, c = x.shape[:2]
    out = np.empty((n, ho, wo, c), dtype=x.dtype)
    arg = np.empty((n, ho, wo, c), dtype=np.uint8)
    _max_pool(_base(x3), c, kh, kw, sh, sw, out, arg)
    return out.transpose(0, 3, 1, 2), arg.transpose(0, 3, 1, 2)


def max_pool_grad(g: np.ndarray, arg: np.ndarray, kw: int, sh: int, sw: int, h: int,
                  w: int) -> np.ndarray | None:
    """dx as a channels-last (N, C, H, W) view from g and the winning taps (N, C, Ho, Wo),
    or None unless arg is a channels-last uint8 array."""
    if arg.dtype != np.uint8 or arg.ndim != 4 or not arg.transpose(0, 2, 3, 1).flags.c_contiguous:
        return None
    n, c = arg.shape[:2]
    dx = np.zeros((n, h, w, c), dtype=g.dtype)
    _max_pool_grad(g.transpose(0, 2, 3, 1), arg.transpose(0, 2, 3, 1), kw, sh, sw, dx)
    return dx.transpose(0, 3, 1, 2)
