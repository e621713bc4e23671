"""Which raw kernels compute a convolution: chosen once, by :func:`select`, into a plan.

A :class:`ConvPlan` is made for one convolution y = conv(x, W) (x (N, C, H, W), W (O, C/G,
kh, kw), y (N, O, Ho, Wo)) and answers everything its node and the nodes of its gradients
ask, with the kernels it chose::

    plan = select(geometry, x_shape, weight_shape, dtype)
    y = plan.forward(x, weight, bias, keep=True)   # keeps its input buffers for grad_weight
    dx = plan.grad_input(gy, weight)               # also the transposed convolution
    dw = plan.grad_weight(x, gy)                   # from the kept buffers when it has them
    dx, dw, db = plan.backward(x, gy, weight, need_x, need_w, need_b)   # all three at once
    dy, dw, db = plan.transpose_backward(gx, gy, weight, need_y, need_w, need_b)
    plan.release()                                 # drop the kept buffers

The last is the backward of the transposed convolution y' = grad_input(gy, W) + b' for an
upstream gx of x's shape. Arrays are channels-last (NHWC) views: x (N, H, W, C), y and gy
(N, Ho, Wo, O), any strides in; results are NHWC (views of contiguous buffers).

The choices (by measurement; :attr:`ConvPlan.forward_kind` and friends name them):

* ``"depthwise"`` (groups = C, one channel per group, float32/64): the shifted-slice scheme
  of :mod:`.taps` with per-channel multiply-accumulates instead of matrix products;
* ``"llvm"``: ungrouped float convolutions whose (C -> O) product the generated kernels take
  (:func:`.jit_taps.supports`: llvmlite available and ``FOVEA_JIT`` on, output channels a
  multiple of the vector width): shifted products computed by those kernels, for any
  channel count and kernel size, 1×1 included;
* ``"taps"``: otherwise with BLAS, shifted matrix products when both channel counts are
  >= :data:`MIN_TAP_CHANNELS` and the kernel is not an unpadded 1×1;
* ``"wide"``: few channels (an RGB first layer) without the generated kernels: im2col with
  blocks of adjacent outputs per patch row (:func:`.im2col.wide_block`);
* ``"im2col"``: everything else (grouped convolutions, 1×1 kernels, short output rows):
  one patch matrix and one matrix product.

The input gradient's (O -> C) product is chosen the same way (its kind may differ from the
forward's); the weight gradient uses the forward's buffers, so it has the forward's kind
(depthwise convolutions without the shifted scheme have their own). Stride-1 shifted-product
convolutions get all three gradients from one buffer of gy (:attr:`ConvPlan.fused_backward`).
"""

from __future__ import annotations

import numpy as np

from fovea.backends.conv_geometry import Geometry
from fovea.backends.cpu import channels
from fovea.backends.cpu.conv import im2col as I2C
from fovea.backends.cpu.conv import jit_taps as J
from fovea.backends.cpu.conv import taps as T
from fovea.backends.cpu.threads import contiguous

MIN_TAP_CHANNELS = 8

# Keep the forward's input buffers (flat padded copy or patch matrix) for the weight
# gradient unless they are larger than this; then the weight gradient rebuilds them from x.
MAX_KEPT_BYTES = 512 * 2**20

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _product_kind(c_in: int, c_out: int, g: Geometry, dtype, depthwise: bool) -> str | None:
    """"depthwise", "llvm" or "taps" when the shifted-product scheme computes a
    (c_in -> c_out) product of this convolution, else None.

    With BLAS it pays off when each product's small dimension is >= 8 channels; the
    generated kernels (:mod:`.jit_taps`) also take fewer input channels (an RGB layer).
    """
    if np.dtype(dtype) not in _FLOATS:
        return None
    if depthwise:
        return "depthwise"
    if g.groups != 1:
        return None
    if J.supports(dtype, c_in, c_out):
        return "llvm"
    if g.kh == g.kw == 1 and not g.padded:  # one BLAS product on the input itself
        return None
    return "taps" if min(c_in, c_out) >= MIN_TAP_CHANNELS else None


# The shifted products compute every position of a padded output grid and discard the
# padding's; on small images that is most of the work (a 2x2 output with padding 1: 9 grid
# positions per 4 outputs). Above this ratio one im2col product wastes nothing and measured
# faster (forward + backward, one thread: ResNet-18's 512-channel 2x2 layer 59 -> 44 ms, its
# 256-channel 4x4 layer 31 -> 24 ms; at ratios up to 1.31, as ResNet-20's 7x7 stage, the
# shifted products stay faster).
MAX_GRID_WASTE = 1.4


MIN_IM2COL_CHANNELS = 64  # below, BLAS's im2col product is too thin to win (kept as measured)


def _wasteful(g: Geometry, n: int, c: int, h: int, w: int, o: int, ho: int, wo: int) -> bool:
    """Whether im2col beats the shifted products: both channel counts at least
    :data:`MIN_IM2COL_CHANNELS` and more than :data:`MAX_GRID_WASTE` grid positions per
    real output."""
    if min(c, o) < MIN_IM2COL_CHANNELS or g.groups != 1:
        return False
    return T.Grid(g, n, h, w, ho, wo).length > MAX_GRID_WASTE * n * ho * wo


def select(geometry: Geometry, x_shape: tuple, weight_shape: tuple, dtype,
           out_hw: tuple[int, int] | None = None) -> ConvPlan:
    """The plan for y = conv(x, W) with x of ``x_shape`` (N, C, H, W) and W of
    ``weight_shape`` (O, C/G, kh, kw) in ``dtype``.

    ``out_hw``: (Ho, Wo) when it is not ``geometry.out_size(H, W)`` (a transposed
    convolution with ``output_padding`` is the adjoint of a convolution whose input is
    larger than the windows reach).
    """
    n, c, h, w = x_shape
    ho, wo = geometry.out_size(h, w) if out_hw is None else out_hw
    return ConvPlan(geometry, n, c, h, w, weight_shape, ho, wo, np.dtype(dtype))


class ConvPlan:
    """The kernels chosen for one convolution, and the input buffers its forward keeps.

    Attributes:
        geometry, dtype, weight_shape: the convolution.
        n, c, h, w: input batch, channels, height, width; o, ho, wo: output channels, size.
        forward_kind: "depthwise", "llvm", "taps", "wide" or "im2col" (see the module).
        input_grad_kind: "depthwise", "llvm", "taps" (shifted products of gy), or
            "depthwise_im2col" / "im2col" (col2im of a patch-gradient matrix).
        weight_grad_kind: the forward's kind, or "depthwise_im2col" (per-tap reductions).
        fused_backward: stride 1 with shifted products: one buffer of gy serves dx, dW, db
            (when dx is not needed or is computed by shifted products too).
    """

    def __init__(self, g: Geometry, n: int, c: int, h: int, w: int, weight_shape: tuple,
                 ho: int, wo: int, dtype: np.dtype):
        self.geometry, self.dtype, self.weight_shape = g, dtype, tuple(weight_shape)
        self.n, self.c, self.h, self.w = n, c, h, w
        self.o, self.ho, self.wo = weight_shape[0], ho, wo
        depthwise = I2C.is_depthwise(weight_shape, g.groups)
        fwd = _product_kind(c, self.o, g, dtype, depthwise)
        wasteful = _wasteful(g, n, c, h, w, self.o, ho, wo)
        if fwd in ("llvm", "taps") and wasteful:
            fwd = None  # small images: most grid positions would be padding
        if fwd is None:
            pointwise = g.kh == g.kw == 1 and not g.padded
            self._wide = I2C.wide_block(g, wo)
            fwd = "wide" if self._wide > 1 and not pointwise else "im2col"
        self.forward_kind = fwd
        bwd = _product_kind(self.o, c, g, dtype, depthwise)
        if bwd in ("llvm", "taps") and wasteful:
            bwd = None
        if bwd is None or not T.grad_input_applies(g):
            bwd = "depthwise_im2col" if depthwise else "im2col"
        self.input_grad_kind = bwd
        self.weight_grad_kind = "depthwise_im2col" if depthwise and fwd == "im2col" else fwd
        self.fused_backward = (g.sh == g.sw == 1 and fwd in ("depthwise", "llvm", "taps")
                               and T.grad_input_applies(g))
        self._grid = (T.Grid(g, n, h, w, ho, wo)
                      if fwd in ("depthwise", "llvm", "taps") else None)
        self.kept: np.ndarray | None = None  # the forward's input buffers, for grad_weight

    def __repr__(self) -> str:
        return (f"ConvPlan(forward={self.forward_kind}, grad_input={self.input_grad_kind}, "
                f"grad_weight={self.weight_grad_kind}, fused_backward={self.fused_backward})")

    # --- the forward's input buffers ---------------------------------------------------------
    def _buffers(self, x: np.ndarray) -> np.ndarray:
        """x (N, H, W, C) in the layout the forward's kind reads (and the weight gradient)."""
        g = self.geometry
        if self._grid is not None:
            return self._grid.buffers(x)
        if self.forward_kind == "wide":
            return I2C.wide_cols(x, g, self.ho, self.wo, self._wide)
        return I2C.conv_cols(x, g, self.ho, self.wo)

    def release(self) -> None:
        """Drop the kept buffers."""
        self.kept = None

    # --- the four computations ---------------------------------------------------------------
    def forward(self, x: np.ndarray, weight: np.ndarray, bias, keep: bool = False) -> np.ndarray:
        """y (N, Ho, Wo, O) = conv(x, weight) + bias for NHWC ``x``.

        ``keep``: hold the input buffers (up to :data:`MAX_KEPT_BYTES`) for
        :meth:`grad_weight`.
        """
        g = self.geometry
        bufs = self._buffers(x)
        if keep:
            self.kept = bufs if bufs.nbytes <= MAX_KEPT_BYTES else None
        kind = self.forward_kind
        if self._grid is not None:
            return T.forward(bufs, weight, bias, self._grid, kind == "llvm")
        if kind == "wide":
            return I2C.wide_forward(bufs, weight, bias, g, self.n, self.ho, self.wo, self._wide)
        return I2C.conv_forward_cols(bufs, weight, bias, g, self.n, self.ho, self.wo)

    def grad_input(self, gy: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """dL/dx (N, H, W, C) from NHWC ``gy``; also the transposed convolution."""
        g, kind = self.geometry, self.input_grad_kind
        gy = contiguous(gy)
        if kind in ("depthwise", "llvm", "taps"):
            return T.grad_input(gy, weight, g, self.h, self.w, kind == "llvm")
        if kind == "depthwise_im2col":
            return I2C.depthwise_grad_input(gy, weight, g, self.h, self.w)
        return I2C.conv_grad_input(gy, weight, g, self.h, self.w)

    def grad_weight(self, x: np.ndarray, gy: np.ndarray) -> np.ndarray:
        """dL/dW (O, C/G, kh, kw) from NHWC ``x`` (unused when the forward kept its buffers)
        and NHWC ``gy``."""
        g, kind = self.geometry, self.weight_grad_kind
        gy = contiguous(gy)
        if kind == "depthwise_im2col":
            return I2C.depthwise_grad_weight(x, gy, g, self.weight_shape)
        bufs = self.kept if self.kept is not None else self._buffers(x)
        if self._grid is not None:
            return T.grad_weight(bufs, gy, self._grid, self.weight_shape, kind == "llvm")
        if kind == "wide":
            return I2C.wide_grad_weight(bufs, gy, g, self.weight_shape, self._wide)
        return I2C.conv_grad_weight(bufs, gy, g, self.weight_shape)

    def backward(self, x: np.ndarray, gy: np.ndarray, weight: np.ndarray, need_x: bool,
                 need_w: bool, need_b: bool):
        """(dx, dW, db) of y = conv(x, W) + b for NHWC views x and gy (any memory order);
        each None unless needed.

        With :attr:`fused_backward` (and dx by shifted products, if needed) all three come
        from one buffer of gy; otherwise one by one from a contiguous copy of gy.
        """
        taps_x = self.input_grad_kind in ("depthwise", "llvm", "taps")
        if self.fused_backward and (taps_x or not need_x):
            bufs = None
            if need_w:
                bufs = self.kept if self.kept is not None else self._grid.buffers(x)
            return T.backward(gy, weight, self._grid, bufs, need_x, need_w, need_b,
                              self.input_grad_kind == "llvm", self.forward_kind == "llvm")
        gy = contiguous(gy)
        dx = self.grad_input(gy, weight) if need_x else None
        dw = self.grad_weight(x, gy) if need_w else None
        db = T.column_sums(gy.reshape(-1, self.o)) if need_b else None
        return dx, dw, db

    def transpose_backward(self, gx: np.ndarray, gy: np.ndarray, weight: np.ndarray,
                           need_y: bool, need_w: bool, need_b: bool):
        """(dy, dW, db) of the transposed convolution x' = grad_input(gy, W) + b for NHWC
        views ``gx`` (its upstream gradient, x's shape) and ``gy`` (its input); each None
        unless needed.

        dy = conv(gx, W) keeps its buffers of gx for dW = grad_weight(gx, gy); db sums gx
        per channel in gx's own memory layout (copying an NCHW gradient to NHWC first cost
        ~6 ms per 8 MiB, the layout-aware sum ~0.1 ms).
        """
        self.release()  # buffers kept before are of another input
        dy = self.forward(gx, weight, None, keep=need_w) if need_y else None
        dw = self.grad_weight(gx, gy) if need_w else None
        self.release()
        db = channels.channel_sum(channels.view(gx.transpose(0, 3, 1, 2))) if need_b else None
        return dy, dw, db
