"""Count-based character n-gram models: the baselines a recurrent model must beat.

P(c | the previous n-1 characters) = (count(context, c) + k) / (count(context) + k·V),
add-k smoothing with k chosen on a slice of the training text (never the held-out text).
Counts are kept sparse (``numpy.unique`` over integer codes of the n-grams), so a trigram
model over a few hundred characters needs no V³ table.
"""

from __future__ import annotations

import math

import numpy as np


def _codes(ids: np.ndarray, n: int, V: int) -> np.ndarray:
    """The integer code Σ ids[t+j]·V^(n-1-j) of each n-gram (t = 0 .. len-n)."""
    m = len(ids) - n + 1
    code = np.zeros(max(m, 0), dtype=np.int64)
    for j in range(n):  # n is 1..3: a loop over positions in the gram, not over the text
        code = code * V + ids[j:j + m]
    return code


class NGramModel:
    """An add-k smoothed character n-gram model over a vocabulary of V symbols.

    Args:
        n: 1 (unigram), 2 (bigram), 3 (trigram), ...
        vocab_size: V.
        k: the add-k constant (None: chosen by :meth:`fit` on the last 10% of the text).
    """

    K_GRID = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)

    def __init__(self, n: int, vocab_size: int, k: float | None = None):
        if n < 1:
            raise ValueError(f"NGramModel: n must be >= 1, got {n}")
        if vocab_size ** n >= 2 ** 62:
            raise ValueError(f"NGramModel: V^n = {vocab_size}^{n} does not fit int64 codes")
        self.n, self.V, self.k = n, vocab_size, k

    def fit(self, ids: np.ndarray) -> NGramModel:
        ids = np.asarray(ids, dtype=np.int64)
        if self.k is None:
            cut = int(len(ids) * 0.9)
            scores = {k: NGramModel(self.n, self.V, k)._count(ids[:cut]).bits_per_char(
                ids[cut - self.n + 1:]) for k in self.K_GRID}
            self.k = min(scores, key=scores.get)
        return self._count(ids)

    def _count(self, ids: np.ndarray) -> NGramModel:
        self.grams, self.gram_counts = np.unique(_codes(ids, self.n, self.V), return_counts=True)
        if self.n > 1:
            self.contexts, self.context_counts = np.unique(_codes(ids[:-1], self.n - 1, self.V),
                                                           return_counts=True)
        return self

    @staticmethod
    def _lookup(keys, counts, queries):
        pos = np.clip(np.searchsorted(keys, queries), 0, max(len(keys) - 1, 0))
        if not len(keys):
            return np.zeros(len(queries))
        return np.where(keys[pos] == queries, counts[pos], 0).astype(np.float64)

    def log_probs(self, ids: np.ndarray) -> np.ndarray:
        """ln P of each character from position n-1 on (the first n-1 only give context)."""
        ids = np.asarray(ids, dtype=np.int64)
        num = self._lookup(self.grams, self.gram_counts, _codes(ids, self.n, self.V))
        if self.n > 1:
            den = self._lookup(self.contexts, self.context_counts,
                               _codes(ids[:-1], self.n - 1, self.V))
        else:
            den = np.full(len(num), float(self.gram_counts.sum()))
        return np.log(num + self.k) - np.log(den + self.k * self.V)

    def bits_per_char(self, ids: np.ndarray) -> float:
        """Mean −log₂ P over the characters of ``ids`` after the first n-1."""
        lp = self.log_probs(ids)
        return float(-lp.mean() / math.log(2)) if lp.size else float("nan")
