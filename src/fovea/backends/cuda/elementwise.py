"""Elementwise kernels on the GPU: ReLU's forward and backward as one fused kernel each
(the interface of :mod:`fovea.backends.generic.elementwise`; the generic expressions when
:func:`.fused.usable` says no).

Interface::

    relu(x)          # max(x, 0); NaN stays NaN
    relu_grad(y, g)  # g where y > 0 else 0 (y: ReLU's output)
    leaky_relu(x, slope), leaky_relu_grad(x, g, slope)  # the generic expressions
    hardtanh(x, lo, hi), hardtanh_grad(x, g, lo, hi)    # the generic expressions
"""

from __future__ import annotations

from fovea.backends.cuda import fused
from fovea.backends.generic import elementwise as generic


def relu(x):
    """max(x, 0), x's shape and dtype (NaN stays NaN)."""
    if fused.usable(x):
        return fused.kernel("relu")(x)
    return generic.relu(x)


def relu_grad(y, g):
    """g where y > 0 else 0, in g's dtype."""
    if fused.usable(g) and type(y) is type(g):
        return fused.kernel("relu_grad")(y, g)
    return generic.relu_grad(y, g)


leaky_relu = generic.leaky_relu  # (a where on the device; no fused kernel yet)
leaky_relu_grad = generic.leaky_relu_grad
hardtanh = generic.hardtanh
hardtanh_grad = generic.hardtanh_grad
