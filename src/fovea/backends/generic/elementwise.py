"""Elementwise kernels, generic: the forward and backward of ReLU, leaky ReLU and hardtanh as
array-module expressions (the interface of :mod:`fovea.backends.cpu.elementwise`, results on
the argument's device).

Interface::

    relu(x)          # max(x, 0); NaN stays NaN
    relu_grad(y, g)  # g where y > 0 else 0 (y: ReLU's output); subgradient 0 at 0
    leaky_relu(x, slope)          # x where x > 0 else slope·x; NaN stays NaN
    leaky_relu_grad(x, g, slope)  # g where x > 0 else slope·g (x: the input)
    hardtanh(x, lo, hi)           # clip(x, lo, hi); NaN stays NaN
    hardtanh_grad(x, g, lo, hi)   # g where lo < x < hi else 0 (x: the input)
"""

from __future__ import annotations

from fovea.backends import for_array, for_arrays


def relu(x):
    """max(x, 0), x's shape and dtype."""
    return for_array(x).xp.maximum(x, 0)


def relu_grad(y, g):
    """g where y > 0 else 0, in g's dtype (an infinite g gives 0 where y <= 0, as the
    compiled CPU kernel and PyTorch do)."""
    return for_arrays(y, g).xp.where(y > 0, g, g.dtype.type(0))


def leaky_relu(x, slope: float):
    """x where x > 0 else slope·x, x's shape and dtype."""
    return for_array(x).xp.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu_grad(x, g, slope: float):
    """g where x > 0 else slope·g (x: leaky ReLU's input), in g's dtype."""
    return for_arrays(x, g).xp.where(x > 0, g, g * g.dtype.type(slope))


def hardtanh(x, lo: float, hi: float):
    """x clipped to [lo, hi], x's shape and dtype (NaN stays NaN)."""
    t = x.dtype.type
    return for_array(x).xp.clip(x, t(lo), t(hi))


def hardtanh_grad(x, g, lo: float, hi: float):
    """g where lo < x < hi else 0 (x: hardtanh's input), in g's dtype."""
    t = x.dtype.type
    return for_arrays(x, g).xp.where((x > t(lo)) & (x < t(hi)), g, g.dtype.type(0))
