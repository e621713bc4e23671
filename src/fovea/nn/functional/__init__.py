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
from fovea.nn.functional.conv import conv2d, conv_transpose2d  # noqa: F401
from fovea.nn.functional.loss import cross_entropy, nll_loss  # noqa: F401
from fovea.nn.functional.pooling import (  # noqa: F401
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    max_pool2d,
    max_unpool2d,
)
from fovea.nn.functional.upsample import interpolate, upsample  # noqa: F401
