"""A two-layer fully connected network with hand-written backpropagation (Lecture 4).

The architecture is affine – ReLU – affine – softmax::

    X (N, D) ──W1,b1──▶ a (N, H) ──ReLU──▶ h (N, H) ──W2,b2──▶ s (N, C) ──softmax──▶ loss

and the backward pass is the chain rule written out by hand, stage by stage in reverse:

    ds  = (softmax(s) - onehot(y)) / N
    dW2 = hᵀ ds + 2·reg·W2        db2 = Σ_n ds
    dh  = ds W2ᵀ                   da  = dh ⊙ 1[a > 0]
    dW1 = Xᵀ da + 2·reg·W1        db1 = Σ_n da

The tests check these gradients against finite differences and against fovea's autograd
engine on the same weights.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from fovea.classic._checks import as_labels, as_matrix, finite_float, positive_int


class TwoLayerNet:
    """affine – ReLU – affine – softmax, parameters in ``self.params``.

    Weights start as ``std`` · N(0, 1) and biases at zero, drawn from a generator seeded by
    ``seed`` (which then also samples the training mini-batches).

    Args:
        input_size: D, the dimension of the input rows.
        hidden_size: H, the number of hidden units.
        output_size: C, the number of classes.
        std: scale of the initial weights.
        seed: seeds initialisation and mini-batch sampling.

    Attributes:
        params: ``{"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}``, float64.

    Example:
        >>> net = TwoLayerNet(64, 100, 10, std=1e-1, seed=0)
        >>> stats = net.train(X_train, y_train, X_val, y_val, learning_rate=0.2, reg=1e-4,
        ...                   num_iters=2000)
        >>> accuracy = (net.predict(X_test) == y_test).mean()
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, std: float = 1e-4,
                 seed: int | None = 0):
        D = positive_int(input_size, "TwoLayerNet", "input_size")
        H = positive_int(hidden_size, "TwoLayerNet", "hidden_size")
        C = positive_int(output_size, "TwoLayerNet", "output_size")
        std = finite_float(std, "TwoLayerNet", "std", minimum=0.0)
        self.rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {
            "W1": std * self.rng.standard_normal((D, H)),
            "b1": np.zeros(H),
            "W2": std * self.rng.standard_normal((H, C)),
            "b2": np.zeros(C),
        }

    # ------------------------------------------------------------- loss and grads
    def loss(self, X: ArrayLike, y: ArrayLike | None = None, reg: float = 0.0):
        """Scores, or the loss and its gradients.

        Args:
            X: inputs, (N, D).
            y: labels, (N,), values in [0, C); None to get the scores only.
            reg: L2 regularisation strength; the loss adds reg · (ΣW1² + ΣW2²).

        Returns:
            With ``y`` None: scores, (N, C). Otherwise ``(loss, grads)`` where ``grads`` has
            the keys and shapes of ``self.params``.
        """
        D, C = self.params["W1"].shape[0], self.params["W2"].shape[1]
        X = as_matrix(X, "TwoLayerNet.loss", cols=D)
        if y is None:
            return self._forward(X)[0]
        y = as_labels(y, "TwoLayerNet.loss", n=X.shape[0], num_classes=C)
        if X.shape[0] == 0:
            raise ValueError("TwoLayerNet.loss: X is empty (0 examples); the mean loss is "
                             "undefined")
        reg = finite_float(reg, "TwoLayerNet.loss", "reg", minimum=0.0)
        return self._loss_and_grads(X, y, reg)

    def _forward(self, X: np.ndarray):
        p = self.params
        a = X @ p["W1"] + p["b1"]              # (N, H) hidden pre-activations
        h = np.maximum(a, 0.0)                 # (N, H) ReLU
        scores = h @ p["W2"] + p["b2"]         # (N, C)
        return scores, a, h

    def _loss_and_grads(self, X: np.ndarray, y: np.ndarray, reg: float):
        p = self.params
        N = X.shape[0]
        rows = np.arange(N)
        scores, a, h = self._forward(X)
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1)
        data_loss = np.sum(np.log(total) - shifted[rows, y]) / N
        reg_loss = reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        # Backward, stage by stage in reverse.
        dscores = exp / total[:, None]
        dscores[rows, y] -= 1.0
        dscores /= N
        grads = {
            "W2": h.T @ dscores + 2 * reg * p["W2"],
            "b2": dscores.sum(axis=0),
        }
        dh = dscores @ p["W2"].T
        da = dh * (a > 0)                      # NOTE: ReLU's subgradient at 0 is taken as 0
        grads["W1"] = X.T @ da + 2 * reg * p["W1"]
        grads["b1"] = da.sum(axis=0)
        return float(data_loss + reg_loss), grads

    # ------------------------------------------------------------------ training
    def train(self, X: ArrayLike, y: ArrayLike, X_val: ArrayLike | None = None,
              y_val: ArrayLike | None = None, learning_rate: float = 1e-3,
              learning_rate_decay: float = 0.95, reg: float = 5e-6, num_iters: int = 100,
              batch_size: int = 200, verbose: bool = False) -> dict[str, list[float]]:
        """Stochastic gradient descent on mini-batches.

        Each iteration samples ``batch_size`` training examples (with replacement) and steps
        every parameter along its gradient. Once per epoch (max(N // batch_size, 1)
        iterations) the accuracies are recorded and the learning rate is multiplied by
        ``learning_rate_decay``.

        Args:
            X: training inputs, (N, D).
            y: training labels, (N,).
            X_val: validation inputs, (N_val, D), or None.
            y_val: validation labels, (N_val,), or None.
            learning_rate: the initial SGD step size (> 0).
            learning_rate_decay: factor applied to the step size after each epoch, in (0, 1].
            reg: L2 regularisation strength (≥ 0).
            num_iters: number of SGD steps.
            batch_size: examples per step.
            verbose: print the loss every 100 iterations.

        Returns:
            ``{"loss_history": [...] (one per iteration), "train_acc_history": [...],
            "val_acc_history": [...], "learning_rate_history": [...]}`` (one per epoch;
            the training accuracy is measured on a fixed sample of up to 1,000 training
            examples, the validation list is empty without validation data).
        """
        op = "TwoLayerNet.train"
        D, C = self.params["W1"].shape[0], self.params["W2"].shape[1]
        X = as_matrix(X, op, cols=D)
        y = as_labels(y, op, n=X.shape[0], num_classes=C)
        if X.shape[0] == 0:
            raise ValueError(f"{op}: X is empty (0 training examples)")
        if (X_val is None) != (y_val is None):
            raise ValueError(f"{op}: pass both X_val and y_val, or neither")
        if X_val is not None:
            X_val = as_matrix(X_val, op, name="X_val", cols=D)
            y_val = as_labels(y_val, op, n=X_val.shape[0], name="y_val", num_classes=C)
        lr = finite_float(learning_rate, op, "learning_rate", 0.0, strictly=True)
        decay = finite_float(learning_rate_decay, op, "learning_rate_decay", 0.0, strictly=True)
        if decay > 1:
            raise ValueError(f"{op}: learning_rate_decay must be in (0, 1], got {decay}")
        reg = finite_float(reg, op, "reg", minimum=0.0)
        num_iters = positive_int(num_iters, op, "num_iters", minimum=0)
        batch_size = positive_int(batch_size, op, "batch_size")

        N = X.shape[0]
        iterations_per_epoch = max(N // batch_size, 1)
        probe = self.rng.choice(N, size=min(N, 1000), replace=False)
        stats: dict[str, list[float]] = {"loss_history": [], "train_acc_history": [],
                                         "val_acc_history": [], "learning_rate_history": []}
        for it in range(num_iters):
            idx = self.rng.integers(0, N, size=batch_size)
            # NOTE: overflow is detected below and reported as divergence, not warned about.
            with np.errstate(over="ignore", invalid="ignore"):
                loss, grads = self._loss_and_grads(X[idx], y[idx], reg)
                updated = {name: self.params[name] - lr * g for name, g in grads.items()}
            if not (np.isfinite(loss) and all(np.isfinite(p).all() for p in updated.values())):
                raise ValueError(f"{op}: training diverged at iteration {it} (loss {loss}); "
                                 f"lower learning_rate (now {lr:g})")
            self.params.update(updated)
            stats["loss_history"].append(loss)
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:.6f}")
            if (it + 1) % iterations_per_epoch == 0:
                stats["train_acc_history"].append(self._accuracy(X[probe], y[probe]))
                if X_val is not None:
                    stats["val_acc_history"].append(self._accuracy(X_val, y_val))
                stats["learning_rate_history"].append(lr)
                lr *= decay
        return stats

    def _accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self._forward(X)[0].argmax(axis=1) == y))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The highest-scoring class of each row of X (N, D): int64 (N,)."""
        return self.loss(X).argmax(axis=1)
