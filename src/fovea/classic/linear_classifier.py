"""Linear classifiers s = xW trained by mini-batch SGD: ``LinearSVM`` and ``Softmax``.

Lecture 2 reads the weights as one template per class (the columns of W, the rows of the
lectures' Wᵀ); :meth:`LinearClassifier.visualize_templates` turns them back into images.
The bias is handled by the "bias trick": append a constant-1 column to X
(:func:`fovea.classic.preprocessing.append_bias`) and W gets one more row.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from fovea.classic._checks import as_labels, as_matrix, finite_float, positive_int
from fovea.classic.linear_losses import softmax_loss_vectorized, svm_loss_vectorized


class LinearClassifier:
    """Base class: a weight matrix W (D, C), SGD training and argmax prediction.

    Subclasses define :meth:`loss`. W is created on the first call to :meth:`train` as
    0.001 · N(0, 1) in float64, drawn from a generator seeded by ``seed``; later calls
    continue from the current W.

    Args:
        seed: seeds the initial weights and the mini-batch sampling.
    """

    def __init__(self, seed: int | None = 0):
        self.W: np.ndarray | None = None
        self.rng = np.random.default_rng(seed)

    def loss(self, X_batch: np.ndarray, y_batch: np.ndarray, reg: float):
        """``(loss, dW)`` on a mini-batch: X_batch (B, D), y_batch (B,)."""
        raise NotImplementedError

    def train(self, X: ArrayLike, y: ArrayLike, learning_rate: float = 1e-3, reg: float = 1e-5,
              num_iters: int = 100, batch_size: int = 200, verbose: bool = False) -> list[float]:
        """Mini-batch stochastic gradient descent: W ← W - learning_rate · dW.

        Each iteration samples ``batch_size`` examples (with replacement) and steps along the
        gradient of the mini-batch loss.

        Args:
            X: training examples, (N, D) (append a ones column for a bias).
            y: labels, (N,), values in [0, C); C is max(y) + 1 on the first call.
            learning_rate: the SGD step size (> 0).
            reg: L2 regularisation strength (≥ 0).
            num_iters: number of SGD steps.
            batch_size: examples per step.
            verbose: print the loss every 100 iterations.

        Returns:
            The mini-batch loss at every iteration (a list of ``num_iters`` floats).
        """
        op = f"{type(self).__name__}.train"
        X = as_matrix(X, op)
        y = as_labels(y, op, n=X.shape[0])
        if X.shape[0] == 0:
            raise ValueError(f"{op}: X is empty (0 training examples)")
        learning_rate = finite_float(learning_rate, op, "learning_rate", 0.0, strictly=True)
        reg = finite_float(reg, op, "reg", minimum=0.0)
        num_iters = positive_int(num_iters, op, "num_iters", minimum=0)
        batch_size = positive_int(batch_size, op, "batch_size")
        if y.min() < 0:
            raise ValueError(f"{op}: y holds a negative label ({y.min()}); labels must be in "
                             f"[0, C)")
        N, D = X.shape
        if self.W is None:
            num_classes = int(y.max()) + 1
            self.W = 0.001 * self.rng.standard_normal((D, num_classes))
        elif self.W.shape[0] != D:
            raise ValueError(f"{op}: X has {D} features but W was trained with "
                             f"{self.W.shape[0]}")
        elif y.max() >= self.W.shape[1]:
            raise ValueError(f"{op}: y holds label {y.max()} but W has {self.W.shape[1]} "
                             f"classes")
        history = []
        for it in range(num_iters):
            idx = self.rng.integers(0, N, size=batch_size)
            # NOTE: overflow is detected below and reported as divergence, not warned about.
            with np.errstate(over="ignore", invalid="ignore"):
                loss, grad = self.loss(X[idx], y[idx], reg)
                W_next = self.W - learning_rate * grad
            if not (np.isfinite(loss) and np.isfinite(W_next).all()):
                raise ValueError(f"{op}: training diverged at iteration {it} (loss {loss}); "
                                 f"lower learning_rate (now {learning_rate:g})")
            history.append(loss)
            self.W = W_next
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:.6f}")
        return history

    def scores(self, X: ArrayLike) -> np.ndarray:
        """Class scores X W, (N, C)."""
        op = f"{type(self).__name__}.scores"
        if self.W is None:
            raise RuntimeError(f"{op}: the classifier has not been trained; call train(X, y)")
        X = as_matrix(X, op, cols=self.W.shape[0])
        return X @ self.W

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The highest-scoring class of each row of X (N, D): int64 (N,)."""
        return self.scores(X).argmax(axis=1)

    def visualize_templates(self, image_shape: tuple[int, ...],
                            per_class: bool = False) -> np.ndarray:
        """The weights of each class as an image (Lecture 2's templates).

        Args:
            image_shape: the (C, H, W) or (H, W) shape of the images the classifier was
                trained on (flattened in that order). If W has one row more than the image
                has pixels, that last row is the bias and is dropped.
            per_class: scale each template to [0, 1] on its own (default: all with the same
                minimum and maximum, so their contrasts compare).

        Returns:
            templates: (num_classes, H, W, C) for a (C, H, W) image shape, or
            (num_classes, H, W) for (H, W), with values in [0, 1], ready for ``imshow``.
        """
        op = f"{type(self).__name__}.visualize_templates"
        if self.W is None:
            raise RuntimeError(f"{op}: the classifier has not been trained; call train(X, y)")
        shape = tuple(int(s) for s in image_shape)
        if len(shape) not in (2, 3) or min(shape) < 1:
            raise ValueError(f"{op}: image_shape must be (C, H, W) or (H, W), got {image_shape}")
        pixels = int(np.prod(shape))
        W = self.W
        if W.shape[0] == pixels + 1:
            W = W[:-1]
        elif W.shape[0] != pixels:
            raise ValueError(f"{op}: W has {self.W.shape[0]} rows, which matches neither "
                             f"image_shape {shape} ({pixels} pixels) nor it plus a bias row")
        t = W.T.reshape((W.shape[1],) + shape)
        if len(shape) == 3:
            t = t.transpose(0, 2, 3, 1)
        axes = tuple(range(1, t.ndim)) if per_class else None
        lo = t.min(axis=axes, keepdims=True)
        hi = t.max(axis=axes, keepdims=True)
        return (t - lo) / np.where(hi > lo, hi - lo, 1.0)


class LinearSVM(LinearClassifier):
    """A linear classifier trained with the multiclass SVM (hinge) loss, margin 1.

    Example:
        >>> svm = LinearSVM(seed=0)
        >>> history = svm.train(X_train, y_train, learning_rate=1e-2, reg=1e-3, num_iters=500)
        >>> accuracy = (svm.predict(X_val) == y_val).mean()
    """

    def loss(self, X_batch, y_batch, reg):
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """A linear classifier trained with the softmax (cross-entropy) loss.

    Example:
        >>> clf = Softmax(seed=0)
        >>> history = clf.train(X_train, y_train, learning_rate=0.5, reg=1e-4, num_iters=500)
        >>> probabilities = clf.predict_proba(X_val)
    """

    def loss(self, X_batch, y_batch, reg):
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities softmax(X W), (N, C); each row sums to 1."""
        s = self.scores(X)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
