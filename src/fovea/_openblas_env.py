"""Make OpenBLAS's idle worker threads sleep soon after a call (set before NumPy loads).

After each multi-threaded BLAS call, OpenBLAS keeps its worker threads spinning for
2^28 CPU cycles (about 0.1 s) so that the next call starts without a wake-up. fovea's
convolution kernels run their own threads (``nn/functional/_parallel.py``: row chunks with
single-threaded BLAS), and a spinning OpenBLAS worker takes a core from them: on the
project's 2-core benchmark machine the three-layer ConvNet's convolution took 13 ms
instead of 7 ms in forward, and 16 instead of 8 ms in backward, whenever a linear layer's
product had run just before (measured with ``OPENBLAS_THREAD_TIMEOUT`` unset vs 4).

``OPENBLAS_THREAD_TIMEOUT=n`` makes the workers spin 2^n cycles; fovea sets n = 20 (about
0.3 ms: long enough to keep back-to-back products of a small model warm, short enough
not to overlap the next convolution). OpenBLAS reads it once, when it is loaded, so this
only works when fovea is imported before NumPy (the ``fovea`` command always is); if
NumPy was imported first nothing changes. A value already in the environment is kept, and
``FOVEA_BLAS_TUNING=0`` leaves the environment alone. The setting is inherited by child
processes. :func:`tune` runs when this module is imported, first thing in ``fovea``.
"""

from __future__ import annotations

import os
import sys

THREAD_TIMEOUT = "20"


def tune() -> bool:
    """Set OPENBLAS_THREAD_TIMEOUT unless disabled, already set, or NumPy is loaded.

    Returns whether the variable was set by this call.
    """
    if os.environ.get("FOVEA_BLAS_TUNING", "1") == "0":
        return False
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ or "numpy" in sys.modules:
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = THREAD_TIMEOUT
    return True


TUNED = tune()
