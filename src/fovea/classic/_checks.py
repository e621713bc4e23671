"""Input validation shared by the classic classifiers: clear errors that name the argument."""

from __future__ import annotations

import numbers

import numpy as np


def as_matrix(X, op: str, name: str = "X", cols: int | None = None) -> np.ndarray:
    """``X`` as a finite 2-D float array (N, D); integer and boolean input becomes float64.

    Raises:
        TypeError: ``X`` is not numeric.
        ValueError: ``X`` is not 2-D, has the wrong number of columns, or holds NaN / inf.
    """
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{op}: {name} must be a numeric array, got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{op}: {name} must be 2-D of shape (N, D), got shape {X.shape}")
    if X.dtype.kind != "f":
        X = X.astype(np.float64)
    if cols is not None and X.shape[1] != cols:
        raise ValueError(f"{op}: {name} must have {cols} columns (features), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{op}: {name} contains non-finite values (NaN or inf)")
    return X


def as_labels(y, op: str, n: int | None = None, name: str = "y",
              num_classes: int | None = None) -> np.ndarray:
    """``y`` as a 1-D int64 array of class labels, checked against ``n`` rows of X.

    With ``num_classes`` the labels must also lie in [0, num_classes).
    """
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{op}: {name} must be 1-D of shape (N,), got shape {y.shape}")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{op}: X has {n} rows but {name} has {y.shape[0]} labels; "
                         f"they must match")
    y = y.astype(np.int64, copy=False)
    if num_classes is not None and y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)][0]
        raise ValueError(f"{op}: {name} holds label {bad}, outside [0, {num_classes})")
    return y


def positive_int(value, op: str, name: str, minimum: int = 1) -> int:
    """``value`` as an int ≥ ``minimum`` (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value}")
    return int(value)


def finite_float(value, op: str, name: str, minimum: float | None = None,
                 strictly: bool = False) -> float:
    """``value`` as a finite float, optionally ≥ (or >, with ``strictly``) ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{op}: {name} must be finite, got {value}")
    if minimum is not None and (value <= minimum if strictly else value < minimum):
        rel = ">" if strictly else ">="
        raise ValueError(f"{op}: {name} must be {rel} {minimum}, got {value}")
    return value
