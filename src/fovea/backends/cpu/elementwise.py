"""Fused elementwise kernels (Numba, see :mod:`.numba`): the forward and backward of ReLU,
leaky ReLU and hardtanh (ReLU6).

Interface (raw arrays in, raw arrays out; :mod:`fovea.backends.generic.elementwise` has the
same)::

    relu(x)          # max(x, 0) in x's memory layout; NaN stays NaN
    relu_grad(y, g)  # g where y > 0 else 0 (y: ReLU's output)
    leaky_relu(x, slope)          # x where x > 0 else slope·x; NaN stays NaN
    leaky_relu_grad(x, g, slope)  # g where x > 0 else slope·g (x: the input)
    hardtanh(x, lo, hi)           # clip(x, lo, hi); NaN stays NaN
    hardtanh_grad(x, g, lo, hi)   # g where lo < x < hi else 0 (x: the input)

Each takes a compiled pass when one applies (Numba on, a large float array in a layout the
kernels take) and NumPy otherwise; the tests compare both paths.

Each kernel is one parallel pass over memory that NumPy would make in several. They take
flat 1-D views of dense arrays (any axis order, see :func:`.layout.flat`), or for the
gradient of a channels-last crop (a convolution's output) its (N, H, W·C) rows.
"""

from __future__ import annotations

import numpy as np

from fovea.backends.cpu.layout import axis_order, empty, flat, nhwc_rows, rows_base
from fovea.backends.cpu.numba import enabled, kernel

__all__ = ["relu", "relu_grad", "leaky_relu", "leaky_relu_grad", "hardtanh", "hardtanh_grad"]

prange = range  # replaced by numba.prange when a kernel is compiled


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


@kernel
def _leaky(x, s, out):
    for i in prange(x.size):
        v = x[i]
        out[i] = v if v > 0 else v * s  # NaN * s stays NaN


@kernel
def _leaky_rows(x, s, b, l, out):
    for r in prange(out.shape[0] * b):
        i, j = r // b, r % b
        for k in range(l):
            v = x[i, j, k]
            out[i, j, k] = v if v > 0 else v * s


@kernel
def _hardtanh(x, lo, hi, out):
    for i in prange(x.size):
        v = x[i]
        out[i] = lo if v < lo else (hi if v > hi else v)  # NaN stays NaN, as np.clip


@kernel
def _hardtanh_rows(x, lo, hi, b, l, out):
    for r in prange(out.shape[0] * b):
        i, j = r // b, r % b
        for k in range(l):
            v = x[i, j, k]
            out[i, j, k] = lo if v < lo else (hi if v > hi else v)


@kernel
def _hardtanh_grad(x, g, lo, hi, out):
    for i in prange(x.size):
        v = x[i]
        out[i] = g[i] if v > lo and v < hi else 0


@kernel
def _hardtanh_grad_rows(x, g, lo, hi, b, l, out):
    for r in prange(out.shape[0] * b):
        i, j = r // b, r % b
        for k in range(l):
            v = x[i, j, k]
            out[i, j, k] = g[i, j, k] if v > lo and v < hi else 0


@kernel
def _leaky_grad(x, g, s, out):
    for i in prange(x.size):
        out[i] = g[i] if x[i] > 0 else g[i] * s


@kernel
def _leaky_grad_rows(x, g, s, b, l, out):
    for r in prange(out.shape[0] * b):
        i, j = r // b, r % b
        for k in range(l):
            out[i, j, k] = g[i, j, k] if x[i, j, k] > 0 else g[i, j, k] * s


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0) in x's memory layout."""
    out = _dense_pass(x, _relu) if enabled(x) else None
    return np.maximum(x, 0) if out is None else out


def relu_grad(y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """g where y > 0 else 0 (y: ReLU's output; subgradient 0 at 0, as in PyTorch)."""
    out = _pair_pass(y, g, _relu_grad, _relu_grad_rows) if enabled(g) else None
    return _masked(g, y > 0) if out is None else out


def leaky_relu(x: np.ndarray, slope: float) -> np.ndarray:
    """x where x > 0 else slope·x, in x's memory layout."""
    s = x.dtype.type(slope)
    out = _unary_pass(x, _leaky, _leaky_rows, s) if enabled(x) else None
    return np.where(x > 0, x, x * s) if out is None else out


def leaky_relu_grad(x: np.ndarray, g: np.ndarray, slope: float) -> np.ndarray:
    """g where x > 0 else slope·g (x: leaky ReLU's input; slope at 0, as in PyTorch)."""
    s = g.dtype.type(slope)
    out = _pair_pass(x, g, _leaky_grad, _leaky_grad_rows, s) if enabled(g) else None
    return np.where(x > 0, g, g * s) if out is None else out


def hardtanh(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """x clipped to [lo, hi] in x's memory layout (NaN stays NaN)."""
    a, b = x.dtype.type(lo), x.dtype.type(hi)
    out = _unary_pass(x, _hardtanh, _hardtanh_rows, a, b) if enabled(x) else None
    return np.clip(x, a, b) if out is None else out


def hardtanh_grad(x: np.ndarray, g: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """g where lo < x < hi else 0 (x: hardtanh's input; 0 at the ends, as PyTorch)."""
    a, b = x.dtype.type(lo), x.dtype.type(hi)
    out = (_pair_pass(x, g, _hardtanh_grad, _hardtanh_grad_rows, a, b)
           if enabled(g) else None)
    return np.where((x > a) & (x < b), g, g.dtype.type(0)) if out is None else out


def _unary_pass(x: np.ndarray, flat_fn, rows_fn, *extra) -> np.ndarray | None:
    """``flat_fn(x, *extra, out)`` over a dense x, or ``rows_fn`` over the (W, C) rows of a
    channels-last crop (the result then channels-last and dense), or None."""
    out = _dense_pass(x, flat_fn, *extra)
    if out is None and (x3 := nhwc_rows(x)) is not None:
        out = np.empty(x3.shape, dtype=x.dtype)
        rows_fn(rows_base(x3), *extra, x3.shape[1], x3.shape[2], out)
        n, c, h, w = x.shape
        out = np.moveaxis(out.reshape(n, h, w, c), -1, 1)
    return out


def _dense_pass(x: np.ndarray, fn, *extra) -> np.ndarray | None:
    """One parallel pass of ``fn(x, *extra, out)``, or None when x is not dense in some
    axis order."""
    src = flat(x)
    if src is None:
        return None
    out = np.empty_like(x)  # keeps a dense array's axis order
    dst = flat(out)
    if dst is None:
        return None
    fn(src, *extra, dst)
    return out


def _pair_pass(y: np.ndarray, g: np.ndarray, fn, rows_fn, *extra) -> np.ndarray | None:
    """One parallel pass of ``fn(y, g, *extra, out)``, or None: y and g must be dense in one
    layout or both channels-last (crops allowed); the result is channels-last in the second
    case."""
    if y.dtype != g.dtype or y.shape != g.shape:
        return None
    ys, gs = flat(y), flat(g)
    if y.strides == g.strides and ys is not None and gs is not None:
        out = np.empty_like(g)
        fn(ys, gs, *extra, flat(out))
        return out
    # Channels-last crops (a convolution's output or input gradient): rows of (W, C).
    y3, g3 = nhwc_rows(y), nhwc_rows(g)
    if y3 is None or g3 is None:
        return None
    out = np.empty(y3.shape, dtype=y.dtype)
    rows_fn(rows_base(y3), rows_base(g3), *extra, y3.shape[1], y3.shape[2], out)
    n, c, h, w = y.shape
    return np.moveaxis(out.reshape(n, h, w, c), -1, 1)


def _masked(g: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``g * mask`` as a new array in a layout that avoids NumPy's slow mixed-layout loops.

    NumPy's elementwise loops are 4-5× slower when the operands' memory layouts differ (a
    channels-last mask against an NCHW gradient). The result takes ``g``'s layout, the mask
    being copied into it first (a copy of bytes, cheaper than the mixed loop); a broadcast
    ``g`` (a mean's gradient, with zero strides) takes the mask's layout instead, which is
    the layout of the activation.
    """
    if g.ndim > 1 and g.size >= 1 << 15:
        if 0 in g.strides:
            out = empty(g.shape, mask, g.dtype)
            np.multiply(g, mask, out=out)
            return out
        if axis_order(g) != axis_order(mask):
            m = np.empty_like(g, dtype=bool)
            m[...] = mask
            mask = m
    out = np.empty_like(g)
    np.multiply(g, mask, out=out)
    return out
