"""Numba-compiled kernels: the machinery (compile on first use, locking, thread count).

Memory-bound layers (ReLU, batch norm, pooling) are a few passes over large arrays. NumPy
makes one pass per operation, on one thread; a compiled loop makes one fused pass on every
core (on the 2-core benchmark machine ReLU's forward on 8 MiB went from 0.8 ms to 0.1 ms).
fovea's kernels (:mod:`.elementwise`, :mod:`.norm`, :mod:`.pool`) are written as plain Python loops
that Numba compiles on first use (cached on disk next to the module, so later processes
load them in milliseconds); every caller keeps its NumPy code as the fallback, so results
do not depend on whether Numba is present (the tests run both).

* ``FOVEA_JIT=0`` in the environment turns the kernels off (NumPy only; read through
  :mod:`fovea.config`).
* Numba is imported lazily, the first time a kernel is needed, not when fovea is imported.
* Calls are serialised by a lock: some of Numba's threading layers (``workqueue``) abort
  when two Python threads launch parallel kernels at once. The kernels use as many threads
  as NumPy's BLAS does (:func:`fovea.backends.cpu.threads.num_threads`).

A kernel family calls :func:`enabled` on its operand (floating, large enough to pay for a
launch, Numba available) and runs its NumPy code when it is False.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np

from fovea import config
from fovea.backends.cpu.threads import num_threads

# Arrays smaller than this stay with NumPy: a kernel launch costs ~10-20 µs.
MIN_SIZE = 1 << 14

_lock = threading.Lock()
_state: dict = {"numba": None, "checked": False}


def available() -> bool:
    """Whether compiled kernels are on: Numba importable and ``FOVEA_JIT`` is not ``0``."""
    if not config.settings().jit:
        return False
    if not _state["checked"]:
        numba = _load_numba()
        _state["numba"], _state["checked"] = numba, True
    return _state["numba"] is not None


def enabled(a) -> bool:
    """Whether the compiled kernels should handle NumPy array ``a`` (floating, at least
    :data:`MIN_SIZE` values, kernels available)."""
    return (isinstance(a, np.ndarray) and a.size >= MIN_SIZE
            and a.dtype in (np.float32, np.float64) and available())


def threading_layer() -> str | None:
    """Numba's threading layer as configured (``workqueue`` unless the user chose), or None
    when Numba is not available."""
    if not available():
        return None
    return str(_state["numba"].config.THREADING_LAYER)


def _load_numba():
    """Import Numba with its own "workqueue" thread pool, or None if it cannot be used.

    Why not OpenMP (Numba's default where libgomp exists, and faster per kernel: batch norm
    128×16×32×32 forward + backward 4.9 ms vs 9.0 ms, NumPy 12.9 ms): OpenMP's threads keep
    spinning after each parallel loop and took a core from the convolutions' threads that
    ran next (ResNet-20's convolutions: 391 -> 532 ms per step); workqueue threads sleep.
    Workqueue cannot take two launches at once: :class:`Kernel` serialises calls. A user's
    ``NUMBA_THREADING_LAYER`` is respected.
    """
    try:
        import numba

        if "NUMBA_THREADING_LAYER" not in os.environ:
            numba.config.THREADING_LAYER = "workqueue"
    except Exception:  # noqa: BLE001 - any import failure means "no JIT"
        return None
    return numba


class Kernel:
    """A Python function compiled by Numba (``parallel=True``, on-disk cache) on first call.

    Calling a :class:`Kernel` when :func:`available` is False raises RuntimeError: callers
    check :func:`available` first and run their NumPy code otherwise.
    """

    def __init__(self, fn: Callable, parallel: bool = True):
        self.fn, self.parallel = fn, parallel
        self.compiled = None
        self.__doc__ = fn.__doc__

    def __call__(self, *args):
        if not available():
            raise RuntimeError(f"{self.fn.__name__}: Numba kernels are not available")
        numba = _state["numba"]
        if self.compiled is None:
            # Kernel modules name ``prange`` (a plain ``range`` stand-in); Numba reads a
            # function's globals when it compiles it.
            self.fn.__globals__["prange"] = numba.prange
            self.compiled = numba.njit(parallel=self.parallel, cache=True,
                                       nogil=True)(self.fn)
        with _lock:
            if self.parallel:
                numba.set_num_threads(max(1, min(num_threads(), numba.config.NUMBA_NUM_THREADS)))
            return self.compiled(*args)


def kernel(fn: Callable) -> Kernel:
    """Decorator: ``fn`` as a lazily compiled parallel :class:`Kernel`."""
    return Kernel(fn)
