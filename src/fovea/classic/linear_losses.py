"""The multiclass SVM (hinge) and softmax (cross-entropy) losses with hand-derived gradients.

Lecture 3's two losses for a linear score function s = xW, each written twice: a naive
version with explicit loops over examples and classes that mirrors the formula, and a
vectorised version that the classifiers use. Both return ``(loss, dW)`` and agree to
rounding; the tests check them against each other and against finite differences.

Shapes throughout: W (D, C) weights, X (N, D) examples, y (N,) labels in [0, C).
The loss is the mean data loss over the N examples plus ``reg · ΣW²`` (so the
regularisation gradient is ``2 · reg · W``).

SVM, margin Δ::

    L_i = Σ_{j ≠ y_i} max(0, s_j - s_{y_i} + Δ)
    ∂L_i/∂W[:, j]   =  1[margin_j > 0] · x_i            (j ≠ y_i)
    ∂L_i/∂W[:, y_i] = -(number of positive margins) · x_i

Softmax::

    L_i = -log(exp(s_{y_i}) / Σ_j exp(s_j)) = log Σ_j exp(s_j) - s_{y_i}
    ∂L_i/∂W[:, j] = (p_j - 1[j = y_i]) · x_i,   p = softmax(s)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from fovea.classic._checks import as_labels, as_matrix, finite_float


def _check(W, X, y, reg, op: str):
    W = as_matrix(W, op, name="W")
    X = as_matrix(X, op, name="X", cols=W.shape[0])
    y = as_labels(y, op, n=X.shape[0], num_classes=W.shape[1])
    if X.shape[0] == 0:
        raise ValueError(f"{op}: X is empty (0 examples); the mean loss is undefined")
    reg = finite_float(reg, op, "reg", minimum=0.0)
    return W, X, y, reg


def _dtype(W: np.ndarray, X: np.ndarray) -> np.dtype:
    return np.result_type(W.dtype, X.dtype)


def svm_loss_naive(W: ArrayLike, X: ArrayLike, y: ArrayLike, reg: float,
                   delta: float = 1.0) -> tuple[float, np.ndarray]:
    """Multiclass SVM loss with loops over examples and classes.

    Args:
        W: weights, (D, C).
        X: examples, (N, D).
        y: labels, (N,), values in [0, C).
        reg: L2 regularisation strength (loss term reg · ΣW²).
        delta: the margin Δ.

    Returns:
        ``(loss, dW)``: the scalar loss and its gradient with respect to W, (D, C).

    Example:
        >>> loss, dW = svm_loss_naive(W, X, y, reg=1e-5)
    """
    W, X, y, reg = _check(W, X, y, reg, "svm_loss_naive")
    delta = finite_float(delta, "svm_loss_naive", "delta")
    N, C = X.shape[0], W.shape[1]
    dW = np.zeros(W.shape, dtype=_dtype(W, X))
    loss = 0.0
    for i in range(N):
        scores = X[i] @ W
        correct = scores[y[i]]
        for j in range(C):
            if j == y[i]:
                continue
            margin = scores[j] - correct + delta
            # NOTE: the subgradient at the kink (margin exactly 0) is taken as 0.
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / N + reg * float(np.sum(W * W))
    dW = dW / N + 2 * reg * W
    return float(loss), dW


def svm_loss_vectorized(W: ArrayLike, X: ArrayLike, y: ArrayLike, reg: float,
                        delta: float = 1.0) -> tuple[float, np.ndarray]:
    """Multiclass SVM loss without loops; same contract as :func:`svm_loss_naive`.

    Example:
        >>> loss, dW = svm_loss_vectorized(W, X, y, reg=1e-5)
    """
    W, X, y, reg = _check(W, X, y, reg, "svm_loss_vectorized")
    delta = finite_float(delta, "svm_loss_vectorized", "delta")
    N = X.shape[0]
    rows = np.arange(N)
    scores = X @ W                                            # (N, C)
    margins = scores - scores[rows, y][:, None] + delta
    margins[rows, y] = 0.0
    positive = margins > 0
    loss = np.where(positive, margins, 0.0).sum() / N + reg * float(np.sum(W * W))
    # ∂L/∂scores: 1 for each positive margin, minus their count at the correct class.
    dscores = positive.astype(scores.dtype)
    dscores[rows, y] = -positive.sum(axis=1)
    dW = X.T @ dscores / N + 2 * reg * W
    return float(loss), dW


def softmax_loss_naive(W: ArrayLike, X: ArrayLike, y: ArrayLike,
                       reg: float) -> tuple[float, np.ndarray]:
    """Softmax (cross-entropy) loss with loops over examples and classes.

    Scores are shifted by their maximum before exponentiating (the result is unchanged and
    nothing overflows).

    Args:
        W: weights, (D, C).
        X: examples, (N, D).
        y: labels, (N,), values in [0, C).
        reg: L2 regularisation strength (loss term reg · ΣW²).

    Returns:
        ``(loss, dW)``: the scalar loss and its gradient with respect to W, (D, C).

    Example:
        >>> loss, dW = softmax_loss_naive(W, X, y, reg=1e-5)
    """
    W, X, y, reg = _check(W, X, y, reg, "softmax_loss_naive")
    N, C = X.shape[0], W.shape[1]
    dW = np.zeros(W.shape, dtype=_dtype(W, X))
    loss = 0.0
    for i in range(N):
        scores = X[i] @ W
        shifted = scores - np.max(scores)
        exp = np.exp(shifted)
        total = np.sum(exp)
        loss += np.log(total) - shifted[y[i]]
        for j in range(C):
            p = exp[j] / total
            dW[:, j] += (p - (j == y[i])) * X[i]
    loss = loss / N + reg * float(np.sum(W * W))
    dW = dW / N + 2 * reg * W
    return float(loss), dW


def softmax_loss_vectorized(W: ArrayLike, X: ArrayLike, y: ArrayLike,
                            reg: float) -> tuple[float, np.ndarray]:
    """Softmax loss without loops, numerically stable; same contract as the naive version.

    Uses log-sum-exp with the row maximum subtracted, so scores of ±1e4 give a finite loss.

    Example:
        >>> loss, dW = softmax_loss_vectorized(W, X, y, reg=1e-5)
    """
    W, X, y, reg = _check(W, X, y, reg, "softmax_loss_vectorized")
    N = X.shape[0]
    rows = np.arange(N)
    scores = X @ W
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1)
    loss = np.sum(np.log(total) - shifted[rows, y]) / N + reg * float(np.sum(W * W))
    dscores = exp / total[:, None]
    dscores[rows, y] -= 1.0
    dW = X.T @ dscores / N + 2 * reg * W
    return float(loss), dW
