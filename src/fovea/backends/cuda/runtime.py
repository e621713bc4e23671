"""The ``cuda`` backend: CuPy's arrays as a fovea device, registered when a GPU answers.

:func:`ensure` is called the first time anything asks for the device ``"cuda"``
(``fovea.cuda.is_available()``, ``.to("cuda")``, ``device="cuda"``): it imports CuPy, asks
the CUDA runtime for its device count and, when there is a GPU, registers::

    Backend("cuda", cupy, (cupy.ndarray,), kernels="fovea.backends.cuda",
            to_host=cupy.asnumpy, ns=CudaNamespace(...))

Without CuPy, without a driver or without a GPU nothing is registered and :func:`reason`
says why in one line (the error ``.to("cuda")`` raises quotes it). The probe runs once per
process; importing fovea never imports CuPy.

:func:`make_backend` builds the record from any NumPy-like module; the tests build one
from a NumPy stand-in for CuPy to run this package's code paths without a GPU.
"""

from __future__ import annotations

import importlib

from fovea import backends
from fovea._arrayns import ArrayNamespace, is_basic_key

NAME = "cuda"
KERNELS = "fovea.backends.cuda"
INSTALL = "pip install 'fovea[cuda]'"

_probe: dict = {"done": False, "reason": None}


class CudaNamespace(ArrayNamespace):
    """``ctx.xp`` for CuPy arrays: CuPy's functions, with scatter-adds through
    ``cupyx.scatter_add`` (repeated indices accumulate, atomically on the GPU) and an open
    index grid built with broadcast ``arange``\\ s (``cupy.indices`` has no ``sparse``)."""

    def __init__(self, xp, backend=None, scatter_add=None):
        super().__init__(xp, backend)
        self._scatter_add = scatter_add

    def scatter_add(self, out, key, values) -> None:
        """``out[key] += values`` in place, accumulating repeated indices."""
        self._scatter_add(out, key, values)

    def indices(self, dimensions, dtype=int, sparse: bool = False):
        """``numpy.indices`` (``sparse=True``: an open grid of broadcastable ``arange``\\ s)."""
        if not sparse:
            return self.module.indices(dimensions, dtype=dtype)
        n = len(dimensions)
        return tuple(self.module.arange(d, dtype=dtype).reshape((1,) * i + (d,)
                                                                + (1,) * (n - i - 1))
                     for i, d in enumerate(dimensions))

    def scatter_add_zeros(self, shape, key, values):
        """``zeros(shape)`` with ``values`` added at ``key`` (repeated indices accumulate)."""
        xp = self.module
        out = xp.zeros(shape, dtype=values.dtype)
        is_mask = not isinstance(key, tuple) and getattr(key, "dtype", None) == xp.dtype(bool)
        if is_basic_key(key) or is_mask:
            out[key] = values
        else:
            self._scatter_add(out, key, values)
        return out

    def put_along_axis_zeros(self, shape, indices, values, axis):
        """``zeros(shape)`` with ``values`` added at ``indices`` along ``axis`` (accumulating);
        ``indices`` may be shorter than ``shape`` outside ``axis``."""
        xp = self.module
        out = xp.zeros(shape, dtype=values.dtype)
        grid = list(self.indices(indices.shape, sparse=True))
        grid[axis] = indices
        self._scatter_add(out, tuple(grid), xp.broadcast_to(values, indices.shape))
        return out


def make_backend(xp, array_types: tuple, *, name: str = NAME, to_host=None,
                 scatter_add=None) -> backends.Backend:
    """The ``cuda`` backend record for array module ``xp`` (CuPy; a stand-in in tests) with
    this package's kernels and a :class:`CudaNamespace` (``scatter_add``: CuPy's
    ``cupyx.scatter_add``; default ``xp.add.at``)."""
    b = backends.Backend(name, xp, array_types, kernels=KERNELS, to_host=to_host)
    b.ns = CudaNamespace(xp, b, scatter_add if scatter_add is not None else xp.add.at)
    return b


def probe():
    """``(cupy, None)`` when CuPy imports and sees at least one GPU, else ``(None, why)``."""
    try:
        cp = importlib.import_module("cupy")
    except ImportError:
        return None, f"CuPy is not installed ({INSTALL})"
    except Exception as e:  # a broken CUDA install can fail in other ways while loading
        return None, f"CuPy failed to import: {_line(e)}"
    try:
        count = cp.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDARuntimeError: no driver, a driver too old, no device
        return None, f"CUDA runtime: {_line(e)}"
    if count < 1:
        return None, "the CUDA runtime sees no GPU"
    return cp, None


def _line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def ensure() -> backends.Backend | None:
    """The registered ``cuda`` backend, probing (once per process) and registering it first
    when a GPU is there; None without one (see :func:`reason`)."""
    b = backends.registered_backend(NAME)
    if b is not None or _probe["done"]:
        return b
    _probe["done"] = True
    cp, why = probe()
    if cp is None:
        _probe["reason"] = why
        return None
    import cupyx

    return backends.register(make_backend(cp, (cp.ndarray,), to_host=cp.asnumpy,
                                          scatter_add=cupyx.scatter_add))


def reason() -> str | None:
    """Why there is no ``cuda`` backend (one line), or None when there is one or no probe
    has run."""
    return None if backends.registered_backend(NAME) is not None else _probe["reason"]
