"""Constraints: where a parameter or a value of a distribution may lie (PyTorch's names).

``constraint.check(value)`` returns a boolean array (one entry per batch element: the event
dimensions of ``event_dim`` are reduced), used by ``validate_args`` to refuse bad parameters
and out-of-support values with a one-line error.
"""

from __future__ import annotations

import numpy as np

from fovea.tensor import Tensor

__all__ = ["Constraint", "real", "real_vector", "positive", "unit_interval", "simplex",
           "boolean", "nonnegative_integer", "integer_interval", "interval", "half_open_interval",
           "lower_cholesky", "positive_definite", "dependent", "independent"]


def _host(value):
    """The values of a Tensor or array-like as a NumPy array (for checking only)."""
    if isinstance(value, Tensor):
        return np.asarray(value.detach().numpy())
    return np.asarray(value)


class Constraint:
    """A region of values. ``event_dim``: how many rightmost dimensions form one value."""

    event_dim = 0
    is_discrete = False

    def check(self, value) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.check")

    label: str | None = None  # the public name (``positive``, ``unit_interval`` ...)

    def __repr__(self) -> str:
        return self.label or type(self).__name__.lstrip("_").lower()


class _Dependent(Constraint):
    """Depends on other parameters (checked by the distribution itself)."""

    def check(self, value):
        raise ValueError("dependent: this constraint cannot be checked on its own")


class _Real(Constraint):
    def check(self, value):
        v = _host(value)
        return v == v  # not NaN (infinities are allowed, as in PyTorch)


class _Independent(Constraint):
    """``base`` with ``n`` more rightmost dimensions forming one value."""

    def __init__(self, base: Constraint, n: int):
        self.base, self.n = base, n
        self.event_dim = base.event_dim + n
        self.is_discrete = base.is_discrete

    def check(self, value):
        ok = self.base.check(value)
        return ok.all(axis=tuple(range(-self.n, 0))) if self.n else ok

    def __repr__(self) -> str:
        return f"independent({self.base!r}, {self.n})"


class _Interval(Constraint):
    def __init__(self, low, high, *, closed_high: bool = True, discrete: bool = False):
        self.low, self.high, self.closed_high = low, high, closed_high
        self.is_discrete = discrete

    def check(self, value):
        v = _host(value)
        low, high = _host(self.low), _host(self.high)
        ok = (v >= low) & ((v <= high) if self.closed_high else (v < high))
        return ok & (v % 1 == 0) if self.is_discrete else ok

    def __repr__(self) -> str:
        if self.label:
            return self.label
        kind = "integer_interval" if self.is_discrete else (
            "interval" if self.closed_high else "half_open_interval")
        return f"{kind}({self.low}, {self.high})" if not isinstance(self.low, Tensor) else kind


class _GreaterThan(Constraint):
    def __init__(self, low: float, *, strict: bool = True, discrete: bool = False):
        self.low, self.strict, self.is_discrete = low, strict, discrete

    def check(self, value):
        v = _host(value)
        ok = v > self.low if self.strict else v >= self.low
        return ok & (v % 1 == 0) if self.is_discrete else ok

    def __repr__(self) -> str:
        if self.is_discrete:
            return "nonnegative_integer"
        return "positive" if self.strict else f"greater_than_eq({self.low})"


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        v = _host(value)
        return (v == 0) | (v == 1)

    def __repr__(self) -> str:
        return "boolean"


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        v = _host(value)
        return (v >= 0).all(axis=-1) & (np.abs(v.sum(-1) - 1) < 1e-6)

    def __repr__(self) -> str:
        return "simplex"


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        v = _host(value)
        lower = (np.triu(v, 1) == 0).all(axis=(-2, -1))
        return lower & (np.diagonal(v, axis1=-2, axis2=-1) > 0).all(-1)

    def __repr__(self) -> str:
        return "lower_cholesky"


class _PositiveDefinite(Constraint):
    event_dim = 2

    def check(self, value):
        v = _host(value)
        symmetric = np.isclose(v, np.swapaxes(v, -1, -2), atol=1e-6).all(axis=(-2, -1))
        sym = (v + np.swapaxes(v, -1, -2)) / 2
        ok = np.linalg.eigvalsh(sym).min(-1) > 0  # batched: every eigenvalue positive
        return symmetric & ok

    def __repr__(self) -> str:
        return "positive_definite"


dependent = _Dependent()
real = _Real()
real_vector = _Independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative_integer = _GreaterThan(0, strict=False, discrete=True)
unit_interval = _Interval(0.0, 1.0)
unit_interval.label = "unit_interval"
simplex = _Simplex()
boolean = _Boolean()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()


def independent(base: Constraint, reinterpreted_batch_ndims: int) -> Constraint:
    return _Independent(base, reinterpreted_batch_ndims)


def integer_interval(low, high) -> Constraint:
    return _Interval(low, high, discrete=True)


def interval(low, high) -> Constraint:
    return _Interval(low, high)


def half_open_interval(low, high) -> Constraint:
    return _Interval(low, high, closed_high=False)
