"""Numeric gradient checking: the analytic gradient against centered finite differences.

The lectures' relative error, |a - n| / max(|a|, |n|), is what every check reports;
in float64 a correct gradient gives well under 1e-7.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from fovea.autograd import grad as autograd_grad
from fovea.autograd import no_grad
from fovea.tensor import Tensor


def relative_error(analytic, numeric, floor: float = 1e-12) -> float:
    """max |a - n| / max(|a|, |n|), elementwise, with a floor so that 0 vs 0 counts as 0."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    denom = np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    err = np.abs(a - n) / denom
    return float(err.max()) if err.size else 0.0


def _direction_output(fn, inputs, direction):
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    return out, (out * direction).sum() if direction is not None else out.sum()


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
              seed: int = 0, max_coords: int | None = None) -> float:
    """Largest relative error between ``fn``'s analytic and numeric gradients.

    ``fn(*inputs)`` may return a scalar or any tensor; a non-scalar output is contracted with
    a fixed random direction ``v`` (so the checked quantity is Σ v ⊙ fn(x), and every output
    element matters with a different weight). Each input that requires grad is perturbed
    one coordinate at a time by ±eps (centered differences); with ``max_coords`` only a
    random sample of that many coordinates per input is checked (for large inputs).

    Args:
        fn: a function of the inputs returning a Tensor.
        inputs: Tensors (use float64 for meaningful errors below 1e-7).
        eps: the finite-difference step.
        seed: seeds the random direction and coordinate sample.
        max_coords: check at most this many coordinates of each input.

    Returns:
        The largest relative error over all checked coordinates of all inputs.
    """
    rng = np.random.default_rng(seed)
    inputs = list(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    out = fn(*inputs)
    direction = None
    if out.numel() != 1:
        direction = Tensor._make(rng.standard_normal(out.shape).astype(out.dtype), None)
    _, scalar = _direction_output(fn, inputs, direction)
    analytic = autograd_grad(scalar, checked, allow_unused=True)
    worst = 0.0
    for t, g in zip(checked, analytic):
        a = np.zeros(t.shape) if g is None else g._data
        if not t._data.flags.c_contiguous:
            t._data = np.ascontiguousarray(t._data)
        flat = t._data.reshape(-1)  # a view: writing to it perturbs the input
        coords = np.arange(flat.size)
        if max_coords is not None and flat.size > max_coords:
            coords = rng.choice(flat.size, size=max_coords, replace=False)
        numeric = np.empty(len(coords))
        with no_grad():
            for j, c in enumerate(coords):
                orig = flat[c]
                flat[c] = orig + eps
                plus = _direction_output(fn, inputs, direction)[1].item()
                flat[c] = orig - eps
                minus = _direction_output(fn, inputs, direction)[1].item()
                flat[c] = orig
                numeric[j] = (plus - minus) / (2 * eps)
        worst = max(worst, relative_error(a.reshape(-1)[coords], numeric))
    return worst


def grad_check_sparse(f: Callable[[np.ndarray], float], x: np.ndarray, analytic_grad: np.ndarray,
                      num_checks: int = 10, h: float = 1e-5, seed: int = 0) -> list[float]:
    """Check ``num_checks`` random coordinates of a hand-written gradient of ``f`` at ``x``.

    ``f`` maps an array to a float; ``analytic_grad`` is its claimed gradient at ``x``.
    Returns the relative error at each sampled coordinate (``x`` is restored afterwards).
    """
    if analytic_grad.shape != x.shape:
        raise ValueError(f"grad_check_sparse: analytic_grad has shape {analytic_grad.shape} but "
                         f"x has {x.shape}")
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(num_checks):
        ix = tuple(int(rng.integers(s)) for s in x.shape)
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        numeric = (fxph - fxmh) / (2 * h)
        errors.append(relative_error(analytic_grad[ix], numeric))
    return errors
