"""dtypes: the ones fovea supports, and the default float dtype Python floats become.

(Which array module an op uses is decided by its inputs' device: see :mod:`fovea.backends`.)
"""

from __future__ import annotations

import numpy as np

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
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {d}")
    _default_dtype = d


def is_floating(dtype) -> bool:
    return np.dtype(dtype) in FLOAT_DTYPES


def check_dtype(dtype, op: str = "tensor") -> np.dtype:
    """Return ``dtype`` as a NumPy dtype, or raise ``TypeError`` if fovea does not support it."""
    d = np.dtype(dtype)
    if d not in SUPPORTED_DTYPES:
        names = ", ".join(str(s) for s in SUPPORTED_DTYPES)
        raise TypeError(f"{op}: unsupported dtype {d}; supported dtypes are {names}")
    return d
