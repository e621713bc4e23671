"""Elementwise kernels, generic: ReLU's forward and backward as array-module expressions
(the interface of :mod:`fovea.backends.cpu.elementwise`, results on the argument's device).

Interface::

    relu(x)          # max(x, 0); NaN stays NaN
    relu_grad(y, g)  # g where y > 0 else 0 (y: ReLU's output); subgradient 0 at 0
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
