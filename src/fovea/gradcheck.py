"""Numeric gradient checking: the analytic gradient against centered finite differences.

The lectures' relative error, |a - n| / max(|a|, |n|), is what every check reports;
in float64 a correct gradient gives well under 1e-7.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from fovea import backends
from fovea.autograd import grad as autograd_grad
from fovea.autograd import no_grad
from fovea.tensor import Tensor


def relative_error(analytic, numeric, floor: float = 1e-12) -> float:
    """max |a - n| / max(|a|, |n|), elementwise, with a floor so that 0 vs 0 counts as 0."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    denom = np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    err = np.abs(a - n) / denom
    return float(err.max()) if err.size else 0.0


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
              seed: int = 0, max_coords: int | None = None, scale_floor: float = 1e-4,
              stencil: int = 2) -> float:
    """Largest relative error between ``fn``'s analytic and numeric gradients.

    ``fn(*inputs)`` may return a scalar or any tensor; a non-scalar output is contracted with
    a fixed random direction ``v`` (so the checked quantity is Σ v ⊙ fn(x), and every output
    element matters with a different weight). Each input that requires grad is perturbed
    one coordinate at a time by ±eps (centered differences); with ``max_coords`` only a
    random sample of that many coordinates per input is checked (for large inputs).

    The numeric derivative is Σ v ⊙ (fn(x + h) − fn(x − h)) / 2h with the difference taken
    elementwise first, so rounding noise scales with the outputs that actually changed.

    The relative error is the lectures' |a - n| / max(|a|, |n|), except that the denominator
    is at least ``scale_floor`` times the largest |a| of that input: a finite difference has
    an absolute error (about eps_machine * |f| / h + h^2 * |f'''|), so it cannot resolve a
    coordinate whose gradient is 10^4 times smaller than the others; a wrong gradient is off
    by O(gradient) and still shows up. Pass ``scale_floor=0`` for the plain definition.

    ``stencil=4`` uses the fourth-order formula
    [-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)] / 12h, whose truncation error is O(h^4): with
    h = 1e-3 both truncation and rounding stay near 1e-13, even for reductions over many
    elements whose per-coordinate gradients are much smaller than |f|.

    Args:
        fn: a function of the inputs returning a Tensor.
        inputs: Tensors (use float64 for meaningful errors below 1e-7).
        eps: the finite-difference step h.
        seed: seeds the random direction and coordinate sample.
        max_coords: check at most this many coordinates of each input.
        scale_floor: see above.
        stencil: 2 (centered difference, the lectures') or 4 (fourth order).

    Returns:
        The largest relative error over all checked coordinates of all inputs.
    """
    if stencil not in (2, 4):
        raise ValueError(f"gradcheck: stencil must be 2 or 4, got {stencil}")
    rng = np.random.default_rng(seed)
    inputs = list(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    v = np.ones(out.shape) if out.numel() == 1 else rng.standard_normal(out.shape)
    xp = backends.for_array(out._data).xp  # v goes to out's device; the numerics are NumPy's
    scalar = (out * Tensor._make(xp.asarray(v.astype(out.dtype)), None)).sum()
    analytic = autograd_grad(scalar, checked, allow_unused=True)
    worst = 0.0
    for t, g in zip(checked, analytic):
        a = np.zeros(t.shape) if g is None else np.asarray(g._data)
        if not t._data.flags.c_contiguous:
            t._data = backends.for_array(t._data).xp.ascontiguousarray(t._data)
        flat = t._data.reshape(-1)  # a view: writing to it perturbs the input
        coords = np.arange(flat.size)
        if max_coords is not None and flat.size > max_coords:
            coords = rng.choice(flat.size, size=max_coords, replace=False)
        numeric = np.empty(len(coords))
        with no_grad():
            for j, c in enumerate(coords):
                orig = flat[c]

                def at(step, c=c, orig=orig, flat=flat):
                    flat[c] = orig + step
                    return np.array(fn(*inputs)._data, dtype=np.float64)

                if stencil == 4:
                    diff = 8 * (at(eps) - at(-eps)) - (at(2 * eps) - at(-2 * eps))
                    numeric[j] = float(np.sum(v * diff)) / (12 * eps)
                else:
                    numeric[j] = float(np.sum(v * (at(eps) - at(-eps)))) / (2 * eps)
                flat[c] = orig
        floor = max(scale_floor * float(np.abs(a).max(initial=0.0)), 1e-12)
        worst = max(worst, relative_error(a.reshape(-1)[coords], numeric, floor=floor))
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
