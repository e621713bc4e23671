"""Numeric checks for the hand-written gradients of the classic pipeline.

``grad_check_sparse`` (from :mod:`fovea.gradcheck`) checks a few random coordinates, as the
lectures do for large weight matrices; :func:`numeric_gradient` computes every coordinate
by centred differences, for small shapes. Use float64: a correct gradient then gives a
relative error well below 1e-7.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fovea.gradcheck import grad_check_sparse, relative_error

__all__ = ["grad_check_sparse", "numeric_gradient", "relative_error"]


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                     h: float = 1e-5) -> np.ndarray:
    """The centred-difference gradient (f(x + h e_i) - f(x - h e_i)) / 2h at every i.

    Args:
        f: maps the array ``x`` (evaluated in place) to a float.
        x: the point, any shape, a writable float array; restored afterwards.
        h: the step.

    Returns:
        An array of the shape of ``x``.

    Example:
        >>> dW_num = numeric_gradient(lambda W: svm_loss_naive(W, X, y, 0.1)[0], W)
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"numeric_gradient: x must be a float numpy array, got "
                        f"{type(x).__name__}")
    if not x.flags.writeable:
        raise ValueError("numeric_gradient: x must be writable (it is perturbed in place)")
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        plus = float(f(x))
        x[ix] = old - h
        minus = float(f(x))
        x[ix] = old
        grad[ix] = (plus - minus) / (2 * h)
    return grad
