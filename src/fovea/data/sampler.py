"""Samplers: the order in which a DataLoader visits a dataset, as ``torch.utils.data.sampler``.

A sampler is an iterable of dataset indices (a :class:`BatchSampler` yields lists of them).
Random samplers draw from ``generator`` (a ``fovea.Generator`` / ``numpy.random.Generator``),
whose state advances from epoch to epoch; with ``generator=None`` each pass draws one seed
from fovea's default generator (``fovea.manual_seed`` makes the passes repeat), as PyTorch
draws from its global generator.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from fovea.data._random import as_rng, draw_seed

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


def _pass_rng(generator, op: str) -> np.random.Generator:
    """The generator of one pass: ``generator`` itself, or a fresh one seeded from fovea's."""
    if generator is None:
        return np.random.default_rng(draw_seed(None, op))
    return as_rng(generator, op)


def _check_bool(value, what: str, exc=ValueError) -> bool:
    if not isinstance(value, bool):
        raise exc(f"{what} should be a boolean value, but got {what}={value}")
    return value


def _check_positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{what} should be a positive integer value, but got "
                         f"{what}={value}")
    return int(value)


class Sampler:
    """Base class: an iterable over indices (``__iter__``), usually with ``__len__``."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random order: a permutation (repeated as needed to reach ``num_samples``), or with
    ``replacement=True`` ``num_samples`` independent uniform draws.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement.
        num_samples: indices per pass (default: ``len(data_source)``).
        generator: where the randomness comes from (None: fovea's default, one seed per pass).
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None):
        self.data_source = data_source
        self.replacement = _check_bool(replacement, "replacement", TypeError)
        self._num_samples = num_samples
        self.generator = generator
        _check_positive_int(self.num_samples, "num_samples")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def indices(self, rng: np.random.Generator) -> np.ndarray:
        """The indices of one pass drawn from ``rng``: int64 (num_samples,)."""
        n, k = len(self.data_source), self.num_samples
        if self.replacement:
            return rng.integers(0, n, size=k, dtype=np.int64)
        perms = [rng.permutation(n) for _ in range(-(-k // n))] if n else []
        return np.concatenate(perms)[:k].astype(np.int64) if perms else np.zeros(0, np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices(_pass_rng(self.generator, "RandomSampler")).tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a fresh permutation each pass)."""

    def __init__(self, indices: Sequence[int], generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rng = _pass_rng(self.generator, "SubsetRandomSampler")
        for k in rng.permutation(len(self.indices)).tolist():
            yield self.indices[k]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in [0, len(weights)) drawn with probability ∝ ``weights``.

    Args:
        weights: non-negative 1-D sequence (need not sum to 1).
        num_samples: how many indices per pass.
        replacement: with replacement (default); without, each index at most once.
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        _check_positive_int(num_samples, "num_samples")
        _check_bool(replacement, "replacement")
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights,
                       dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        if np.any(w < 0) or not np.all(np.isfinite(w)) or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and "
                             "have a positive sum")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples "
                             f"without replacement from {np.count_nonzero(w)} non-zero weights")
        self.weights, self.num_samples, self.replacement = w, int(num_samples), replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rng = _pass_rng(self.generator, "WeightedRandomSampler")
        p = self.weights / self.weights.sum()
        idx = rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return iter(idx.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``)."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool):
        self.batch_size = _check_positive_int(batch_size, "batch_size")
        self.drop_last = _check_bool(drop_last, "drop_last")
        self.sampler = sampler

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
