"""DataLoader worker processes: what runs inside a worker, and how examples are fetched.

A worker gets tasks ``("task", iteration_id, task_id, payload)`` on its own index queue and
puts ``(iteration_id, task_id, data)`` on the result queue shared by all workers; ``None``
asks it to exit, ``("reset", iteration_id)`` starts a new epoch (persistent workers).
Before its first task the worker seeds Python's ``random``, NumPy's global state and fovea's
default generator with ``base_seed + worker_id``, sets :func:`get_worker_info`, and calls
``worker_init_fn(worker_id)``. An exception while fetching travels back as an
:class:`ExceptionWrapper` (its traceback as text) and is raised again in the main process.
A worker ignores Ctrl-C (the main process decides when workers stop) and exits by itself
when its parent process disappears.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from fovea.data._random import seed_all
from fovea.data.dataset import get_batch

__all__ = ["WorkerInfo", "get_worker_info"]

STATUS_CHECK_INTERVAL = 1.0  # seconds between liveness checks while waiting on a queue

_worker_info: WorkerInfo | None = None


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker process knows about itself (``torch.utils.data.get_worker_info()``).

    Attributes:
        id: this worker's number, 0 <= id < num_workers.
        num_workers: how many workers the loader runs.
        seed: ``base_seed + id``; Python's random, NumPy and fovea were seeded with it.
        dataset: this process's copy of the dataset.
    """

    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info() -> WorkerInfo | None:
    """The :class:`WorkerInfo` inside a DataLoader worker process; None in the main process."""
    return _worker_info


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process as text."""

    def __init__(self, where: str):
        exc_type, exc, _ = sys.exc_info()
        self.exc_type = exc_type
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc, exc.__traceback__))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        try:
            exc = self.exc_type(msg)
        except Exception:  # an exception type that cannot be built from one message
            exc = None
        if exc is None:
            raise RuntimeError(msg)
        raise exc


@dataclass(frozen=True)
class IterationEnd:
    """A worker's IterableDataset copy is exhausted."""

    worker_id: int


# --- fetchers: payload -> data ------------------------------------------------------------------

class BatchPathFetcher:
    """Datasets with their own ``get_batch``: payload (epoch, batch, indices) -> arrays.

    The batch's generator is a function of (seed, epoch, batch) only, so any process gives
    the same batch."""

    def __init__(self, dataset, seed: int):
        self.dataset, self.seed = dataset, seed

    def fetch(self, payload):
        epoch, b, idx = payload
        rng = np.random.Generator(np.random.PCG64(
            np.random.SeedSequence(self.seed, spawn_key=(1, epoch, b))))
        return list(get_batch(self.dataset, idx, rng))


class MapFetcher:
    """Map-style datasets: payload = a list of indices (auto-batching) or one index."""

    def __init__(self, dataset, auto_collation: bool, collate_fn):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, payload):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[payload])
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(payload) if getitems else [self.dataset[i] for i in payload]
        return self.collate_fn(data)


class IterableFetcher:
    """IterableDatasets: each fetch takes the next ``batch_size`` examples of the stream."""

    def __init__(self, dataset, auto_collation: bool, collate_fn, batch_size, drop_last):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn
        self.batch_size, self.drop_last = batch_size, drop_last
        self.iterator = iter(dataset)
        self.ended = False

    def fetch(self, payload=None):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        data = []
        for _ in range(self.batch_size):
            try:
                data.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < self.batch_size):
            self.ended = True
            raise StopIteration
        return self.collate_fn(data)


def make_fetcher(kind: str, dataset, options: dict):
    if kind == "batch":
        return BatchPathFetcher(dataset, options["seed"])
    if kind == "map":
        return MapFetcher(dataset, options["auto_collation"], options["collate_fn"])
    return IterableFetcher(dataset, options["auto_collation"], options["collate_fn"],
                           options["batch_size"], options["drop_last"])


# --- the worker process ------------------------------------------------------------------------

def worker_loop(kind, dataset, options, index_queue, result_queue, base_seed: int,
                worker_id: int, num_workers: int, worker_init_fn, parent_pid: int) -> None:
    """The body of worker ``worker_id`` (a module-level function, so 'spawn' can import it)."""
    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # the parent blocked it around the start
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    seed = base_seed + worker_id
    seed_all(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    where = f"in DataLoader worker process {worker_id}"
    init_error = None
    fetcher = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
        fetcher = make_fetcher(kind, dataset, options)
    except Exception:
        init_error = ExceptionWrapper(where)
    try:
        while True:
            try:
                msg = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent_pid:  # the main process is gone: do not linger
                    break
                continue
            if msg is None:
                break
            if msg[0] == "reset":
                if init_error is None and kind == "iterable":
                    try:
                        fetcher = make_fetcher(kind, dataset, options)
                    except Exception:
                        init_error = ExceptionWrapper(where)
                continue
            _, it_id, task_id, payload = msg
            if init_error is not None:
                data, init_error = init_error, None
            else:
                try:
                    data = fetcher.fetch(payload)
                except StopIteration:
                    data = IterationEnd(worker_id)
                except Exception:
                    data = ExceptionWrapper(where)
            del payload
            result_queue.put((it_id, task_id, data))
            del data
    finally:
        result_queue.cancel_join_thread()
        result_queue.close()
