"""Max pooling: ``max_pool2d``, y = max over each window; the gradient goes to the (first)
maximum. The raw loops are the device's ``pool`` kernel family
(:mod:`fovea.backends.cpu.pool` on the CPU); the backward is a linear map of g (scatter to
the winners), whose transpose gathers, so it records to any order."""

from __future__ import annotations

import numpy as np

from fovea import backends
from fovea.autograd import Function, is_grad_enabled
from fovea.nn.functional._linear_map import LinearMapFn
from fovea.nn.functional.pooling._common import input4, window
from fovea.tensor import Tensor


class _ArgScatter:
    """Max pooling's backward: g (N, C, Ho, Wo) -> its values at the winning taps (N, C, H, W),
    with the ``pool`` kernel family that ran the forward."""

    def __init__(self, arg, win, pool):
        self.arg, self.win, self.pool = arg, win, pool

    def apply(self, g):
        return self.pool.max_pool_backward(g, self.arg, self.win)

    @property
    def T(self):  # noqa: N802
        return _ArgGather(self.arg, self.win, self.pool)


class _ArgGather:
    """The transpose of :class:`_ArgScatter`: (N, C, H, W) -> its values at the winning taps."""

    def __init__(self, arg, win, pool):
        self.arg, self.win, self.pool = arg, win, pool

    def apply(self, x):
        return self.pool.max_pool_gather(x, self.arg, self.win)

    @property
    def T(self):  # noqa: N802
        return _ArgScatter(self.arg, self.win, self.pool)


class MaxPool2dFn(Function):
    """y = max over each window. Backward: the gradient goes to the (first) maximum."""

    @staticmethod
    def forward(ctx, x, *, win, need_arg, sink=None):
        pool = ctx.kernels.pool
        y, arg = pool.max_pool(x, win, need_arg)
        ctx.scatter = _ArgScatter(arg, win, pool) if need_arg else None
        if sink is not None:  # return_indices: hand the winners to the caller
            sink.append(arg)
        return y

    @staticmethod
    def backward(ctx, g):
        return ctx.run(LinearMapFn, g, op=ctx.scatter)


def _flat_indices(arg, win):
    """Winning taps -> PyTorch's indices: flat positions h·W + w in the unpadded input."""
    xp = backends.for_array(arg).xp
    g = win.geo
    ho, wo = win.out_hw
    r, s = xp.divmod(arg.astype(np.int64), g.kw)
    hh = xp.asarray((np.arange(ho) * g.sh - g.pt)[:, None]) + r * g.dh
    ww = xp.asarray((np.arange(wo) * g.sw - g.pl)[None, :]) + s * g.dw
    return hh * win.in_hw[1] + ww


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
    x, unbatched = input4(input, op)
    win = window(x, kernel_size, stride, padding, dilation, ceil_mode, op)
    need_arg = return_indices or (x.requires_grad and is_grad_enabled())
    sink = [] if return_indices else None
    out = MaxPool2dFn.apply(x, win=win, need_arg=need_arg, sink=sink)
    if unbatched:
        out = out[0]
    if not return_indices:
        return out
    idx = Tensor._make(_flat_indices(sink[0], win), None)
    return out, (idx[0] if unbatched else idx)
