"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_`` (PyTorch's semantics)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

from fovea import backends, dtypes
from fovea.ops._util import xp_of
from fovea.tensor import Tensor


def _grads(parameters, op: str) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    out = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameters must be Tensors, item {i} is a "
                            f"{type(p).__name__}")
        if p.grad is not None:
            out.append(p.grad)
    return out


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Rescale the gradients in place so that their total norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of all gradients together (as if concatenated
    into one vector; ``inf`` for the largest absolute value). When it exceeds ``max_norm``
    every gradient is multiplied by max_norm / (total_norm + 1e-6).

    Args:
        parameters: a tensor or an iterable of tensors (those with ``grad=None`` are skipped).
        max_norm: the largest allowed total norm.
        norm_type: p of the p-norm, or ``math.inf``.
        error_if_nonfinite: raise if the total norm is nan or inf (else the gradients are
            scaled by a nan/zero factor, as in PyTorch).

    Returns:
        The total norm before clipping, a 0-d tensor.
    """
    grads = _grads(parameters, "clip_grad_norm_")
    if not isinstance(max_norm, numbers.Real) or max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be a non-negative number, got "
                         f"{max_norm!r}")
    norm_type = float(norm_type)
    if norm_type <= 0 and not math.isinf(norm_type):
        raise ValueError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}")
    if not grads:
        dtype = dtypes.get_default_dtype()
        return Tensor._make(backends.default().xp.asarray(0.0, dtype=dtype), None)
    xp, dtype = xp_of(grads[0]), grads[0].dtype  # the total norm lives with the first gradient
    with xp.errstate(over="ignore", invalid="ignore"):
        if math.isinf(norm_type):
            norms = [xp_of(g).max(xp_of(g).abs(g._data)) if g._data.size else 0.0
                     for g in grads]
            total = max(float(n) for n in norms) if norm_type > 0 else 0.0
        else:
            acc = sum(float(xp_of(g).sum(xp_of(g).abs(g._data.astype(xp.float64)) ** norm_type))
                      for g in grads)
            total = acc ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is non-finite ({total}), so it cannot be clipped; set "
                           "error_if_nonfinite=False to disable this error")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0 or math.isnan(coef):
        for g in grads:
            g._data = (g._data * coef).astype(g.dtype, copy=False)
            g._version[0] += 1
    return Tensor._make(xp.asarray(total, dtype=dtype), None)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient elementwise to [-clip_value, clip_value], in place.

    Args:
        parameters: a tensor or an iterable of tensors (those with ``grad=None`` are skipped).
        clip_value: the largest allowed absolute value (≥ 0).
    """
    if not isinstance(clip_value, numbers.Real) or clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be a non-negative number, got "
                         f"{clip_value!r}")
    for g in _grads(parameters, "clip_grad_value_"):
        xp_of(g).clip(g._data, -clip_value, clip_value, out=g._data)
        g._version[0] += 1
