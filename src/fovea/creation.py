"""Tensor factories: ``tensor``, ``zeros``, ``ones``, ``randn``, ``arange`` ... and the seeded
random generator that every random factory draws from by default.

New tensors go to the default device (:func:`fovea.backends.default`); ``*_like`` factories
to their model's device. Random numbers come from a NumPy generator on the host and are
moved to the device (a no-op on the CPU)."""

from __future__ import annotations

import numpy as np

from fovea import backends, dtypes
from fovea.tensor import Tensor, _to_array

_default_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator (for repeatable runs); returns it."""
    global _default_generator
    _default_generator = np.random.default_rng(seed)
    return _default_generator


def default_generator() -> np.random.Generator:
    return _default_generator


def _gen(generator):
    return _default_generator if generator is None else generator


def _dtype(dtype, op):
    return dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype, op)


def _shape(size):
    if len(size) == 1 and isinstance(size[0], tuple | list):
        size = tuple(size[0])
    for s in size:
        if int(s) < 0:
            raise ValueError(f"negative dimension {s} in size {size}")
    return tuple(int(s) for s in size)


def _xp():
    return backends.default().xp


def _like_xp(t):
    return backends.for_array(t._data).xp


def _finish(arr, requires_grad):
    t = Tensor._make(arr, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Python floats (and lists of them) become the default dtype (float32), Python ints
    int64, bools bool; NumPy arrays keep their dtype (float64 stays float64).
    """
    return _finish(_to_array(data, dtype, "tensor"), requires_grad)


def as_tensor(data, dtype=None) -> Tensor:
    """Like :func:`tensor`, but a Tensor of the right dtype is returned as is."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return tensor(data, dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares ``array``'s memory (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    dtypes.check_dtype(array.dtype, "from_numpy")
    return Tensor._make(array, None)


def zeros(*size, dtype=None, requires_grad=False) -> Tensor:
    return _finish(_xp().zeros(_shape(size), dtype=_dtype(dtype, "zeros")), requires_grad)


def ones(*size, dtype=None, requires_grad=False) -> Tensor:
    return _finish(_xp().ones(_shape(size), dtype=_dtype(dtype, "ones")), requires_grad)


def empty(*size, dtype=None, requires_grad=False) -> Tensor:
    return _finish(_xp().empty(_shape(size), dtype=_dtype(dtype, "empty")), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False) -> Tensor:
    if dtype is None and isinstance(fill_value, bool):
        dtype = np.bool_
    elif dtype is None and isinstance(fill_value, int):
        dtype = np.int64
    arr = _xp().full(_shape((size,)), fill_value, dtype=_dtype(dtype, "full"))
    return _finish(arr, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False) -> Tensor:
    return _finish(_like_xp(t).zeros(t.shape, dtype=dtype or t.dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False) -> Tensor:
    return _finish(_like_xp(t).ones(t.shape, dtype=dtype or t.dtype), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False) -> Tensor:
    return _finish(_like_xp(t).full(t.shape, fill_value, dtype=dtype or t.dtype), requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False) -> Tensor:
    """Standard normal samples from ``generator`` (the default, seeded one if None)."""
    arr = _gen(generator).standard_normal(_shape(size)).astype(_dtype(dtype, "randn"))
    arr = _xp().asarray(arr)
    return _finish(arr, requires_grad)


def rand(*size, generator=None, dtype=None, requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1)."""
    arr = _xp().asarray(_gen(generator).random(_shape(size)).astype(_dtype(dtype, "rand")))
    return _finish(arr, requires_grad)


def randint(low, high, size, generator=None, dtype=np.int64) -> Tensor:
    """Integers uniform in [low, high)."""
    arr = _gen(generator).integers(low, high, size=_shape((size,)), dtype=dtype)
    return Tensor._make(_xp().asarray(arr), None)


def randperm(n, generator=None) -> Tensor:
    return Tensor._make(_xp().asarray(_gen(generator).permutation(n).astype(np.int64)), None)


def arange(start, end=None, step=1, dtype=None) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; ints give int64."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        floats = any(isinstance(v, float) for v in (start, end, step))
        dtype = dtypes.get_default_dtype() if floats else np.int64
    return Tensor._make(_xp().arange(start, end, step, dtype=dtype), None)


def linspace(start, end, steps, dtype=None) -> Tensor:
    return Tensor._make(_xp().linspace(start, end, steps, dtype=_dtype(dtype, "linspace")),
                        None)


def eye(n, m=None, dtype=None) -> Tensor:
    return Tensor._make(_xp().eye(n, m, dtype=_dtype(dtype, "eye")), None)
