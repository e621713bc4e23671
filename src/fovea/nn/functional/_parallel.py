"""Run a kernel over contiguous row ranges on several threads (the cores BLAS would use).

The convolution kernels are long sequences of medium-sized BLAS calls and array copies.
Letting BLAS thread each call separately pays a fork/join per call and leaves the copies
single-threaded; splitting the *rows* (images, grid positions) among threads instead, each
calling a single-threaded BLAS, keeps every core busy for the whole kernel. NumPy and ctypes
release the GIL during copies and BLAS calls, so plain Python threads suffice.

The thread count is NumPy's BLAS thread count (``OPENBLAS_NUM_THREADS``, threadpoolctl, ...);
while a parallel region runs, BLAS is set to one thread and restored afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fovea.nn.functional import _blas

_lock = threading.Lock()
_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def num_threads() -> int:
    """How many threads a parallel region uses (1 when BLAS threads cannot be controlled)."""
    n = _blas.get_num_threads()
    return max(int(n), 1) if n is not None else 1


def _worker(fn, a, b):
    _local.busy = True
    try:
        return fn(a, b)
    finally:
        _local.busy = False


def parallel_for(fn: Callable[[int, int], object], total: int, grain: int = 1) -> list:
    """``[fn(a0, a1), fn(a1, a2), ...]`` over a split of range(total) into contiguous parts.

    Parts have at least ``grain`` rows; with one thread, in a nested call, or while another
    thread holds the pool, this is just ``[fn(0, total)]``.
    """
    global _pool, _pool_size
    if getattr(_local, "busy", False) or total < 2 * max(grain, 1):
        return [fn(0, total)]
    n = num_threads()
    if n <= 1 or not _lock.acquire(blocking=False):
        return [fn(0, total)]
    try:
        parts = min(n, total // max(grain, 1))
        bounds = [total * i // parts for i in range(parts + 1)]
        if _pool is None or _pool_size < parts - 1:
            _pool = ThreadPoolExecutor(max_workers=parts - 1, thread_name_prefix="fovea")
            _pool_size = parts - 1
        _blas.set_num_threads(1)
        try:
            futures = [_pool.submit(_worker, fn, a, b)
                       for a, b in zip(bounds[1:-1], bounds[2:])]
            first = _worker(fn, bounds[0], bounds[1])  # the calling thread works too
            return [first] + [f.result() for f in futures]
        finally:
            _blas.set_num_threads(n)
    finally:
        _lock.release()
