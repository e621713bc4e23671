"""A stand-in device that proves the backend seam: NumPy arrays in a distinct array type.

``StandInArray`` is an ndarray subclass that refuses to meet plain NumPy arrays in a ufunc
(as CuPy refuses host arrays), and keeps every result, scalars included, a StandInArray.
Its array module wraps NumPy so that every function returns StandInArrays too. The backend
registers no kernels, so fovea's generic (NumPy-API) path runs. If any op or gradient
silently turned into a plain ``numpy.ndarray`` (an ``np.`` call, a CPU-only kernel), the
harness in ``tests/oracle.py`` sees it.
"""

from __future__ import annotations

import threading
import types

import numpy as np

from fovea import backends

NAME = "standin"


class StandInArray(np.ndarray):
    """An array of the stand-in device (NumPy memory, a type of its own)."""

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        for a in inputs + (out or ()):
            if isinstance(a, np.ndarray) and not isinstance(a, StandInArray):
                raise TypeError(f"standin: {ufunc.__name__} got a NumPy array next to a "
                                "standin array (an array on the wrong device)")
        args = [_plain(a) for a in inputs]
        if out is not None:
            kwargs["out"] = tuple(_plain(o) for o in out)
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        # NumPy's own functions (np.zeros_like, np.concatenate ...) called on a standin array
        # from outside the device's array module: an op that named NumPy (CuPy refuses too).
        if not _inside.depth:
            raise TypeError(f"standin: numpy.{func.__name__} called on a standin array "
                            "(use the device's array module)")
        return super().__array_function__(func, types, args, kwargs)

    def __getitem__(self, key):
        return wrap(super().__getitem__(key))


def _plain(a):
    return a.view(np.ndarray) if isinstance(a, StandInArray) else a


def wrap(result):
    """Results as StandInArrays (NumPy scalars become 0-d arrays); other values unchanged."""
    if isinstance(result, StandInArray):
        return result
    if isinstance(result, np.ndarray):
        return result.view(StandInArray)
    if isinstance(result, np.generic):
        return np.asarray(result).view(StandInArray)
    if isinstance(result, tuple | list) and result and isinstance(result[0], np.ndarray):
        return type(result)(wrap(r) for r in result)
    return result


def _check_args(name, args):
    for a in args:
        items = a if isinstance(a, tuple | list) else (a,)
        for x in items:
            if isinstance(x, np.ndarray) and not isinstance(x, StandInArray):
                raise TypeError(f"standin: {name} got a NumPy array (an array on the wrong "
                                "device)")


# Copies from the host (as ``cupy.asarray`` does): the only functions that take NumPy arrays.
_TRANSFERS = {"array", "asarray", "asanyarray", "ascontiguousarray"}


_inside = threading.local()
_inside.depth = 0


def _wrapped(name, fn):
    def call(*args, **kwargs):
        if name not in _TRANSFERS:
            _check_args(name, args)
        _inside.depth = getattr(_inside, "depth", 0) + 1
        try:
            return wrap(fn(*args, **kwargs))
        finally:
            _inside.depth -= 1

    call.__name__ = name
    return call


def _make_module():
    """NumPy's namespace with every function returning StandInArrays (types, dtypes and
    ufuncs pass through: ufuncs dispatch to StandInArray.__array_ufunc__)."""
    mod = types.ModuleType("standin_numpy")
    for name in dir(np):
        if name.startswith("_"):
            continue
        obj = getattr(np, name)
        if isinstance(obj, np.ufunc | type | np.dtype) or not callable(obj):
            setattr(mod, name, obj)
        else:
            setattr(mod, name, _wrapped(name, obj))
    return mod


xp = _make_module()


def register() -> backends.Backend:
    """Register the stand-in device (no kernels: the generic path runs)."""
    return backends.register(backends.Backend(NAME, xp, (StandInArray,)))


def to_device(a) -> StandInArray:
    """A copy of host array ``a`` on the stand-in device."""
    return xp.array(a)
