"""DataLoader: seeded, resumable mini-batches with background prefetch.

Randomness. Everything random is derived from ``seed`` with ``numpy.random.SeedSequence``
spawn keys, never from global state or from the order in which threads run:

- the shuffle of epoch ``e`` uses ``SeedSequence(seed, spawn_key=(0, e))``;
- the transform of batch ``b`` of epoch ``e`` uses ``SeedSequence(seed, spawn_key=(1, e, b))``.

So batch ``b`` of epoch ``e`` is a pure function of ``(seed, e, b)``: prefetching threads
give the same batches as ``num_workers=0``, and a run resumed at any epoch, or at any batch
inside an epoch, sees exactly the batches an uninterrupted run sees.

Epochs. ``loader.epoch`` is the epoch the next ``iter(loader)`` runs; a completed pass
advances it by one, and ``set_epoch(e)`` sets it (as with PyTorch's ``DistributedSampler``).
``state_dict()`` records ``{"seed", "epoch", "batch"}`` where ``batch`` counts the batches
of the current epoch already handed out; after ``load_state_dict`` the next iteration
continues the epoch from that batch.

Speed. Each batch is gathered by ``dataset.get_batch(indices, rng)`` (one fancy index for
in-memory datasets, transform applied to the whole batch). With ``num_workers > 0`` a thread
pool prepares up to ``num_workers * prefetch_factor`` batches ahead while the caller
computes; NumPy releases the GIL in its copy and arithmetic loops, so loading overlaps
compute.
"""

from __future__ import annotations

import numbers
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fovea.creation import from_numpy
from fovea.data.dataset import Dataset, get_batch

_SHUFFLE_STREAM = 0
_TRANSFORM_STREAM = 1


def _generator(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"DataLoader: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class DataLoader:
    """Iterate over a dataset in mini-batches.

    Args:
        dataset: a :class:`~fovea.data.Dataset` (anything with ``len``, indexing and,
            ideally, ``get_batch(indices, rng)``).
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (seeded by ``seed`` and the epoch number).
        drop_last: drop the last, smaller batch.
        seed: non-negative integer fixing the shuffles and the transforms' randomness;
            None draws one from the OS (kept in ``loader.seed`` and in ``state_dict``).
        num_workers: background threads preparing batches; 0 loads in the calling thread.
        prefetch_factor: batches prepared ahead per worker.
        as_tensor: yield fovea Tensors (default) or NumPy arrays.

    Yields:
        A tuple with one entry per field of the dataset, e.g. ``(x, y)`` with x float32
        (B, C, H, W) and y int64 (B,) for an :class:`~fovea.data.ArrayDataset`.
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = 0, num_workers: int = 0,
                 prefetch_factor: int = 2, as_tensor: bool = True):
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: dataset must support len() and indexing, got "
                            f"{type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = _check_int(batch_size, "batch_size", 1)
        self.num_workers = _check_int(num_workers, "num_workers", 0)
        self.prefetch_factor = _check_int(prefetch_factor, "prefetch_factor", 1)
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
        self.seed = _check_int(seed, "seed", 0)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.as_tensor = bool(as_tensor)
        self.epoch = 0
        self._batch = 0       # batches of self.epoch handed out so far
        self._resume = False  # next iteration continues self.epoch from self._batch

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    # --- state ------------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration run epoch ``epoch`` from its first batch."""
        self.epoch = _check_int(epoch, "epoch", 0)
        self._batch = 0
        self._resume = False

    def state_dict(self) -> dict:
        """``{"seed", "epoch", "batch"}``: enough to continue exactly where this loader is."""
        epoch, batch = self.epoch, self._batch
        if batch >= len(self) > 0:
            epoch, batch = epoch + 1, 0
        return {"seed": self.seed, "epoch": epoch, "batch": batch}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`: the next iteration yields batch ``state["batch"]``
        of epoch ``state["epoch"]`` onwards."""
        missing = {"seed", "epoch", "batch"} - set(state)
        if missing:
            raise ValueError(f"DataLoader.load_state_dict: missing keys {sorted(missing)}")
        seed = _check_int(state["seed"], "seed", 0)
        epoch = _check_int(state["epoch"], "epoch", 0)
        batch = _check_int(state["batch"], "batch", 0)
        if batch > len(self):
            raise ValueError(f"DataLoader.load_state_dict: batch {batch} is past the end of "
                             f"an epoch of {len(self)} batches")
        self.seed, self.epoch, self._batch, self._resume = seed, epoch, batch, True

    # --- batches ----------------------------------------------------------------------------
    def epoch_indices(self, epoch: int) -> list[np.ndarray]:
        """The index arrays of every batch of ``epoch`` (a pure function of seed and epoch)."""
        n = len(self.dataset)
        if self.shuffle:
            order = _generator(self.seed, _SHUFFLE_STREAM, epoch).permutation(n)
        else:
            order = np.arange(n, dtype=np.int64)
        return [order[i * self.batch_size:(i + 1) * self.batch_size] for i in range(len(self))]

    def load_batch(self, epoch: int, batch: int, indices: np.ndarray) -> tuple:
        """Gather batch ``batch`` of ``epoch`` with its own generator; NumPy arrays out."""
        rng = _generator(self.seed, _TRANSFORM_STREAM, epoch, batch)
        return get_batch(self.dataset, indices, rng)

    def __iter__(self) -> Iterator[tuple]:
        if self._resume:
            start = self._batch
        else:
            if self._batch > 0:  # a previous pass was abandoned: that epoch counts as used
                self.epoch += 1
            start = 0
        self._resume = False
        if start >= len(self) > 0:
            self.epoch, start = self.epoch + 1, 0
        self._batch = start
        epoch = self.epoch
        plan = list(enumerate(self.epoch_indices(epoch)))[start:]
        batches = self._threaded(epoch, plan) if self.num_workers else self._serial(epoch, plan)
        return self._track(epoch, batches, start)

    def _serial(self, epoch: int, plan):
        for b, idx in plan:
            yield self.load_batch(epoch, b, idx)

    def _threaded(self, epoch: int, plan):
        depth = self.num_workers * self.prefetch_factor
        with ThreadPoolExecutor(self.num_workers, thread_name_prefix="fovea-data") as pool:
            todo = iter(plan)
            pending = deque(pool.submit(self.load_batch, epoch, b, idx)
                            for b, idx in _take(todo, depth))
            try:
                while pending:
                    batch = pending.popleft().result()
                    for b, idx in _take(todo, 1):
                        pending.append(pool.submit(self.load_batch, epoch, b, idx))
                    yield batch
            finally:
                for fut in pending:
                    fut.cancel()

    def _track(self, epoch: int, batches, start: int):
        """Yield the batches, counting those handed out; close the producer on exit."""
        b = start
        try:
            for arrays in batches:
                b += 1
                if self.epoch == epoch:
                    self._batch = b
                yield tuple(from_numpy(np.ascontiguousarray(a)) for a in arrays) \
                    if self.as_tensor else arrays
        finally:
            batches.close()  # a `break` in the caller stops the prefetch threads now
        if self.epoch == epoch and self._batch == len(self):
            self.epoch, self._batch = epoch + 1, 0

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__}(len={len(self.dataset)}), "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, seed={self.seed}, num_workers={self.num_workers})")


def _take(iterator, k: int):
    for _ in range(k):
        try:
            yield next(iterator)
        except StopIteration:
            return
