"""Datasets: indexable collections of examples, with a vectorised batch path.

The protocol is PyTorch's (``len(ds)``, ``ds[i]``) plus one method that makes loading fast:

``get_batch(indices, rng) -> tuple of arrays``
    Gather the examples at ``indices`` (int64 (B,)) as stacked NumPy arrays, applying the
    dataset's transform with the generator ``rng``. :class:`ArrayDataset` and
    :class:`TensorDataset` do this with one fancy index per array (no Python loop over
    examples); the base class falls back to ``ds[i]`` per example and stacks, so any
    subclass that only defines ``__getitem__`` still works with the
    :class:`~fovea.data.DataLoader`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

from fovea.tensor import Tensor

Transform = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _as_array(data, what: str) -> np.ndarray:
    if isinstance(data, Tensor):
        return data.detach().numpy()
    if isinstance(data, np.ndarray):
        return data
    raise TypeError(f"{what}: expected a numpy.ndarray or fovea.Tensor, got "
                    f"{type(data).__name__}")


def _check_indices(indices, n: int, what: str) -> np.ndarray:
    idx = np.asarray(indices)
    if idx.ndim != 1 or not (idx.dtype.kind in "iu" or idx.size == 0):
        raise TypeError(f"{what}: indices must be a 1-D integer array, got dtype {idx.dtype} "
                        f"and shape {idx.shape}")
    idx = idx.astype(np.int64, copy=False)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{what}: index out of range for a dataset of length {n} "
                         f"(got min {idx.min()}, max {idx.max()})")
    return idx


class Dataset:
    """Base class: define ``__len__`` and ``__getitem__``; override ``get_batch`` for speed."""

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])

    def get_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> tuple:
        """The examples at ``indices`` stacked field by field.

        The default loops over ``self[i]`` (slow; fine for small or lazily decoded data) and
        ignores ``rng``. Each example must be a tuple of arrays/numbers (or one array).

        Args:
            indices: int (B,) positions in this dataset.
            rng: generator for random transforms (unused here).

        Returns:
            A tuple of arrays with leading dimension B.
        """
        idx = _check_indices(indices, len(self), f"{type(self).__name__}.get_batch")
        items = [self[int(i)] for i in idx]
        if not items:
            raise ValueError(f"{type(self).__name__}.get_batch: empty index list")
        if not isinstance(items[0], tuple):
            return (np.stack([_as_field(it) for it in items]),)
        return tuple(np.stack([_as_field(it[k]) for it in items]) for k in range(len(items[0])))


def _as_field(value):
    if isinstance(value, Tensor):
        return value.detach().numpy()
    return np.asarray(value)


class TensorDataset(Dataset):
    """Arrays (or fovea Tensors) that share their first dimension; ``ds[i]`` is a tuple.

    Like ``torch.utils.data.TensorDataset``: dtypes are kept as given, no transform is
    applied, and ``ds[i]`` is a tuple of Tensors (``tensors[k][i]``). The data are stored as
    their (detached) arrays without copying (``arrays``; ``tensors`` views them as Tensors).

    Args:
        *arrays: arrays of shape (N, ...), at least one.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: expected at least one array")
        self.arrays = tuple(_as_array(a, "TensorDataset") for a in arrays)
        n = len(self.arrays[0]) if self.arrays[0].ndim else -1
        for k, a in enumerate(self.arrays):
            if a.ndim == 0 or len(a) != n:
                shapes = [x.shape for x in self.arrays]
                raise ValueError(f"TensorDataset: all arrays need the same first dimension, "
                                 f"got shapes {shapes} (array {k} differs)")

    def __len__(self) -> int:
        return len(self.arrays[0])

    @property
    def tensors(self) -> tuple:
        """The stored arrays as fovea Tensors (sharing memory)."""
        from fovea.creation import from_numpy

        return tuple(from_numpy(a) for a in self.arrays)

    def __getitem__(self, index: int) -> tuple:
        from fovea.creation import from_numpy

        return tuple(from_numpy(np.asarray(a[index])) for a in self.arrays)

    def get_batch(self, indices, rng=None) -> tuple:
        """One fancy index per array: ``tuple(a[indices] for a in arrays)``."""
        idx = _check_indices(indices, len(self), "TensorDataset.get_batch")
        return tuple(a[idx] for a in self.arrays)


class ArrayDataset(Dataset):
    """In-memory images and labels with an optional batch transform.

    Images are stored once, as float32 or uint8 (uint8 is kept to save memory and scaled to
    [0, 1] float32 per batch). ``get_batch`` gathers with one fancy index and applies the
    transform to the whole batch; ``ds[i]`` returns the stored example (as float32, without
    the transform, since a random transform needs the loader's generator).

    Args:
        images: (N, C, H, W) float or uint8 array (or fovea Tensor).
        labels: (N,) integer class indices.
        transform: ``transform(x, rng) -> x`` on float32 (B, C, H, W) batches, e.g. a
            :class:`~fovea.data.transforms.Compose`; None for no transform.
    """

    def __init__(self, images, labels, transform: Transform | None = None):
        images = _as_array(images, "ArrayDataset images")
        labels = _as_array(labels, "ArrayDataset labels")
        if images.ndim != 4:
            raise ValueError(f"ArrayDataset: images must have shape (N, C, H, W), got shape "
                             f"{images.shape}")
        if images.dtype != np.uint8 and images.dtype.kind != "f":
            raise TypeError(f"ArrayDataset: images must be floating or uint8, got "
                            f"{images.dtype}")
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise TypeError(f"ArrayDataset: labels must be a 1-D integer array, got dtype "
                            f"{labels.dtype} and shape {labels.shape}")
        if len(labels) != len(images):
            raise ValueError(f"ArrayDataset: {len(images)} images but {len(labels)} labels")
        if transform is not None and not callable(transform):
            raise TypeError(f"ArrayDataset: transform must be callable, got "
                            f"{type(transform).__name__}")
        if images.dtype != np.uint8:
            images = images.astype(np.float32, copy=False)
        self.images = images
        self.labels = labels.astype(np.int64, copy=False)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.int64]:
        return _to_float(self.images[index]), self.labels[index]

    def get_batch(self, indices, rng: np.random.Generator | None = None):
        """``(x, y)``: float32 (B, C, H, W) after the transform, int64 (B,)."""
        idx = _check_indices(indices, len(self), "ArrayDataset.get_batch")
        x = _to_float(self.images[idx])
        if self.transform is not None:
            x = self.transform(x, rng)
        return x, self.labels[idx]


def _to_float(images: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        out = images.astype(np.float32)
        out /= np.float32(255.0)
        return out
    return images


class Subset(Dataset):
    """The examples of ``dataset`` at ``indices`` (a view; nothing is copied).

    Args:
        dataset: the underlying dataset.
        indices: int (M,) positions in ``dataset``.
    """

    def __init__(self, dataset: Dataset, indices):
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"Subset: dataset must support len() and indexing, got "
                            f"{type(dataset).__name__}")
        self.dataset = dataset
        self.indices = _check_indices(indices, len(dataset), "Subset")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices, rng=None) -> tuple:
        idx = _check_indices(indices, len(self), "Subset.get_batch")
        return get_batch(self.dataset, self.indices[idx], rng)


def get_batch(dataset, indices: np.ndarray, rng: np.random.Generator | None) -> tuple:
    """``dataset.get_batch(indices, rng)`` if defined, else per-example ``dataset[i]``."""
    fn = getattr(dataset, "get_batch", None)
    if fn is not None:
        out = fn(indices, rng)
        return out if isinstance(out, tuple) else (out,)
    return Dataset.get_batch(dataset, indices, rng)


def random_split(dataset: Dataset, lengths: Sequence[int | float], generator=None, *,
                 seed: int | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets (``torch.utils.data.random_split``).

    Args:
        dataset: the dataset to split.
        lengths: subset sizes summing to ``len(dataset)``, or fractions summing to 1 (the
            remainder after flooring goes round-robin to the first subsets, as in PyTorch).
        generator: draws the permutation (a ``fovea.Generator`` / ``numpy.random.Generator``;
            None: fovea's default generator, which ``fovea.manual_seed`` fixes).
        seed: instead of ``generator``, the permutation of ``numpy.random.default_rng(seed)``.

    Returns:
        One :class:`Subset` per entry of ``lengths``.
    """
    from fovea.data._random import as_rng

    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    if all(isinstance(v, numbers.Integral) for v in lengths):
        sizes = [int(v) for v in lengths]
        if any(v < 0 for v in sizes) or sum(sizes) != n:
            raise ValueError(f"random_split: sum of input lengths {sizes} does not equal the "
                             f"length of the input dataset ({n})")
    else:
        fracs = [float(v) for v in lengths]
        if any(not 0 <= f <= 1 for f in fracs) or not math.isclose(sum(fracs), 1.0,
                                                                   abs_tol=1e-9):
            raise ValueError(f"random_split: fractions {fracs} must be in [0, 1] and sum to 1")
        sizes = [int(math.floor(n * f)) for f in fracs]
        for k in range(n - sum(sizes)):
            sizes[k % len(sizes)] += 1
    if seed is not None:
        if generator is not None:
            raise ValueError("random_split: pass either generator= or seed=, not both")
        if not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"random_split: seed must be a non-negative integer, got {seed!r}")
        rng = np.random.default_rng(int(seed))
    else:
        rng = as_rng(generator, "random_split")
    perm = rng.permutation(n)
    bounds = np.cumsum([0] + sizes)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def has_batch_path(dataset) -> bool:
    """Whether ``dataset`` gathers whole batches itself (a ``get_batch`` of its own, not the
    per-example loop of :class:`Dataset`): then the DataLoader uses it instead of collating."""
    fn = getattr(type(dataset), "get_batch", None)
    if fn is None or fn is Dataset.get_batch:
        return False
    if isinstance(dataset, Subset):
        return has_batch_path(dataset.dataset)
    return True


class IterableDataset(Dataset):
    """A stream of examples: define ``__iter__`` (``__len__`` is optional).

    With ``num_workers > 0`` every worker iterates its own copy; use
    :func:`~fovea.utils.data.get_worker_info` in ``__iter__`` to split the stream between them,
    or every example comes once per worker (as in PyTorch).
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self) -> int:
        raise TypeError(f"object of type '{type(self).__name__}' has no len()")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate it, do not "
                        f"index it")

    def __add__(self, other: IterableDataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class ConcatDataset(Dataset):
    """Map-style datasets one after another: index i falls in the first dataset whose
    cumulative size exceeds it.

    Args:
        datasets: datasets with ``len`` and indexing (no IterableDataset).
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("ConcatDataset: absolute value of index should not exceed "
                                 "dataset length")
            idx = n + idx
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for length {n}")
        k = int(np.searchsorted(self.cumulative_sizes, idx, side="right"))
        start = self.cumulative_sizes[k - 1] if k > 0 else 0
        return self.datasets[k][idx - start]


class StackDataset(Dataset):
    """Datasets of equal length side by side: ``StackDataset(a, b)[i] == (a[i], b[i])``,
    ``StackDataset(img=a, label=b)[i] == {"img": a[i], "label": b[i]}``."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: supported either tuple-like (positional) or "
                             "dict-like (keyword) input, but both types are given")
        datasets = args or tuple(kwargs.values())
        if not datasets:
            raise ValueError("StackDataset: at least one dataset should be passed")
        self._length = len(datasets[0])
        if any(len(d) != self._length for d in datasets):
            raise ValueError("StackDataset: size mismatch between datasets")
        self.datasets = kwargs if kwargs else tuple(args)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)
