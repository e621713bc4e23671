"""Which raw kernel computes a convolution: the one place that chooses (by measurement).

* depthwise (groups = C, one channel per group): the shifted-slice scheme of :mod:`._taps`
  with per-channel multiply-accumulates instead of matrix products (a matrix product
  would be C products of length kh·kw);
* ungrouped float convolutions whose product the generated kernels take
  (:func:`._jit_taps.supports`: llvmlite available, output channels a multiple of the
  vector width): shifted products (:mod:`._taps`) computed by those kernels, for any
  channel count and kernel size, 1×1 included;
* otherwise (``FOVEA_JIT=0``, no llvmlite, odd channel counts) with BLAS: shifted matrix
  products when both channel counts are >= 8 and the kernel is not an unpadded 1×1;
  else (grouped convolutions, 1×1 kernels, few channels such as an RGB first layer, dtypes
  without a BLAS with accumulation) im2col and one matrix product (:mod:`._im2col`).

``forward`` returns the output and the state the weight gradient needs, so backward can
reuse the forward's buffers instead of rebuilding them.
"""

from __future__ import annotations

import numpy as np

from fovea.nn.functional import _im2col as I2C
from fovea.nn.functional import _jit_taps as J
from fovea.nn.functional import _taps as T
from fovea.nn.functional._parallel import contiguous
from fovea.nn.utils.conv import Geometry

MIN_TAP_CHANNELS = 8


def _use_taps(c_in: int, c_out: int, g: Geometry, dtype, depthwise: bool = False) -> bool:
    """Whether the shifted-product scheme computes a (c_in -> c_out) product of this conv.

    With BLAS it pays off when each product's small dimension is >= 8 channels; the
    compiled kernels (:mod:`._jit_taps`) also take fewer input channels (an RGB layer).
    """
    if depthwise:
        return np.dtype(dtype) in (np.float32, np.float64)
    if g.groups != 1 or np.dtype(dtype) not in (np.float32, np.float64):
        return False
    if J.supports(dtype, c_in, c_out):
        return True
    if g.kh == g.kw == 1 and not g.padded:  # one BLAS product on the input itself
        return False
    return min(c_in, c_out) >= MIN_TAP_CHANNELS


def forward(x: np.ndarray, weight: np.ndarray, bias, g: Geometry, ho: int, wo: int,
            keep: bool = True):
    """y (N, Ho, Wo, O) for NHWC x, and the state for :func:`grad_weight` (or None)."""
    depthwise = I2C._is_depthwise(weight, g.groups)
    if _use_taps(x.shape[-1], weight.shape[0], g, x.dtype, depthwise):
        plan = T.Plan(g, x.shape[0], x.shape[1], x.shape[2], ho, wo)
        bufs = plan.buffers(x)
        return T.forward(bufs, weight, bias, plan), (("taps", bufs, plan) if keep else None)
    b = I2C.wide_block(g, wo)
    if b > 1 and not (g.kh == g.kw == 1 and not g.padded):
        cols = I2C.wide_cols(x, g, ho, wo, b)
        y = I2C.wide_forward(cols, weight, bias, g, x.shape[0], ho, wo, b)
        return y, (("wide", cols, b) if keep else None)
    cols = I2C.conv_cols(x, g, ho, wo)
    y = I2C.conv_forward_cols(cols, weight, bias, g, x.shape[0], ho, wo)
    return y, (("cols", cols) if keep else None)


def grad_input(gy: np.ndarray, weight: np.ndarray, g: Geometry, h: int, w: int) -> np.ndarray:
    """dL/dx (N, H, W, C) from contiguous NHWC gy; also the transposed convolution."""
    depthwise = I2C._is_depthwise(weight, g.groups)
    if _use_taps(gy.shape[-1], weight.shape[1], g, gy.dtype, depthwise):
        dx = T.grad_input(gy, weight, g, h, w)
        if dx is not None:
            return dx
    if depthwise:
        return I2C.depthwise_grad_input(gy, weight, g, h, w)
    return I2C.conv_grad_input(gy, weight, g, h, w)


def backward(x: np.ndarray, gy: np.ndarray, weight: np.ndarray, g: Geometry, state,
             need_x: bool, need_w: bool, need_b: bool):
    """(dx, dW, db) of y = conv(x, W) + b for NHWC views x and gy (any memory order).

    Stride-1 shifted-product convolutions take all three from one buffer of gy; the other
    paths compute them one by one from a contiguous copy of gy.
    """
    n, ho, wo, o = gy.shape
    h, w = x.shape[1:3]
    depthwise = I2C._is_depthwise(weight, g.groups)
    c = x.shape[-1]
    if (g.sh == g.sw == 1 and _use_taps(c, o, g, gy.dtype, depthwise)
            and (not need_x or _use_taps(o, c, g, gy.dtype, depthwise))):
        if state is not None and state[0] == "taps":
            plan, bufs = state[2], state[1]
        else:
            plan = T.Plan(g, n, h, w, ho, wo)
            bufs = plan.buffers(x) if need_w else None
        out = T.backward(gy, weight, plan, bufs, need_x, need_w, need_b)
        if out is not None:
            return out
    gy = contiguous(gy)
    dx = grad_input(gy, weight, g, h, w) if need_x else None
    dw = grad_weight(x, gy, g, weight.shape, state) if need_w else None
    db = T.column_sums(gy.reshape(-1, o)) if need_b else None
    return dx, dw, db


def grad_weight(x: np.ndarray, gy: np.ndarray, g: Geometry, weight_shape, state=None):
    """dL/dW (O, C/G, kh, kw) from NHWC x (or the forward's state) and contiguous NHWC gy."""
    depthwise = g.groups > 1 and weight_shape[1] == 1
    n, ho, wo, _ = gy.shape
    taps = _use_taps(x.shape[-1], gy.shape[-1], g, x.dtype, depthwise)
    if depthwise and not (taps or (state and state[0] == "taps")):
        return I2C.depthwise_grad_weight(x, gy, g, weight_shape)
    if state is None:
        if taps:
            plan = T.Plan(g, n, x.shape[1], x.shape[2], ho, wo)
            state = ("taps", plan.buffers(x), plan)
        elif I2C.wide_block(g, wo) > 1 and not (g.kh == g.kw == 1 and not g.padded):
            b = I2C.wide_block(g, wo)
            state = ("wide", I2C.wide_cols(x, g, ho, wo, b), b)
        else:
            state = ("cols", I2C.conv_cols(x, g, ho, wo))
    if state[0] == "taps":
        return T.grad_weight(state[1], gy, state[2], weight_shape)
    if state[0] == "wide":
        return I2C.wide_grad_weight(state[1], gy, g, weight_shape, state[2])
    return I2C.conv_grad_weight(state[1], gy, g, weight_shape)
