"""k-nearest-neighbour classification (Lecture 2) with the three distance routines it contrasts.

Training memorises the data; prediction finds, for every test row, the ``k`` training rows
closest to it under the L2 (Euclidean) or L1 (Manhattan) distance and takes a majority vote
of their labels. The three ways of computing the (N_test, N_train) distance matrix are kept
side by side because the lecture is about their difference in speed::

    two loops   d[i, j] = ||x_i - t_j||          one Python step per pair
    one loop    d[i, :] = ||x_i - T||            one Python step per test row
    no loops    d² = |x|² + |t|² - 2 x·tᵀ        one matrix product (per batch of rows)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from fovea.classic._checks import as_labels, as_matrix, positive_int

METRICS = ("l2", "l1")
# Temporary memory one batch of the no-loop routines may use (bytes).
DEFAULT_BATCH_BYTES = 64 * 2**20


def _float_dtype(*arrays: np.ndarray) -> np.dtype:
    """The common floating dtype of ``arrays``, at least float32."""
    return np.result_type(np.float32, *(a.dtype for a in arrays))


class KNearestNeighbor:
    """A k-nearest-neighbour classifier.

    Args:
        k: the default number of neighbours that vote (``predict``'s ``k`` overrides it).
        metric: the default distance, ``"l2"`` or ``"l1"``.
        batch_bytes: the temporary memory (bytes) that one batch of the no-loop routines may
            use; test rows are processed in batches so that, for example, 10,000 × 50,000
            distances never need more than this beyond the result itself.

    Example:
        >>> knn = KNearestNeighbor().train(X_train, y_train)
        >>> y_pred = knn.predict(X_test, k=5, metric="l2")
    """

    def __init__(self, k: int = 1, metric: str = "l2", batch_bytes: int = DEFAULT_BATCH_BYTES):
        self.k = positive_int(k, "KNearestNeighbor", "k")
        self.metric = self._check_metric(metric)
        self.batch_bytes = positive_int(batch_bytes, "KNearestNeighbor", "batch_bytes")
        self.X_train: np.ndarray | None = None
        self.y_train: np.ndarray | None = None

    # ------------------------------------------------------------------ training
    def train(self, X: ArrayLike, y: ArrayLike) -> KNearestNeighbor:
        """Memorise the training data.

        Args:
            X: training examples, (N_train, D), finite.
            y: integer labels, (N_train,).

        Returns:
            ``self``. The model keeps a reference to ``X``: don't modify it afterwards.
        """
        X = as_matrix(X, "KNearestNeighbor.train")
        y = as_labels(y, "KNearestNeighbor.train", n=X.shape[0])
        if X.shape[0] == 0:
            raise ValueError("KNearestNeighbor.train: X is empty (0 training examples)")
        if X.dtype.itemsize < 4:
            X = X.astype(np.float32)
        self.X_train = np.ascontiguousarray(X)
        self.y_train = y
        # Votes are counted over label indices 0..C-1; classes_ is sorted, so the smallest
        # index of a tie is the smallest label.
        self.classes_, self._y_index = np.unique(y, return_inverse=True)
        self._converted: dict[np.dtype, tuple[np.ndarray, np.ndarray]] = {}
        self._train_as(self.X_train.dtype)
        return self

    fit = train

    # ---------------------------------------------------------------- prediction
    def predict(self, X: ArrayLike, k: int | None = None, metric: str | None = None,
                num_loops: int = 0) -> np.ndarray:
        """Predict labels by a majority vote of the ``k`` nearest training examples.

        Ties between labels go to the smallest label. Among training examples at exactly
        the same distance from a test row, which ones count as the k nearest is unspecified.

        Args:
            X: test examples, (N_test, D).
            k: number of neighbours (default: the constructor's, 1); at most N_train.
            metric: ``"l2"`` or ``"l1"`` (default: the constructor's, ``"l2"``).
            num_loops: 0 (batched, fast: the full distance matrix is never formed), 1 or 2
                (compute the full matrix with the one- or two-loop routine first).

        Returns:
            Predicted labels, int64 (N_test,).
        """
        Xt = self._check_test(X, "KNearestNeighbor.predict")
        k = self._check_k(self.k if k is None else k, "KNearestNeighbor.predict")
        metric = self._check_metric(self.metric if metric is None else metric)
        if num_loops == 0:
            out = np.empty(Xt.shape[0], dtype=np.int64)
            for start, stop in self._batches(Xt, metric):
                # NOTE: ranking within a row only needs |t|² - 2 x·t (|x|² is constant along
                # the row, and sqrt is monotone), which saves two passes over the block.
                d = self._block(Xt[start:stop], metric, exact=False)
                out[start:stop] = self._vote(self._nearest(d, k))
            return out
        if num_loops == 1:
            return self.predict_labels(self.compute_distances_one_loop(Xt, metric), k)
        if num_loops == 2:
            return self.predict_labels(self.compute_distances_two_loops(Xt, metric), k)
        raise ValueError(f"KNearestNeighbor.predict: num_loops must be 0, 1 or 2, got "
                         f"{num_loops!r}")

    def predict_labels(self, dists: ArrayLike, k: int | None = None) -> np.ndarray:
        """Majority vote over a precomputed distance matrix.

        Args:
            dists: (N_test, N_train) distances from each test row to each training row.
            k: number of neighbours (default: the constructor's).

        Returns:
            Predicted labels, int64 (N_test,); ties go to the smallest label.
        """
        self._require_trained("KNearestNeighbor.predict_labels")
        d = np.asarray(dists)
        if d.ndim != 2 or d.shape[1] != self.X_train.shape[0]:
            raise ValueError(f"KNearestNeighbor.predict_labels: dists must have shape "
                             f"(N_test, {self.X_train.shape[0]}), got {d.shape}")
        if d.dtype.kind not in "fiu" or (d.dtype.kind == "f" and np.isnan(d).any()):
            raise ValueError("KNearestNeighbor.predict_labels: dists must be real and not NaN")
        k = self._check_k(self.k if k is None else k, "KNearestNeighbor.predict_labels")
        return self._vote(self._nearest(d, k))

    # ----------------------------------------------------------------- distances
    def compute_distances_two_loops(self, X: ArrayLike, metric: str | None = None) -> np.ndarray:
        """Distances with a Python loop over test rows and one over training rows.

        The slow, obviously-correct reference: one subtraction of two D-vectors per pair.

        Args:
            X: test examples, (N_test, D).
            metric: ``"l2"`` or ``"l1"``.

        Returns:
            dists: (N_test, N_train), ``dists[i, j]`` = distance(X[i], X_train[j]).
        """
        Xt = self._check_test(X, "KNearestNeighbor.compute_distances_two_loops")
        metric = self._check_metric(self.metric if metric is None else metric)
        T = self.X_train
        dists = np.empty((Xt.shape[0], T.shape[0]), dtype=_float_dtype(Xt, T))
        for i in range(Xt.shape[0]):
            for j in range(T.shape[0]):
                diff = Xt[i] - T[j]
                if metric == "l2":
                    dists[i, j] = np.sqrt(np.dot(diff, diff))
                else:
                    dists[i, j] = np.abs(diff).sum()
        return dists

    def compute_distances_one_loop(self, X: ArrayLike, metric: str | None = None) -> np.ndarray:
        """Distances with one Python loop over test rows, broadcasting over training rows.

        Args:
            X: test examples, (N_test, D).
            metric: ``"l2"`` or ``"l1"``.

        Returns:
            dists: (N_test, N_train).
        """
        Xt = self._check_test(X, "KNearestNeighbor.compute_distances_one_loop")
        metric = self._check_metric(self.metric if metric is None else metric)
        T = self.X_train
        dists = np.empty((Xt.shape[0], T.shape[0]), dtype=_float_dtype(Xt, T))
        for i in range(Xt.shape[0]):
            diff = T - Xt[i]
            if metric == "l2":
                dists[i] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            else:
                dists[i] = np.abs(diff).sum(axis=1)
        return dists

    def compute_distances_no_loops(self, X: ArrayLike, metric: str | None = None,
                                   batch_size: int | None = None) -> np.ndarray:
        """Distances without a loop over examples.

        L2 expands the square, ||x - t||² = |x|² + |t|² - 2 x·t, so that one matrix product
        does the work; it runs over batches of ``batch_size`` test rows written straight into
        the result, so the temporary memory stays bounded (the result itself is
        N_test × N_train). Rounding can make the expansion slightly negative for near-equal
        rows: it is clamped at 0 before the square root. L1 has no such expansion and
        broadcasts (batch, N_train, D) differences, batch by batch.

        Args:
            X: test examples, (N_test, D).
            metric: ``"l2"`` or ``"l1"``.
            batch_size: test rows per batch (default: as many as ``batch_bytes`` allows).

        Returns:
            dists: (N_test, N_train), in the common floating dtype of X and X_train (float32
            input is computed in float32).
        """
        op = "KNearestNeighbor.compute_distances_no_loops"
        Xt = self._check_test(X, op)
        metric = self._check_metric(self.metric if metric is None else metric)
        if batch_size is not None:
            batch_size = positive_int(batch_size, op, "batch_size")
        dtype = _float_dtype(Xt, self.X_train)
        dists = np.empty((Xt.shape[0], self.X_train.shape[0]), dtype=dtype)
        for start, stop in self._batches(Xt, metric, batch_size):
            self._block(Xt[start:stop], metric, exact=True, out=dists[start:stop])
        return dists

    # ------------------------------------------------------------------- helpers
    def _block(self, Xb: np.ndarray, metric: str, exact: bool,
               out: np.ndarray | None = None) -> np.ndarray:
        """Distances from a batch of test rows to all training rows, (b, N_train).

        With ``exact=False`` (L2 only) returns |t|² - 2 x·t, which ranks like the distance.
        """
        dtype = _float_dtype(Xb, self.X_train)
        Xb = Xb.astype(dtype, copy=False)
        T, t_sq = self._train_as(dtype)
        if out is None:
            out = np.empty((Xb.shape[0], T.shape[0]), dtype=dtype)
        if metric == "l1":
            np.abs(Xb[:, None, :] - T[None, :, :]).sum(axis=2, out=out)
            return out
        np.matmul(Xb, T.T, out=out)
        out *= -2
        out += t_sq[None, :]
        if exact:
            out += np.einsum("ij,ij->i", Xb, Xb)[:, None]
            np.maximum(out, 0, out=out)
            np.sqrt(out, out=out)
        return out

    def _train_as(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """X_train in ``dtype`` and its squared row norms, computed once per dtype (float32
        training data meeting float64 test data is converted once, not once per batch)."""
        if dtype not in self._converted:
            T = self.X_train.astype(dtype, copy=False)
            self._converted[dtype] = (T, np.einsum("ij,ij->i", T, T))
        return self._converted[dtype]

    def _batches(self, Xt: np.ndarray, metric: str, batch_size: int | None = None):
        """(start, stop) ranges of test rows whose temporaries fit in ``batch_bytes``."""
        n_train, dim = self.X_train.shape
        if batch_size is None:
            per_row = n_train * _float_dtype(Xt, self.X_train).itemsize
            if metric == "l1":
                per_row *= max(dim, 1)
            batch_size = max(1, self.batch_bytes // max(per_row, 1))
        for start in range(0, Xt.shape[0], batch_size):
            yield start, min(start + batch_size, Xt.shape[0])

    @staticmethod
    def _nearest(d: np.ndarray, k: int) -> np.ndarray:
        """Indices (b, k) of the k smallest entries of each row of ``d``."""
        if k == 1:
            return d.argmin(axis=1)[:, None]
        if k == d.shape[1]:
            return np.broadcast_to(np.arange(k), (d.shape[0], k))
        return np.argpartition(d, k - 1, axis=1)[:, :k]

    def _vote(self, nearest: np.ndarray) -> np.ndarray:
        """Majority label of each row of training indices (b, k); ties to the smallest label."""
        labels = self._y_index[nearest]
        b, C = labels.shape[0], len(self.classes_)
        flat = labels + C * np.arange(b)[:, None]
        counts = np.bincount(flat.ravel(), minlength=b * C).reshape(b, C)
        return self.classes_[counts.argmax(axis=1)]  # NOTE: argmax picks the first maximum

    def _require_trained(self, op: str) -> None:
        if self.X_train is None:
            raise RuntimeError(f"{op}: the classifier has not been trained; call train(X, y)")

    def _check_test(self, X, op: str) -> np.ndarray:
        self._require_trained(op)
        Xt = as_matrix(X, op, cols=self.X_train.shape[1])
        return Xt.astype(np.float32) if Xt.dtype.itemsize < 4 else Xt

    def _check_k(self, k, op: str) -> int:
        k = positive_int(k, op, "k")
        n = self.X_train.shape[0]
        if k > n:
            raise ValueError(f"{op}: k={k} is larger than the training set ({n} examples)")
        return k

    @staticmethod
    def _check_metric(metric) -> str:
        if metric not in METRICS:
            raise ValueError(f"KNearestNeighbor: unknown metric {metric!r}; choose from "
                             f"{list(METRICS)}")
        return metric
