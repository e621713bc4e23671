"""Turning images into the (N, D) rows the classic classifiers take, and centring them.

Lecture 2's pipeline: flatten each image into a vector, subtract the mean training image
(statistics from the training split only), and append a constant 1 for the bias trick.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from fovea.classic._checks import as_matrix


def flatten_images(images: ArrayLike) -> np.ndarray:
    """Images (N, ...) as rows (N, D), D the product of the other dimensions.

    Example:
        >>> flatten_images(np.zeros((5, 3, 32, 32))).shape
        (5, 3072)
    """
    x = np.asarray(images)
    if x.ndim < 2:
        raise ValueError(f"flatten_images: images must have shape (N, ...), got {x.shape}")
    return x.reshape(x.shape[0], -1)


def append_bias(X: ArrayLike) -> np.ndarray:
    """The bias trick: X (N, D) → (N, D + 1) with a last column of ones.

    Example:
        >>> append_bias(np.zeros((2, 3)))[:, -1]
        array([1., 1.])
    """
    X = as_matrix(X, "append_bias")
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


class Standardizer:
    """Subtract the training mean (and optionally divide by the training std) per column.

    Args:
        scale: also divide by the per-column standard deviation (columns with zero spread
            are left unscaled).

    Example:
        >>> prep = Standardizer().fit(X_train)
        >>> X_train, X_val = prep.transform(X_train), prep.transform(X_val)
    """

    def __init__(self, scale: bool = False):
        self.scale = bool(scale)
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def fit(self, X: ArrayLike) -> Standardizer:
        """Learn the column statistics of X (N, D); returns ``self``."""
        X = as_matrix(X, "Standardizer.fit")
        if X.shape[0] == 0:
            raise ValueError("Standardizer.fit: X is empty (0 rows)")
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.std_ = np.where(std > 0, std, 1.0).astype(X.dtype)
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """X (N, D) centred (and scaled) with the fitted statistics."""
        if self.mean_ is None:
            raise RuntimeError("Standardizer.transform: call fit(X_train) first")
        X = as_matrix(X, "Standardizer.transform", cols=self.mean_.shape[0])
        out = X - self.mean_
        return out / self.std_ if self.scale else out

    def fit_transform(self, X: ArrayLike) -> np.ndarray:
        """``fit(X).transform(X)``."""
        return self.fit(X).transform(X)
