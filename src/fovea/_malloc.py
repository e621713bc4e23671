"""Let freed array memory be reused instead of handed back to the OS (glibc only).

A training step allocates the same large arrays every time (activations, patch matrices,
gradients) and frees them by the end of the step. With glibc's defaults every array above a
few MiB is a fresh ``mmap``: the kernel then zero-fills each page on first touch, and on this
project's benchmark machine that costs about 1.4 ms per 8 MiB array, as much as the
arithmetic done on it (a batch-norm forward spent 60% of its time in page faults). Raising
malloc's mmap and trim thresholds keeps freed blocks in the heap, so the next step reuses
them warm; it is what PyTorch's caching allocators do for the same reason. The price is that
the process keeps its peak heap instead of shrinking after a step.

:func:`tune` is called once when fovea is imported. Set ``FOVEA_MALLOC_TUNING=0`` in the
environment to leave malloc alone. On systems without glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

THRESHOLD = 1 << 30  # 1 GiB: arrays below it come from (and return to) the heap

_state = {"tuned": False}


def tune(threshold: int = THRESHOLD) -> bool:
    """Raise glibc's mmap and trim thresholds to ``threshold`` bytes; True if it took effect."""
    if os.environ.get("FOVEA_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
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
    _state["tuned"] = ok
    return ok


def is_tuned() -> bool:
    """Whether :func:`tune` has changed malloc's thresholds in this process."""
    return _state["tuned"]
