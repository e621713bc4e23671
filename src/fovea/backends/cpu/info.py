"""What the CPU backend runs with, for ``fovea info`` and bug reports.

:func:`describe` imports the kernel machinery when called (not when this module is
imported), so asking does not change what a process has loaded before it needs it.
"""

from __future__ import annotations

import os


def _blas_info() -> dict:
    """{"library", "version", "threads"} of NumPy's BLAS, from threadpoolctl when present,
    else from ``numpy.show_config``."""
    try:
        from threadpoolctl import threadpool_info

        libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if libs:
            return {"library": libs[0].get("internal_api"), "version": libs[0].get("version"),
                    "threads": libs[0].get("num_threads")}
    except Exception:  # noqa: BLE001 - threadpoolctl missing or failing: fall through
        pass
    try:
        import numpy as np

        deps = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return {"library": deps.get("name"), "version": deps.get("version"), "threads": None}
    except Exception:  # noqa: BLE001 - older NumPy: no machine-readable config
        return {"library": None, "version": None, "threads": None}


def describe() -> dict:
    """The CPU backend's facts: a JSON-serialisable dict.

    Keys: ``threads`` (threads of the kernels' parallel regions), ``llvm_conv_kernels``
    ({"available", "used": kernels compiled so far}), ``numba_kernels`` ({"available",
    "threading_layer"}), ``blas`` ({"library", "version", "threads", "accumulating_gemm"}),
    ``process_tuning`` ({"malloc", "openblas_thread_timeout",
    "openblas_timeout_set_by_fovea"}).
    """
    from fovea.backends.cpu import blas, llvm, process_tuning, threads
    from fovea.backends.cpu import numba as nb
    from fovea.backends.cpu.conv import jit_taps

    numba_on = nb.available()
    return {
        "threads": threads.num_threads(),
        "llvm_conv_kernels": {"available": llvm.available(), "used": jit_taps.compiled_count()},
        "numba_kernels": {"available": numba_on,
                          "threading_layer": nb.threading_layer() if numba_on else None},
        "blas": {**_blas_info(), "accumulating_gemm": blas.available()},
        "process_tuning": {"malloc": process_tuning.malloc_tuned(),
                           "openblas_thread_timeout": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
                           "openblas_timeout_set_by_fovea": process_tuning.openblas_tuned()},
    }
