"""Array backends: one per device, and the registry that finds an array's backend.

A :class:`Backend` is what an op needs to know about a device: its array module ``xp``
(NumPy for the CPU, CuPy later), the raw-mode namespace that ``Function`` code calls as
``ctx.xp`` (the array module plus a few scatter helpers, see :mod:`fovea._arrayns`), the
array types it owns, and its fast kernel families (``kernels``: a module imported on first
use, or None where the device has none and the generic NumPy-API path runs).

Ops never choose a device: the engine hands each ``Function`` the namespace of its inputs'
backend (:func:`for_arrays`), so outputs and gradients stay where the inputs are. Creation
functions use the default device (the CPU for now)::

    from fovea import backends
    b = backends.for_arrays(x._data, w._data)   # the backend of both (or a clear error)
    y = b.xp.matmul(x._data, w._data)

A new device registers one record: ``backends.register(Backend("cuda", cupy,
(cupy.ndarray,), kernels="fovea.backends.cuda"))``.
"""

from __future__ import annotations

import importlib

# Before NumPy loads: OpenBLAS reads its thread settings once, when it is loaded (see
# process_tuning). Importing any fovea module runs this package first, so it goes here.
from fovea.backends.cpu import process_tuning as _process_tuning  # noqa: F401

# isort: split
import numpy as np

from fovea._arrayns import ArrayNamespace


class device:  # noqa: N801 - PyTorch's name (``torch.device``)
    """A device name, PyTorch style: ``device("cpu")``, ``device("cuda:1")``,
    ``device("cuda", 1)``. Equal to another device or to its string (``== "cpu"``)."""

    __slots__ = ("type", "index")

    def __init__(self, type, index: int | None = None):  # noqa: A002 - PyTorch's name
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif not isinstance(type, str):
            raise TypeError(f"device: expected a string or a device, got {type!r}")
        elif ":" in type:
            if index is not None:
                raise ValueError(f"device: index given twice in {type!r} and {index}")
            type, _, i = type.partition(":")
            if not i.isdigit():
                raise ValueError(f"device: invalid device string {type}:{i!r}")
            index = int(i)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("device is immutable")

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except ValueError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))


class Backend:
    """One device's record.

    Attributes:
        name: the device type (``"cpu"``); ``device`` is the matching :class:`device`.
        xp: the array module (NumPy's API: ``xp.zeros``, ``xp.matmul`` ...).
        array_types: the classes of this device's arrays; a subclass of one of them belongs
            here unless another backend lists that subclass (the most specific wins).
        ns: the raw-mode namespace that ``Function`` code calls as ``ctx.xp``.
        to_host: array -> NumPy array with its values (default ``numpy.asarray``).
        kernels: the device's kernel families (a package imported on first use). A device
            without a package of its own gets :mod:`fovea.backends.generic`: the same
            families written with the NumPy API only, which every array module provides.
    """

    def __init__(self, name: str, xp, array_types: tuple, *, kernels: str | None = None,
                 ns: ArrayNamespace | None = None, to_host=None):
        self.name = name
        # A NumPy array with the values of one of this device's arrays (``Tensor.numpy()``,
        # printing): the array itself on the CPU, a copy from a GPU (``cupy.asnumpy``).
        self.to_host = np.asarray if to_host is None else to_host
        self.device = device(name)
        self.xp = xp
        self.array_types = tuple(array_types)
        self.ns = ArrayNamespace(xp, self) if ns is None else ns
        self._kernels_name = GENERIC_KERNELS if kernels is None else kernels
        self._kernels = _NOT_LOADED

    @property
    def kernels(self):
        """The kernel package: ``fovea.backends.cpu`` for the CPU, ``fovea.backends.generic``
        for a device registered without one."""
        if self._kernels is _NOT_LOADED:
            self._kernels = importlib.import_module(self._kernels_name)
        return self._kernels

    def __repr__(self) -> str:
        return f"<Backend {self.name}: {self.xp.__name__}>"


_NOT_LOADED = object()
GENERIC_KERNELS = "fovea.backends.generic"
"""The kernel families every backend gets for free (NumPy API only)."""
_registry: dict[str, Backend] = {}
_by_type: dict[type, Backend] = {}  # array type -> backend, filled on first sight


def register(backend: Backend) -> Backend:
    """Add (or replace) the backend for ``backend.name``; returns it."""
    if not isinstance(backend, Backend):
        raise TypeError(f"register: expected a Backend, got {type(backend).__name__}")
    _registry[backend.name] = backend
    _by_type.clear()
    return backend


def unregister(name: str) -> None:
    """Remove a registered backend (the CPU backend stays)."""
    if name == "cpu":
        raise ValueError("unregister: the cpu backend cannot be removed")
    _registry.pop(name, None)
    _by_type.clear()


def registered() -> list[Backend]:
    """Every registered backend, the CPU first."""
    return list(_registry.values())


def registered_backend(name: str) -> Backend | None:
    """The backend registered as ``name``, or None (no probing)."""
    return _registry.get(name)


def get(dev) -> Backend:
    """The backend of a device: ``get("cpu")``, ``get(fovea.device("cpu"))``."""
    if isinstance(dev, Backend):
        return dev
    d = device(dev)
    b = _registry.get(d.type)
    if b is None and d.type == "cuda":
        b = _cuda_runtime().ensure()  # CuPy and a GPU: registered on first use
    if b is None and d.type == "cuda":
        why = _cuda_runtime().reason()
        raise RuntimeError(f"{d}: no CUDA device: fovea's GPU backend needs CuPy and an NVIDIA "
                           "GPU; fovea.cuda.is_available() is False"
                           + (f" ({why})" if why else ""))
    if b is None:
        names = ", ".join(_registry)
        raise RuntimeError(f"no backend for device {str(d)!r}; registered: {names}")
    return b


def default() -> Backend:
    """The backend creation functions use (the CPU until ``device=`` arguments exist)."""
    return CPU


def for_array(a) -> Backend:
    """The backend that owns array ``a`` (a TypeError if none does)."""
    b = _by_type.get(type(a))
    return b if b is not None else _resolve(type(a))


def for_arrays(*arrays, op: str | None = None) -> Backend:
    """The backend of ``arrays`` (all on one device), or a RuntimeError naming both devices."""
    if not arrays:
        return default()
    b = for_array(arrays[0])
    for a in arrays[1:]:
        other = for_array(a)
        if other is not b:
            where = f"{op}: " if op else ""
            raise RuntimeError(f"{where}expected all tensors on one device, got {b.device} and "
                               f"{other.device}")
    return b


def array_module(*items):
    """The array module of the device of ``items`` (Tensors or arrays, all on one device)."""
    return for_arrays(*(getattr(t, "_data", t) for t in items)).xp


def is_array(a) -> bool:
    """Whether ``a`` is an array of some registered backend."""
    try:
        for_array(a)
    except TypeError:
        return False
    return True


def _cuda_runtime():
    from fovea.backends.cuda import runtime

    return runtime


def _resolve(cls: type) -> Backend:
    if cls.__module__.startswith("cupy") and "cuda" not in _registry:
        _cuda_runtime().ensure()  # a CuPy array handed to fovea before any "cuda" request
    for base in cls.__mro__:  # the most specific registered class wins
        for b in _registry.values():
            if base in b.array_types:
                _by_type[cls] = b
                return b
    raise TypeError(f"{cls.__name__} is not an array of any registered backend "
                    f"({', '.join(_registry)})")


CPU = register(Backend("cpu", np, (np.ndarray, np.generic), kernels="fovea.backends.cpu"))
"""The CPU backend: NumPy arrays (and NumPy scalars, which some reductions return)."""

CPU_NS = CPU.ns
"""What ``ctx.xp`` is for CPU arrays outside a recorded backward (``ctx.xp is CPU_NS``: raw
CPU arrays, where CPU-only kernels may run)."""

from fovea.backends import cudnn  # noqa: E402,F401  (fovea.backends.cudnn, as in PyTorch)
