"""Process-wide tuning done once, when fovea is imported: OpenBLAS's idle threads and malloc.

**OpenBLAS's spinning workers.** After each multi-threaded BLAS call, OpenBLAS keeps its
worker threads spinning for 2^28 CPU cycles (about 0.1 s) so that the next call starts
without a wake-up. fovea's convolution kernels run their own threads
(:mod:`fovea.backends.cpu.threads`: row chunks with single-threaded BLAS), and a spinning
OpenBLAS worker takes a core from them: on the project's 2-core benchmark machine the
three-layer ConvNet's convolution took 13 ms instead of 7 ms in forward, and 16 instead of
8 ms in backward, whenever a linear layer's product had run just before (measured with
``OPENBLAS_THREAD_TIMEOUT`` unset vs 4). ``OPENBLAS_THREAD_TIMEOUT=n`` makes the workers
spin 2^n cycles; fovea sets n = 20 (about 0.3 ms: long enough to keep back-to-back
products of a small model warm, short enough not to overlap the next convolution).
OpenBLAS reads it once, when it is loaded, so this only works when fovea is imported before
NumPy (the ``fovea`` command always is); if NumPy was imported first nothing changes. A
value already in the environment is kept, and ``FOVEA_BLAS_TUNING=0`` leaves the
environment alone. The setting is inherited by child processes.

**Buffer reuse (glibc only).** A training step allocates the same large arrays every time
(activations, patch matrices, gradients) and frees them by the end of the step. With
glibc's defaults every array above a few MiB is a fresh ``mmap``: the kernel then
zero-fills each page on first touch, and on the benchmark machine that costs about 1.4 ms
per 8 MiB array, as much as the arithmetic done on it (a batch-norm forward spent 60% of
its time in page faults). Raising malloc's mmap and trim thresholds keeps freed blocks in
the heap, so the next step reuses them warm; it is what PyTorch's caching allocators do for
the same reason. The price is that the process keeps its peak heap instead of shrinking
after a step. ``FOVEA_MALLOC_TUNING=0`` leaves malloc alone; without glibc nothing happens.

Both run when this module is imported, which ``fovea/__init__.py`` does first of all. This
module must not import NumPy.
"""

from __future__ import annotations

import ctypes
import os
import sys

from fovea import config

THREAD_TIMEOUT = "20"

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MALLOC_THRESHOLD = 1 << 30  # 1 GiB: arrays below it come from (and return to) the heap

_state = {"malloc": False, "openblas": False}


def tune_openblas() -> bool:
    """Set OPENBLAS_THREAD_TIMEOUT unless disabled, already set, or NumPy is loaded.

    Returns whether the variable was set by this call.
    """
    if not config.settings().blas_tuning:
        return False
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ or "numpy" in sys.modules:
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = THREAD_TIMEOUT
    _state["openblas"] = True
    return True


def tune_malloc(threshold: int = MALLOC_THRESHOLD) -> bool:
    """Raise glibc's mmap and trim thresholds to ``threshold`` bytes; True if it took effect."""
    if not config.settings().malloc_tuning or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, int(threshold)) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, int(threshold)) == 1 and ok
    _state["malloc"] = ok
    return ok


def openblas_tuned() -> bool:
    """Whether this process set OPENBLAS_THREAD_TIMEOUT (before NumPy loaded)."""
    return _state["openblas"]


def malloc_tuned() -> bool:
    """Whether :func:`tune_malloc` has changed malloc's thresholds in this process."""
    return _state["malloc"]


tune_openblas()
tune_malloc()
