"""Inverted dropout: ``dropout`` (single values) and ``dropout2d`` (whole channels).

In training each value (or channel) is kept with probability 1 - p and scaled by 1 / (1 - p),
so the expected output equals the input and evaluation needs no rescaling (the lectures'
"inverted dropout"). The mask is drawn from an explicit NumPy ``Generator``, so a seeded
generator gives the same mask again (gradient checks, repeatable runs). The mask is drawn on
the host and copied to the input's device, so a seed gives the same mask on every device.
"""

from __future__ import annotations

import numbers

import numpy as np

from fovea.autograd import Function
from fovea.creation import default_generator
from fovea.ops._util import as_tensor, require_float, xp_of
from fovea.tensor import Tensor


class MaskScale(Function):
    """y = x ⊙ m for a constant mask m (already holding the 1 / (1 - p) scale)."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask


def _check(x, p, generator, op):
    x = as_tensor(x, op=op)
    require_float(x, op)
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(f"{op}: generator must be a numpy.random.Generator, got "
                        f"{type(generator).__name__}")
    return x


def _keep_mask(x, shape, p, generator):
    """Bernoulli(1 - p) mask scaled by 1 / (1 - p), of ``shape`` and ``x``'s dtype and device."""
    xp, dtype = xp_of(x), x.dtype
    rng = default_generator() if generator is None else generator
    if p == 1.0:
        return xp.zeros(shape, dtype=dtype)
    # The generator draws on the host (a NumPy Generator); the mask then goes to x's device.
    u = rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    keep = u >= p
    return xp.asarray(keep.astype(dtype) * dtype.type(1.0 / (1.0 - p)))


def dropout(x: Tensor, p: float = 0.5, training: bool = True,
            generator: np.random.Generator | None = None) -> Tensor:
    """Zero each value with probability ``p`` and scale the rest by 1 / (1 - p).

    Args:
        x: a floating tensor of any shape.
        p: the probability of dropping a value, in [0, 1].
        training: apply dropout (False returns ``x`` unchanged).
        generator: where the mask comes from (default: ``fovea.default_generator()``).

    Returns:
        A tensor of ``x``'s shape.
    """
    x = _check(x, p, generator, "dropout")
    if not training or p == 0.0:
        return x
    return MaskScale.apply(x, mask=_keep_mask(x, x.shape, float(p), generator))


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True,
              generator: np.random.Generator | None = None) -> Tensor:
    """Zero whole channels with probability ``p`` (spatial dropout); scale the rest by 1/(1-p).

    Args:
        x: (N, C, H, W); each of the N·C feature maps is kept or dropped as a whole.
        p: the probability of dropping a channel, in [0, 1].
        training: apply dropout (False returns ``x`` unchanged).
        generator: where the mask comes from (default: ``fovea.default_generator()``).

    Returns:
        A tensor of ``x``'s shape.
    """
    x = _check(x, p, generator, "dropout2d")
    if x.ndim != 4:
        raise ValueError(f"dropout2d: expected input of shape (N, C, H, W), got {x.shape}")
    if not training or p == 0.0:
        return x
    n, c = x.shape[:2]
    return MaskScale.apply(x, mask=_keep_mask(x, (n, c, 1, 1), float(p), generator))
