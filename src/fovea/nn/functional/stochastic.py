"""Random regularisers beyond dropout (Lecture 7): stochastic depth and DropConnect.

* ``stochastic_depth`` (torchvision.ops' name and arguments; ``drop_path`` is its per-example
  form, timm's name): in a residual block y = x + f(x), drop the residual branch f(x) of a
  whole example ("row") or of the whole batch with probability p, and scale the kept ones by
  1 / (1 − p), so that evaluation uses the full network unchanged (Huang et al., 2016).
* ``drop_connect``: zero each *weight* (not each activation) with probability p for this
  forward and scale the rest by 1 / (1 − p) (Wan et al., 2013, with inverted scaling so that
  evaluation uses the weights as they are).

Masks come from an explicit generator (default ``fovea.default_generator``), drawn on the
host and moved to the input's device, so a seed repeats them.
"""

from __future__ import annotations

import numbers

from fovea.nn.functional.dropout import MaskScale
from fovea.ops._util import as_tensor, require_float, xp_of
from fovea.random import numpy_generator
from fovea.tensor import Tensor

__all__ = ["drop_connect", "drop_path", "stochastic_depth"]


def _check_p(p, op: str) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: drop probability has to be between 0 and 1, but got {p!r}")
    return float(p)


def _scaled_keep(x: Tensor, shape, p: float, generator) -> object:
    """Bernoulli(1 − p) mask of ``shape`` scaled by 1 / (1 − p) (zeros when p = 1), in x's
    dtype on x's device."""
    xp, dtype = xp_of(x), x.dtype
    keep = numpy_generator(generator).random(shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return xp.asarray((keep * scale).astype(dtype))


def stochastic_depth(input: Tensor, p: float, mode: str = "row", training: bool = True,
                     generator=None) -> Tensor:
    """Drop whole examples (``mode="row"``) or the whole batch (``"batch"``) of a residual
    branch with probability ``p``; scale what is kept by 1 / (1 − p).

    Args:
        input: the residual branch's output (N, ...), floating.
        p: the probability of dropping, in [0, 1].
        mode: ``"row"`` (one draw per example) or ``"batch"`` (one draw for all).
        training: apply it (False returns ``input``).
        generator: where the draws come from.

    Returns:
        A tensor of ``input``'s shape.
    """
    op = "stochastic_depth"
    p = _check_p(p, op)
    if mode not in ("row", "batch"):
        raise ValueError(f"{op}: mode has to be either 'batch' or 'row', but got {mode!r}")
    x = as_tensor(input, op=op)
    require_float(x, op)
    if not training or p == 0.0:
        return x
    if x.ndim < 1:
        raise ValueError(f"{op}: input must have a batch dimension, got a 0-d tensor")
    shape = (x.shape[0],) + (1,) * (x.ndim - 1) if mode == "row" else (1,) * x.ndim
    return MaskScale.apply(x, mask=_scaled_keep(x, shape, p, generator))


def drop_path(input: Tensor, p: float = 0.0, training: bool = False, generator=None) -> Tensor:
    """Per-example stochastic depth (``stochastic_depth(input, p, "row", training)``), under
    timm's name; off unless ``training``."""
    return stochastic_depth(input, p, "row", training, generator)


def drop_connect(weight: Tensor, p: float = 0.5, training: bool = True,
                 generator=None) -> Tensor:
    """The weight with each entry zeroed with probability ``p`` and the rest scaled by
    1 / (1 − p); use it in place of the weight for one forward (``F.linear(x,
    drop_connect(w, p), b)``). Gradients reach ``weight`` through the kept entries.

    Args:
        weight: any floating tensor (a Linear's (out, in) or a Conv2d's (out, in, kH, kW)).
        p: the probability of dropping a weight, in [0, 1].
        training: apply it (False returns ``weight``).
        generator: where the mask comes from.
    """
    op = "drop_connect"
    p = _check_p(p, op)
    w = as_tensor(weight, op=op)
    require_float(w, op)
    if not training or p == 0.0:
        return w
    return MaskScale.apply(w, mask=_scaled_keep(w, w.shape, p, generator))

