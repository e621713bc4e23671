"""Threads for the kernels: contiguous row ranges run on the cores BLAS would use.

The convolution kernels are long sequences of medium-sized BLAS calls and array copies.
Letting BLAS thread each call separately pays a fork/join per call, leaves the copies
single-threaded and, on a machine shared with other processes, stalls badly: OpenBLAS's
threads wait for each other, so one descheduled thread holds up every call (measured:
10x slowdowns on 2 cores with another process running). Instead the *rows* (images, grid
positions) are cut into a few more chunks than threads, and each thread pulls chunks and
runs them with single-threaded BLAS: a slowed thread just takes fewer chunks. NumPy and
ctypes release the GIL during copies and BLAS calls, so plain Python threads suffice.

The thread count is NumPy's BLAS thread count (``OPENBLAS_NUM_THREADS``, threadpoolctl, ...);
while a parallel region runs, BLAS is set to one thread and restored afterwards. Results
come back in chunk order and the chunking depends only on the sizes and the thread count,
so reductions over chunks are deterministic.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fovea.backends.cpu import blas as _blas

CHUNKS_PER_THREAD = 2

_lock = threading.Lock()
_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_pid = 0  # a forked child (e.g. a data-loading worker) must not reuse the parent's pool


def num_threads() -> int:
    """How many threads a parallel region uses (1 when BLAS threads cannot be controlled)."""
    n = _blas.get_num_threads()
    return max(int(n), 1) if n is not None else 1


def _drain(fn, bounds, results, state):
    """Take chunks in order until none is left; store each result at its index."""
    _local.busy = True
    try:
        while True:
            with state["lock"]:
                k = state["next"]
                state["next"] = k + 1
            if k >= len(results) or state["error"] is not None:
                return
            try:
                results[k] = fn(bounds[k], bounds[k + 1])
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller
                state["error"] = e
                return
    finally:
        _local.busy = False


def parallel_for(fn: Callable[[int, int], object], total: int, grain: int = 1) -> list:
    """``[fn(a0, a1), fn(a1, a2), ...]`` over a split of range(total) into contiguous chunks.

    Chunks have at least ``grain`` rows; with one thread, in a nested call, or while another
    thread holds the pool, this is just ``[fn(0, total)]``.
    """
    global _pool, _pool_size, _pool_pid
    grain = max(grain, 1)
    if getattr(_local, "busy", False) or total < 2 * grain:
        return [fn(0, total)]
    n = num_threads()
    if n <= 1 or not _lock.acquire(blocking=False):
        return [fn(0, total)]
    try:
        parts = max(2, min(n * CHUNKS_PER_THREAD, total // grain))
        bounds = [total * i // parts for i in range(parts + 1)]
        workers = min(n, parts) - 1
        if _pool is None or _pool_size < workers or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fovea")
            _pool_size, _pool_pid = workers, os.getpid()
        results: list = [None] * parts
        state = {"next": 0, "lock": threading.Lock(), "error": None}
        _blas.set_num_threads(1)
        try:
            futures = [_pool.submit(_drain, fn, bounds, results, state)
                       for _ in range(workers)]
            _drain(fn, bounds, results, state)  # the calling thread works too
            for f in futures:
                f.result()
        finally:
            _blas.set_num_threads(n)
        if state["error"] is not None:
            raise state["error"]
        return results
    finally:
        _lock.release()


def contiguous(a):
    """``a`` C-contiguous, copied in first-axis chunks across threads when it is not."""
    if a.flags.c_contiguous:
        return a
    out = np.empty(a.shape, dtype=a.dtype)

    def copy(i, j):
        out[i:j] = a[i:j]

    parallel_for(copy, a.shape[0], 1)
    return out
