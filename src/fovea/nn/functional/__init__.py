"""Stateless layer functions: ``import fovea.nn.functional as F``.

Activations, softmax and losses live here; later modules add convolution, pooling and
normalisation. Every function is differentiable through the autograd engine.
"""

from fovea.nn.functional.activation import (  # noqa: F401
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from fovea.nn.functional.loss import cross_entropy, nll_loss  # noqa: F401
