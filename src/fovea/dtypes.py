"""dtypes: the ones fovea supports, and the default float dtype Python floats become.

(Which array module an op uses is decided by its inputs' device: see :mod:`fovea.backends`.)
"""

from __future__ import annotations

import numpy as np

from fovea.errors import DTypeError

_default_dtype = np.dtype(np.float32)

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
INT_DTYPES = tuple(
    np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                          np.uint64)
)
BOOL_DTYPE = np.dtype(np.bool_)
SUPPORTED_DTYPES = FLOAT_DTYPES + INT_DTYPES + (BOOL_DTYPE,)


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats become (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the dtype that Python floats become; must be a floating dtype."""
    global _default_dtype
    d = np.dtype(dtype)
    if d not in FLOAT_DTYPES:
        raise DTypeError(f"set_default_dtype: expected a floating dtype, got {d}")
    _default_dtype = d


def is_floating(dtype) -> bool:
    return np.dtype(dtype) in FLOAT_DTYPES


def check_dtype(dtype, op: str = "tensor") -> np.dtype:
    """Return ``dtype`` as a NumPy dtype, or raise :class:`~fovea.errors.DTypeError` (a
    ``TypeError`` and a ``RuntimeError``) if fovea does not support it."""
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{op}: {dtype!r} is not a dtype") from None
    if d not in SUPPORTED_DTYPES:
        names = ", ".join(str(s) for s in SUPPORTED_DTYPES)
        raise DTypeError(f"{op}: unsupported dtype {d}; supported dtypes are {names}")
    return d


def is_floating_point(input) -> bool:
    """Whether tensor ``input`` has a floating dtype (``torch.is_floating_point``)."""
    return is_floating(input.dtype)


def finfo(dtype=None) -> np.finfo:
    """Machine limits of a floating dtype (the default one if None): ``eps``, ``max``,
    ``min``, ``tiny``, ``resolution``, ``bits``, as ``torch.finfo``."""
    return np.finfo(get_default_dtype() if dtype is None else dtype)


def iinfo(dtype) -> np.iinfo:
    """Limits of an integer dtype: ``min``, ``max``, ``bits``, as ``torch.iinfo``."""
    return np.iinfo(dtype)


# PyTorch's dtype names not spelled the NumPy way (fovea/__init__.py exports them).
int8, int16 = np.int8, np.int16
uint16, uint32, uint64 = np.uint16, np.uint32, np.uint64
half, short = np.float16, np.int16
