"""DataLoader: mini-batches from a dataset, as ``torch.utils.data.DataLoader``, seeded and
resumable.

How a batch is made. The loader asks its ``batch_sampler`` (by default a
:class:`~fovea.data.sampler.BatchSampler` over a Sequential/RandomSampler) for lists of
indices, and then

- datasets with a batch path of their own (:class:`~fovea.data.ArrayDataset`,
  :class:`~fovea.data.TensorDataset`, their :class:`~fovea.data.Subset`\\ s; any dataset that
  overrides ``get_batch``), with the default ``collate_fn``: one ``get_batch(indices, rng)``
  call (a fancy index and a vectorised batch transform);
- any other map-style dataset: ``collate_fn([dataset[i] for i in indices])``
  (:func:`~fovea.data.collate.default_collate` by default);
- an :class:`~fovea.data.IterableDataset`: the next ``batch_size`` examples of its stream.

Randomness. Everything the loader draws derives from one integer ``seed`` (given, or drawn
from ``generator`` / fovea's default generator when the loader is built) through
``numpy.random.SeedSequence`` spawn keys, never from the order in which processes run:

- the shuffle of epoch ``e`` (``shuffle=True``) uses ``SeedSequence(seed, spawn_key=(0, e))``;
- the batch transform of batch ``b`` of epoch ``e`` (batch path) uses ``(1, e, b)``;
- the workers of epoch ``e`` get ``base_seed`` from ``(2, e)``; worker ``w`` seeds Python's
  ``random``, NumPy and fovea's default generator with ``base_seed + w`` (per-image
  transforms draw from fovea's default generator, so workers draw different numbers).

So batch ``b`` of epoch ``e`` is a pure function of ``(seed, e, b)`` on the batch path: any
``num_workers`` gives the same batches, and a run resumed at any epoch, or at any batch inside
an epoch, sees exactly the batches an uninterrupted run sees.

Epochs. ``loader.epoch`` is the epoch the next ``iter(loader)`` runs; a completed pass
advances it by one, and ``set_epoch(e)`` sets it. ``state_dict()`` records ``{"seed", "epoch",
"batch"}`` where ``batch`` counts the batches of the current epoch already handed out; after
``load_state_dict`` the next iteration continues the epoch from that batch.

Workers. ``num_workers > 0`` runs that many worker processes (``fork`` where available, else
``spawn``; ``multiprocessing_context=`` chooses), each with its own index queue; batches come
back through one result queue and are handed out in sampler order. See
:mod:`fovea.data._worker` for what a worker does, and docs/data.md.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import numbers
import os
import queue
import signal
import threading
import warnings
from collections.abc import Iterator

import numpy as np

from fovea.data import _worker
from fovea.data._random import draw_seed
from fovea.data.collate import default_collate, default_convert
from fovea.data.dataset import IterableDataset, has_batch_path
from fovea.data.sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader"]

_SHUFFLE_STREAM = 0
_TRANSFORM_STREAM = 1
_WORKER_STREAM = 2
_JOIN_TIMEOUT = 5.0


def _generator(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"DataLoader: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _has_len(obj) -> bool:
    try:
        len(obj)
    except TypeError:
        return False
    return True


def _context(multiprocessing_context):
    if multiprocessing_context is None:
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        return mp.get_context(method)
    if isinstance(multiprocessing_context, str):
        if multiprocessing_context not in mp.get_all_start_methods():
            raise ValueError(f"multiprocessing_context option should specify a valid start "
                             f"method in {mp.get_all_start_methods()!r}, but got "
                             f"multiprocessing_context={multiprocessing_context!r}")
        return mp.get_context(multiprocessing_context)
    if not isinstance(multiprocessing_context, mp.context.BaseContext):
        raise TypeError(f"multiprocessing_context option should be a valid context object or a "
                        f"string specifying the start method, but got "
                        f"multiprocessing_context={multiprocessing_context!r}")
    return multiprocessing_context


def _block_sigint():
    """Block SIGINT in this (main) thread; returns the previous mask, or None if not done."""
    if not hasattr(signal, "pthread_sigmask") or \
            threading.current_thread() is not threading.main_thread():
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _restore_sigmask(previous) -> None:
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class DataLoader:
    """Iterate over a dataset in mini-batches (``torch.utils.data.DataLoader``).

    Args:
        dataset: a map-style dataset (``len`` and indexing) or an IterableDataset.
        batch_size: examples per batch; None disables batching (one converted example per
            step).
        shuffle: a new random order every epoch.
        sampler: the order of indices (excludes ``shuffle``).
        batch_sampler: yields whole index lists (excludes batch_size, shuffle, sampler,
            drop_last).
        num_workers: worker processes; 0 loads in the calling process.
        collate_fn: list of examples -> batch (default :func:`default_collate`).
        pin_memory: accepted; no effect without an accelerator (warns, as PyTorch).
        drop_last: drop the last, smaller batch.
        timeout: seconds to wait for a worker's batch (0: forever) before raising.
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding.
        multiprocessing_context: start method name or context (default fork, else spawn).
        generator: where ``seed`` is drawn from when not given (default fovea's).
        prefetch_factor: batches in flight per worker (default 2 with workers).
        persistent_workers: keep the workers alive between epochs.
        pin_memory_device: accepted for compatibility.
        in_order: hand batches out in sampler order (False: as they arrive).
        seed: (fovea) fixes shuffles, batch transforms and worker seeds; see the module doc.
        as_tensor: (fovea) on the batch path, yield Tensors (default) or NumPy arrays.

    Yields:
        Batches as ``collate_fn`` makes them; for a dataset of ``(image, label)`` examples a
        list ``[x, y]`` of Tensors with x (B, C, H, W) and y (B,).
    """

    _FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
               "persistent_workers")

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True, seed: int | None = None,
                 as_tensor: bool = True):
        if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if not hasattr(dataset, "__getitem__") and not hasattr(dataset, "__iter__"):
            raise TypeError(f"DataLoader: dataset must support indexing or iteration, got "
                            f"{type(dataset).__name__}")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if batch_size is not None:
            batch_size = _check_int(batch_size, "batch_size", 1)
        if seed is None:
            seed = draw_seed(generator, "DataLoader")
        self._own_order = sampler is None and batch_sampler is None and not iterable
        if iterable:
            sampler = None
        elif sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle and _has_len(dataset)
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))
        self._auto_collation = batch_sampler is not None or (iterable and batch_size is not None)
        self._default_collate = collate_fn is None
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert

        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn
        self.pin_memory = bool(pin_memory)
        self.pin_memory_device = pin_memory_device
        self.timeout = float(timeout)
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = _context(multiprocessing_context) if num_workers else None
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = bool(persistent_workers)
        self.in_order = bool(in_order)
        self.seed = _check_int(seed, "seed", 0)
        self.as_tensor = bool(as_tensor)
        self.epoch = 0
        self._batch = 0       # batches of self.epoch handed out so far
        self._resume = False  # next iteration continues self.epoch from self._batch
        self._pool = None     # persistent workers
        self._initialized = True

    def __setattr__(self, name, value):
        if getattr(self, "_initialized", False) and name in self._FROZEN:
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _kind(self) -> str:
        if isinstance(self.dataset, IterableDataset):
            return "iterable"
        if self._default_collate and self._auto_collation and has_batch_path(self.dataset):
            return "batch"
        return "map"

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    # --- state ------------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration run epoch ``epoch`` from its first batch."""
        self.epoch = _check_int(epoch, "epoch", 0)
        self._batch = 0
        self._resume = False

    def state_dict(self) -> dict:
        """``{"seed", "epoch", "batch"}``: enough to continue exactly where this loader is."""
        epoch, batch = self.epoch, self._batch
        if not isinstance(self.dataset, IterableDataset) and batch >= len(self) > 0:
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
        if isinstance(self.dataset, IterableDataset):
            if batch:
                raise ValueError("DataLoader.load_state_dict: resuming inside an epoch of an "
                                 "IterableDataset is not supported (batch must be 0)")
        elif batch > len(self):
            raise ValueError(f"DataLoader.load_state_dict: batch {batch} is past the end of "
                             f"an epoch of {len(self)} batches")
        object.__setattr__(self, "seed", seed)
        self.epoch, self._batch, self._resume = epoch, batch, True

    # --- the plan of an epoch -----------------------------------------------------------------
    def epoch_indices(self, epoch: int) -> list:
        """The index lists of every batch of ``epoch`` (single indices when batch_size=None)."""
        if self._own_order and self.batch_size is not None:
            n = len(self.dataset)
            if isinstance(self.sampler, RandomSampler):
                order = self.sampler.indices(_generator(self.seed, _SHUFFLE_STREAM, epoch))
            else:
                order = np.arange(n, dtype=np.int64)
            size = self.batch_size
            return [order[i * size:(i + 1) * size] for i in range(len(self))]
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)
        if self.batch_sampler is not None:
            return list(self.batch_sampler)
        if self._own_order and isinstance(self.sampler, RandomSampler):
            return self.sampler.indices(_generator(self.seed, _SHUFFLE_STREAM, epoch)).tolist()
        return list(self.sampler)

    def _payloads(self, epoch: int, start: int):
        """What each fetch gets: (epoch, b, idx) on the batch path, else the indices."""
        if isinstance(self.dataset, IterableDataset):
            return itertools.repeat(None)
        plan = self.epoch_indices(epoch)[start:]
        if self._kind == "batch":
            return iter([(epoch, start + k, np.asarray(idx, dtype=np.int64))
                         for k, idx in enumerate(plan)])
        return iter([idx.tolist() if isinstance(idx, np.ndarray) else idx for idx in plan])

    def _options(self) -> dict:
        return {"seed": self.seed, "auto_collation": self._auto_collation,
                "collate_fn": self.collate_fn, "batch_size": self.batch_size,
                "drop_last": self.drop_last}

    def base_seed(self, epoch: int) -> int:
        """The base seed of the workers of ``epoch`` (worker w uses base_seed + w)."""
        return int(_generator(self.seed, _WORKER_STREAM, epoch).integers(0, 2**62))

    # --- iteration ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator:
        if self._resume:
            start = self._batch
        else:
            if self._batch > 0:  # a previous pass was abandoned: that epoch counts as used
                self.epoch += 1
            start = 0
        self._resume = False
        if not isinstance(self.dataset, IterableDataset) and start >= len(self) > 0:
            self.epoch, start = self.epoch + 1, 0
        self._batch = start
        if self.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=2)
        epoch = self.epoch
        payloads = self._payloads(epoch, start)
        if self.num_workers == 0:
            source = _SingleProcessIter(self, payloads)
        else:
            pool = self._pool
            if pool is None or not pool.alive():
                pool = _WorkerPool(self, self.base_seed(epoch))
                if self.persistent_workers:
                    self._pool = pool
            else:
                pool.reset()
            source = _MultiProcessIter(self, payloads, pool,
                                       owns_pool=not self.persistent_workers)
        return _LoaderIter(self, epoch, start, source)

    def _wrap(self, data):
        """Batch-path arrays -> Tensors (or kept as arrays with as_tensor=False)."""
        if self._kind != "batch" or not self.as_tensor:
            return data
        from fovea.creation import from_numpy

        return [from_numpy(np.ascontiguousarray(a)) for a in data]

    def __del__(self):
        pool = self.__dict__.get("_pool")
        if pool is not None:
            pool.shutdown(wait=False)

    def __repr__(self) -> str:
        name = type(self.dataset).__name__
        n = f"len={len(self.dataset)}" if _has_len(self.dataset) else "iterable"
        return (f"DataLoader(dataset={name}({n}), batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
                f"num_workers={self.num_workers})")


class _LoaderIter:
    """What ``iter(loader)`` returns: counts the batches handed out (for state_dict)."""

    def __init__(self, loader: DataLoader, epoch: int, start: int, source):
        self._loader, self._epoch, self._b, self._source = loader, epoch, start, source

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def __next__(self):
        loader = self._loader
        try:
            data = next(self._source)
        except StopIteration:
            if loader.epoch == self._epoch and (isinstance(loader.dataset, IterableDataset)
                                                or loader._batch == len(loader)):
                loader.epoch, loader._batch = self._epoch + 1, 0
            raise
        self._b += 1
        if loader.epoch == self._epoch:
            loader._batch = self._b
        return loader._wrap(data)

    def close(self):
        self._source.close()

    def __del__(self):
        self._source.close(wait=False)


class _SingleProcessIter:
    def __init__(self, loader: DataLoader, payloads):
        self._payloads = payloads
        self._fetcher = _worker.make_fetcher(loader._kind, loader.dataset, loader._options())

    def __next__(self):
        return self._fetcher.fetch(next(self._payloads))

    def close(self, wait: bool = True):
        pass


class _WorkerPool:
    """The worker processes and their queues."""

    def __init__(self, loader: DataLoader, base_seed: int):
        ctx = loader.multiprocessing_context
        self.result_queue = ctx.Queue()
        self.index_queues, self.workers = [], []
        self.iteration = 0
        self.closed = False
        kind = loader._kind
        # NOTE: a Ctrl-C that lands inside os.fork's at-fork callbacks is swallowed by Python
        # ("Exception ignored in _releaseLock"), and one that reaches a child before it
        # ignores SIGINT kills it noisily. So SIGINT stays blocked while the workers start:
        # a pending one is delivered, as a KeyboardInterrupt, right after; the children
        # inherit the mask and drop it once they ignore SIGINT.
        blocked = _block_sigint()
        try:
            for w in range(loader.num_workers):
                iq = ctx.Queue()
                p = ctx.Process(target=_worker.worker_loop, daemon=True,
                                args=(kind, loader.dataset, loader._options(), iq,
                                      self.result_queue, base_seed, w, loader.num_workers,
                                      loader.worker_init_fn, os.getpid()))
                p.start()
                self.index_queues.append(iq)
                self.workers.append(p)
        except BaseException:
            self.shutdown()
            raise
        finally:
            _restore_sigmask(blocked)

    def alive(self) -> bool:
        return not self.closed and all(p.is_alive() for p in self.workers)

    def reset(self):
        """A new epoch on persistent workers: fresh iterators, stale results dropped."""
        self.iteration += 1
        for iq in self.index_queues:
            iq.put(("reset", self.iteration))

    def dead_workers(self) -> list:
        return [p for p in self.workers if not p.is_alive()]

    def shutdown(self, wait: bool = True):
        """Tell the workers to stop; with ``wait``, join them (terminating any that hang).

        Without ``wait`` (from ``__del__``) nothing blocks: a Ctrl-C that arrived during a
        join inside ``__del__`` would be swallowed by Python. The workers exit on their own
        and are reaped by multiprocessing later.
        """
        if self.closed:
            return
        self.closed = True
        for iq in self.index_queues:
            try:
                iq.put(None)
            except (OSError, ValueError):
                pass
        for p in self.workers if wait else ():
            p.join(timeout=_JOIN_TIMEOUT)
            if p.is_alive():
                p.terminate()
                p.join()
        for q in [*self.index_queues, self.result_queue]:
            q.cancel_join_thread()
            q.close()


class _MultiProcessIter:
    """Sends index lists round-robin to the workers, keeps ``prefetch_factor * num_workers``
    in flight, and returns results in sampler order (``in_order``)."""

    def __init__(self, loader: DataLoader, payloads, pool: _WorkerPool, owns_pool: bool):
        self._loader, self._payloads, self._pool = loader, payloads, pool
        self._owns_pool = owns_pool
        self._it = pool.iteration
        self._active = [True] * loader.num_workers
        self._worker_cycle = itertools.cycle(range(loader.num_workers))
        self._task_worker: dict[int, int] = {}
        self._buffer: dict[int, object] = {}
        self._send_idx = 0
        self._exhausted = False
        self._done = False
        limit = max(1, loader.prefetch_factor * loader.num_workers)
        try:
            for _ in range(limit):
                self._put()
        except BaseException:
            self.close(error=True)
            raise

    def _put(self) -> None:
        if self._exhausted or not any(self._active):
            return
        try:
            payload = next(self._payloads)
        except StopIteration:
            self._exhausted = True
            return
        for _ in range(len(self._active)):
            w = next(self._worker_cycle)
            if self._active[w]:
                break
        self._pool.index_queues[w].put(("task", self._it, self._send_idx, payload))
        self._task_worker[self._send_idx] = w
        self._send_idx += 1

    def _get(self):
        loader = self._loader
        wait = loader.timeout if loader.timeout > 0 else _worker.STATUS_CHECK_INTERVAL
        while True:
            try:
                return self._pool.result_queue.get(timeout=wait)
            except queue.Empty:
                dead = self._pool.dead_workers()
                if dead:
                    pids = ", ".join(str(p.pid) for p in dead)
                    raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited "
                                       f"unexpectedly") from None
                if loader.timeout > 0:
                    raise RuntimeError(f"DataLoader timed out after {loader.timeout} "
                                       f"seconds") from None

    def __next__(self):
        if self._done:
            raise StopIteration
        try:
            return self._next()
        except StopIteration:
            self.close()
            raise
        except BaseException:
            self.close(error=True)
            raise

    def _next(self):
        while True:
            if self._loader.in_order:  # the oldest task still out
                key = min(self._task_worker) if self._task_worker else None
                ready = key is not None and key in self._buffer
            else:
                key = next(iter(self._buffer), None)
                ready = key is not None
            if ready:
                data = self._buffer.pop(key)
                self._task_worker.pop(key)
                if isinstance(data, _worker.IterationEnd):
                    self._active[data.worker_id] = False
                    self._put()
                    continue
                self._put()
                if isinstance(data, _worker.ExceptionWrapper):
                    data.reraise()
                return data
            if not self._task_worker:
                raise StopIteration
            it_id, task_id, data = self._get()
            if it_id == self._it:  # else a result of an abandoned epoch (persistent workers)
                self._buffer[task_id] = data

    def close(self, error: bool = False, wait: bool = True):
        if self._done:
            return
        self._done = True
        if self._owns_pool or error:
            self._pool.shutdown(wait)
            if error and self._loader._pool is self._pool:
                object.__setattr__(self._loader, "_pool", None)
