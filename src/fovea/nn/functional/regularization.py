"""Weight penalties and the max-norm constraint (Lectures 3 and 6).

The penalties follow the lectures' convention ``R(W) = reg · Σ W²`` (no ½), whose gradient
is ``2 · reg · W``. PyTorch optimizers' ``weight_decay=wd`` adds ``wd · W`` to the gradient,
which is the gradient of ``0.5 · wd · Σ W²``: so ``weight_decay=wd`` in SGD corresponds to
``l2_penalty(params, reg=wd / 2)`` here.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

from fovea import dtypes
from fovea.autograd import no_grad
from fovea.ops._util import normalize_dim, xp_of
from fovea.tensor import Tensor


def _params(params, op: str) -> list[Tensor]:
    if isinstance(params, Tensor):
        return [params]
    out = list(params)
    for i, p in enumerate(out):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: params must be Tensors, item {i} is a {type(p).__name__}")
    if not out:
        raise ValueError(f"{op}: params is empty")
    return out


def _check_strength(value, name: str, op: str) -> float:
    if not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(f"{op}: {name} must be a non-negative number, got {value!r}")
    return float(value)


def l2_penalty(params: Tensor | Iterable[Tensor], reg: float) -> Tensor:
    """reg · Σ_W Σ W² over the given tensors (a scalar). Gradient: 2 · reg · W.

    Args:
        params: a tensor or an iterable of tensors (e.g. the weight matrices, not the biases).
        reg: the regularisation strength λ ≥ 0.
    """
    params = _params(params, "l2_penalty")
    reg = _check_strength(reg, "reg", "l2_penalty")
    total = sum((p * p).sum() for p in params)
    return total * reg


def l1_penalty(params: Tensor | Iterable[Tensor], reg: float) -> Tensor:
    """reg · Σ_W Σ |W| (a scalar); it drives weights to exactly 0 (sparse solutions).

    Args:
        params: a tensor or an iterable of tensors.
        reg: the regularisation strength λ ≥ 0.
    """
    params = _params(params, "l1_penalty")
    reg = _check_strength(reg, "reg", "l1_penalty")
    total = sum(p.abs().sum() for p in params)
    return total * reg


def elastic_net_penalty(params: Tensor | Iterable[Tensor], l1: float, l2: float) -> Tensor:
    """Σ_W Σ (l2 · W² + l1 · |W|) (a scalar): the lectures' elastic net β W² + |W| when
    l1 = 1, l2 = β.

    Args:
        params: a tensor or an iterable of tensors.
        l1: the strength of the |W| term (≥ 0).
        l2: the strength of the W² term (≥ 0).
    """
    params = _params(params, "elastic_net_penalty")
    l1 = _check_strength(l1, "l1", "elastic_net_penalty")
    l2 = _check_strength(l2, "l2", "elastic_net_penalty")
    return l1_penalty(params, l1) + l2_penalty(params, l2)


def max_norm_(weight: Tensor, max_norm: float, dim: int = 0, eps: float = 1e-7) -> Tensor:
    """Max-norm constraint, in place: every slice ``weight.select(dim, i)`` whose L2 norm
    exceeds ``max_norm`` is rescaled to norm ``max_norm`` (as ``torch.renorm_(w, 2, dim, c)``).

    With a ``Linear`` weight (out_features, in_features) and ``dim=0`` this bounds each
    neuron's incoming weight vector, ‖w‖₂ ≤ c: call it after each optimizer step.

    Args:
        weight: the tensor to constrain (e.g. a Parameter); changed in place under no_grad.
        max_norm: c > 0.
        dim: the axis that indexes the slices (each slice is normed over the other axes).
        eps: added to the norm in the scale c / (‖w‖ + eps), as PyTorch does.

    Returns:
        ``weight``.
    """
    if not isinstance(weight, Tensor):
        raise TypeError(f"max_norm_: weight must be a Tensor, got {type(weight).__name__}")
    if not dtypes.is_floating(weight.dtype) or weight.ndim < 1:
        raise ValueError(f"max_norm_: weight must be a floating tensor with at least 1 "
                         f"dimension, got dtype {weight.dtype} and shape {weight.shape}")
    if not isinstance(max_norm, numbers.Real) or max_norm <= 0:
        raise ValueError(f"max_norm_: max_norm must be positive, got {max_norm!r}")
    d = normalize_dim(dim, weight.ndim, "max_norm_")
    xp = xp_of(weight)
    w = weight._data
    axes = tuple(i for i in range(w.ndim) if i != d)
    norms = xp.sqrt(xp.sum(w.astype(xp.float64) ** 2, axis=axes, keepdims=True))
    scale = xp.where(norms > max_norm, max_norm / (norms + eps), 1.0).astype(w.dtype)
    with no_grad():
        weight.mul_(Tensor._make(scale, None))
    return weight
