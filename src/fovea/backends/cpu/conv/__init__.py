"""Convolution kernels for the CPU: one plan per convolution, chosen once (:mod:`.plan`).

* :mod:`.plan`: :func:`select` -> :class:`ConvPlan` (forward, input gradient, weight
  gradient, fused stride-1 backward), the only place that chooses a kernel;
* :mod:`.taps`: shifted products over flat padded buffers (BLAS per tap, or the generated
  kernels of :mod:`.jit_taps`), depthwise per-channel products;
* :mod:`.im2col`: patch matrices (plain, "wide" for few channels), col2im, depthwise
  fallbacks.
"""

from fovea.backends.cpu.conv.plan import ConvPlan, select

__all__ = ["ConvPlan", "select"]
