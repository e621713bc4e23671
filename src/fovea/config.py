"""fovea's configuration: the one module that reads the ``FOVEA_*`` environment variables.

Flags (read once, the first time any of them is needed; ``0`` turns a feature off):

* ``FOVEA_JIT``: compiled kernels, the generated LLVM convolution kernels and the Numba
  kernels of ReLU, batch norm and max-pool (``0``: NumPy/BLAS only);
* ``FOVEA_BLAS_TUNING``: set ``OPENBLAS_THREAD_TIMEOUT`` before NumPy loads
  (see :mod:`fovea.backends.cpu.process_tuning`);
* ``FOVEA_MALLOC_TUNING``: raise glibc's malloc thresholds so freed arrays are reused.

and one path, read when asked (tests and users point it elsewhere at run time):

* ``FOVEA_DATA_DIR``: where datasets are downloaded (default ``~/.cache/fovea/datasets``).

Code asks :func:`settings` (``settings().jit``), never ``os.environ``. Tests switch a flag
with :func:`override` (a context manager), or change the environment and call
:func:`reload`. (What the CPU backend runs with, for ``fovea info``, is
:func:`fovea.backends.cpu.info.describe`.)

This module imports nothing from fovea at import time and does not import NumPy: it is
loaded before NumPy, so that the OpenBLAS tuning can still take effect.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Iterator

_FLAGS = {"jit": "FOVEA_JIT", "blas_tuning": "FOVEA_BLAS_TUNING",
          "malloc_tuning": "FOVEA_MALLOC_TUNING"}


@dataclasses.dataclass(frozen=True)
class Settings:
    """What is switched on. Each field is True unless its variable is ``0``."""

    jit: bool = True
    blas_tuning: bool = True
    malloc_tuning: bool = True


_lock = threading.Lock()
_state: dict = {"read": None, "overrides": []}


def _from_environment() -> Settings:
    return Settings(**{field: os.environ.get(var, "1") != "0" for field, var in _FLAGS.items()})


def settings() -> Settings:
    """The active settings: the environment as read once, under any :func:`override`."""
    if _state["overrides"]:
        return _state["overrides"][-1]
    if _state["read"] is None:
        with _lock:
            if _state["read"] is None:
                _state["read"] = _from_environment()
    return _state["read"]


def reload() -> Settings:
    """Read the ``FOVEA_*`` variables again (after a test changed the environment)."""
    with _lock:
        _state["read"] = _from_environment()
    return _state["read"]


@contextlib.contextmanager
def override(**changes: bool) -> Iterator[Settings]:
    """Within the block, the settings with ``changes`` applied (e.g. ``override(jit=False)``).

    Raises:
        TypeError: for a name that is not a :class:`Settings` field.
    """
    new = dataclasses.replace(settings(), **changes)
    _state["overrides"].append(new)
    try:
        yield new
    finally:
        _state["overrides"].remove(new)


def data_dir() -> str:
    """The dataset cache directory: ``$FOVEA_DATA_DIR`` or ``~/.cache/fovea/datasets``."""
    env = os.environ.get("FOVEA_DATA_DIR")
    if env:
        return os.path.expanduser(env)
    return os.path.join(os.path.expanduser("~"), ".cache", "fovea", "datasets")


def environment() -> dict[str, str]:
    """Every ``FOVEA_*`` variable set in the environment, by name."""
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith("FOVEA_")}
