"""Convolution with the NumPy API only: the plan interface of :mod:`fovea.backends.cpu.conv`.

For a device without kernels of its own. One plan per convolution y = conv(x, W) with x
(N, C, H, W), W (O, C/G, kh, kw), y (N, O, Ho, Wo); arrays in and out are channels-last
(NHWC) views with any strides, as for the CPU plan::

    plan = select(geometry, x_shape, weight_shape, dtype, out_hw)
    y = plan.forward(x, weight, bias, keep=True)   # keeps the padded input for grad_weight
    dx = plan.grad_input(gy, weight)               # also the transposed convolution
    dw = plan.grad_weight(x, gy)
    dx, dw, db = plan.backward(x, gy, weight, need_x, need_w, need_b)
    dy, dw, db = plan.transpose_backward(gx, gy, weight, need_y, need_w, need_b)
    plan.release()

The scheme is a loop over the kh·kw kernel taps (never over pixels). Tap (r, s) of the
zero-padded input is the strided slice ``xpad[:, r·Dh :: Sh, s·Dw :: Sw]`` cut to (Ho, Wo),
and with the channels split into G groups, (G, M, C/G) for M = N·Ho·Wo::

    y      = Σ_taps  X_tap @ W_tap              W_tap (G, C/G, O/G)
    dW_tap = X_tapᵀ @ gy                        gy (G, M, O/G)
    dxpad[tap slice] += gy @ W_tapᵀ             then the padding is cut off

Grouped and depthwise convolutions are batched matrix products over G. Everything is
computed with the array module of the arguments (:func:`fovea.backends.for_arrays`), so the
results are on their device.
"""

from __future__ import annotations

from fovea.backends import for_arrays
from fovea.backends.conv_geometry import Geometry


def select(geometry: Geometry, x_shape: tuple, weight_shape: tuple, dtype,
           out_hw: tuple[int, int] | None = None) -> ConvPlan:
    """The plan for y = conv(x, W) with x of ``x_shape`` (N, C, H, W) and W of
    ``weight_shape`` (O, C/G, kh, kw) in ``dtype``; ``out_hw``: (Ho, Wo) when it is not
    ``geometry.out_size(H, W)`` (see :func:`fovea.backends.cpu.conv.select`)."""
    n, c, h, w = x_shape
    ho, wo = geometry.out_size(h, w) if out_hw is None else out_hw
    return ConvPlan(geometry, n, c, h, w, weight_shape, ho, wo, dtype)


class ConvPlan:
    """The tap-loop convolution for one geometry, and the padded input its forward keeps.

    Attributes (as :class:`fovea.backends.cpu.conv.ConvPlan`'s): geometry, dtype,
    weight_shape, n, c, h, w, o, ho, wo; ``forward_kind``, ``input_grad_kind`` and
    ``weight_grad_kind`` are ``"generic"``; ``fused_backward`` is False (:meth:`backward`
    still shares the regrouped gy between dx and dW); ``kept``: the padded input or None.
    """

    forward_kind = input_grad_kind = weight_grad_kind = "generic"
    fused_backward = False

    def __init__(self, g: Geometry, n: int, c: int, h: int, w: int, weight_shape: tuple,
                 ho: int, wo: int, dtype):
        self.geometry, self.dtype, self.weight_shape = g, dtype, tuple(weight_shape)
        self.n, self.c, self.h, self.w = n, c, h, w
        self.o, self.ho, self.wo = weight_shape[0], ho, wo
        self.kept = None

    def __repr__(self) -> str:
        return "ConvPlan(generic)"

    def release(self) -> None:
        """Drop the kept padded input."""
        self.kept = None

    # --- layout helpers ------------------------------------------------------------------
    def _pad(self, x):
        """x (N, H, W, C) zero-padded to (N, H + pt + pb, W + pl + pr, C)."""
        g = self.geometry
        if not g.padded:
            return x
        xp = for_arrays(x).xp
        n, h, w, c = x.shape
        out = xp.zeros((n, h + g.pt + g.pb, w + g.pl + g.pr, c), dtype=x.dtype)
        out[:, g.pt:g.pt + h, g.pl:g.pl + w] = x
        return out

    def _taps(self):
        """(index, slice of rows, slice of columns) of every kernel tap in the padded input."""
        g, ho, wo = self.geometry, self.ho, self.wo
        for r in range(g.kh):
            rows = slice(r * g.dh, r * g.dh + g.sh * (ho - 1) + 1, g.sh)
            for s in range(g.kw):
                cols = slice(s * g.dw, s * g.dw + g.sw * (wo - 1) + 1, g.sw)
                yield r * g.kw + s, rows, cols

    def _grouped(self, a):
        """(N, h, w, G·k) -> (G, N·h·w, k)."""
        groups = self.geometry.groups
        return a.reshape(-1, groups, a.shape[-1] // groups).transpose(1, 0, 2)

    def _ungrouped(self, a, h: int, w: int):
        """(G, N·h·w, k) -> (N, h, w, G·k)."""
        groups, m, k = a.shape
        return a.transpose(1, 0, 2).reshape(self.n, h, w, groups * k)

    def _tap_weights(self, weight):
        """W (O, C/G, kh, kw) -> (kh·kw, G, C/G, O/G): one batch of group matrices per tap."""
        groups = self.geometry.groups
        o, cg, kh, kw = weight.shape
        return weight.reshape(groups, o // groups, cg, kh * kw).transpose(3, 0, 2, 1)

    # --- the computations ----------------------------------------------------------------
    def forward(self, x, weight, bias, keep: bool = False):
        """y (N, Ho, Wo, O) = conv(x, weight) + bias for NHWC ``x``; ``keep`` holds the
        padded input for :meth:`grad_weight`."""
        xpad = self._pad(x)
        if keep:
            self.kept = xpad
        return self._forward(xpad, weight, bias)

    def _forward(self, xpad, weight, bias):
        wt = self._tap_weights(weight)
        y = None
        for t, rows, cols in self._taps():
            term = self._grouped(xpad[:, rows, cols]) @ wt[t]
            y = term if y is None else y + term
        y = self._ungrouped(y, self.ho, self.wo)
        if bias is not None:
            y = y + bias
        return y

    def grad_input(self, gy, weight):
        """dL/dx (N, H, W, C) from NHWC ``gy`` (N, Ho, Wo, O); also the transposed
        convolution."""
        return self._grad_input(self._grouped(gy), weight)

    def _grad_input(self, gyg, weight):
        g = self.geometry
        xp = for_arrays(gyg).xp
        wt = self._tap_weights(weight).transpose(0, 1, 3, 2)  # (T, G, O/G, C/G)
        hp, wp = self.h + g.pt + g.pb, self.w + g.pl + g.pr
        dxpad = xp.zeros((self.n, hp, wp, self.c), dtype=gyg.dtype)
        for t, rows, cols in self._taps():
            dxpad[:, rows, cols] += self._ungrouped(gyg @ wt[t], self.ho, self.wo)
        return dxpad[:, g.pt:g.pt + self.h, g.pl:g.pl + self.w]

    def grad_weight(self, x, gy):
        """dL/dW (O, C/G, kh, kw) from NHWC ``x`` (unused when the forward kept its padded
        input) and NHWC ``gy``."""
        xpad = self.kept if self.kept is not None else self._pad(x)
        return self._grad_weight(xpad, self._grouped(gy))

    def _grad_weight(self, xpad, gyg):
        xp = for_arrays(gyg).xp
        g = self.geometry
        taps = [self._grouped(xpad[:, rows, cols]).transpose(0, 2, 1) @ gyg
                for _, rows, cols in self._taps()]  # each (G, C/G, O/G)
        dw = xp.stack(taps)  # (T, G, C/G, O/G)
        _, groups, cg, og = dw.shape
        return dw.transpose(1, 3, 2, 0).reshape(groups * og, cg, g.kh, g.kw)

    def backward(self, x, gy, weight, need_x: bool, need_w: bool, need_b: bool):
        """(dx, dW, db) of y = conv(x, W) + b for NHWC views x and gy; each None unless
        needed."""
        gyg = self._grouped(gy)
        dx = self._grad_input(gyg, weight) if need_x else None
        dw = None
        if need_w:
            xpad = self.kept if self.kept is not None else self._pad(x)
            dw = self._grad_weight(xpad, gyg)
        db = for_arrays(gy).xp.sum(gy, axis=(0, 1, 2)) if need_b else None
        return dx, dw, db

    def transpose_backward(self, gx, gy, weight, need_y: bool, need_w: bool, need_b: bool):
        """(dy, dW, db) of the transposed convolution x' = grad_input(gy, W) + b for NHWC
        views ``gx`` (its upstream gradient, x's shape) and ``gy`` (its input)."""
        gpad = self._pad(gx) if need_y or need_w else None  # shared by dy and dW
        dy = self._forward(gpad, weight, None) if need_y else None
        dw = self._grad_weight(gpad, self._grouped(gy)) if need_w else None
        db = for_arrays(gx).xp.sum(gx, axis=(0, 1, 2)) if need_b else None
        return dy, dw, db
