"""C ← α·A·B + β·C in place, through the very BLAS that NumPy itself calls.

NumPy's ``matmul`` always overwrites its output; a convolution computed as a sum of
shifted products wants BLAS to *accumulate* (β = 1) instead of writing a temporary and
adding it (two extra passes over the output per kernel tap). So this module binds
``cblas_?gemm`` of NumPy's own OpenBLAS with ctypes: the same library instance and thread
pool as ``np.matmul`` (a second BLAS, e.g. SciPy's, would bring its own threads, which
busy-wait after each call and steal the cores from the first).

Operands may be any 2-D strided views whose rows (or columns) are contiguous, e.g. one
group's channel slice of a wider matrix: leading dimensions are passed to BLAS, nothing is
copied. Where the binding is unavailable (another BLAS vendor, an unusual build) the same
call falls back to ``matmul`` plus an add, with the same results.
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _bind():
    """({dtype: cblas gemm}, (get_num_threads, set_num_threads) or None) from NumPy's
    bundled OpenBLAS, or ({}, None) if it cannot be found."""
    base = os.path.dirname(np.__file__)
    paths = []
    for pattern in ("../numpy.libs/*openblas*", ".dylibs/*openblas*", "../numpy.libs/*.dll"):
        paths += sorted(glob.glob(os.path.join(base, pattern)))
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        # (prefix, suffix, 64-bit integers?) of the symbol names builds use.
        for prefix, suffix, ilp64 in (("scipy_cblas_", "64_", True), ("cblas_", "64_", True),
                                      ("scipy_cblas_", "", False), ("cblas_", "", False)):
            try:
                fns = {dt: getattr(lib, f"{prefix}{ch}gemm{suffix}")
                       for dt, ch in zip(_DTYPES, "sd")}
            except AttributeError:
                continue
            integer = ctypes.c_int64 if ilp64 else ctypes.c_int32
            for dt, fn in fns.items():
                real = ctypes.c_float if dt == np.float32 else ctypes.c_double
                fn.restype = None
                fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer,
                               integer, real, ctypes.c_void_p, integer, ctypes.c_void_p,
                               integer, real, ctypes.c_void_p, integer]
            if _self_test(fns):
                return fns, _thread_control(lib, prefix, suffix)
    return {}, None


def _thread_control(lib, prefix: str, suffix: str):
    """OpenBLAS's get/set_num_threads under this build's naming, or None."""
    pre = "scipy_" if prefix.startswith("scipy_") else ""
    for get_name, set_name in ((f"{pre}openblas_get_num_threads{suffix}",
                                f"{pre}openblas_set_num_threads{suffix}"),
                               ("openblas_get_num_threads", "openblas_set_num_threads")):
        try:
            get, set_ = getattr(lib, get_name), getattr(lib, set_name)
        except AttributeError:
            continue
        get.restype, get.argtypes = ctypes.c_int, []
        set_.restype, set_.argtypes = None, [ctypes.c_int]
        return get, set_
    return None


def _self_test(fns) -> bool:
    rng = np.random.default_rng(0)
    for dt, fn in fns.items():
        a = rng.standard_normal((5, 9)).astype(dt)[:, 1:8]  # row stride 9, K = 7
        b = rng.standard_normal((3, 7)).astype(dt).T  # a transposed operand
        c = rng.standard_normal((5, 3)).astype(dt)
        want = a @ b + c
        try:
            _call(fn, a, b, c, 1.0)
        except Exception:  # pragma: no cover - a broken binding: do not use it
            return False
        if not np.allclose(c, want, rtol=1e-5, atol=1e-5):
            return False  # pragma: no cover
    return True


def _layout(m: np.ndarray):
    """(transpose flag, leading dimension) of a 2-D view for row-major BLAS, or None."""
    item = m.itemsize
    rows, cols = m.shape
    s0, s1 = m.strides
    if (s1 == item or cols == 1) and s0 % item == 0 and s0 // item >= max(cols, 1):
        return _NO_TRANS, s0 // item
    if (s0 == item or rows == 1) and s1 % item == 0 and s1 // item >= max(rows, 1):
        return _TRANS, s1 // item
    return None


def _call(fn, a, b, c, beta) -> None:
    (ta, lda), (tb, ldb) = _layout(a), _layout(b)
    m, k = a.shape
    n = b.shape[1]
    ldc = c.strides[0] // c.itemsize
    fn(_ROW_MAJOR, ta, tb, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, beta,
       c.ctypes.data, ldc)


_FNS, _THREADS = _bind()


def available() -> bool:
    """True when the in-place accumulating gemm runs in NumPy's own BLAS."""
    return bool(_FNS)


def get_num_threads() -> int | None:
    """The thread count NumPy's BLAS uses (None if it cannot be queried)."""
    return _THREADS[0]() if _THREADS else None


def set_num_threads(n: int) -> bool:
    """Set NumPy's BLAS thread count; False if it cannot be controlled."""
    if not _THREADS:
        return False
    _THREADS[1](int(n))
    return True


def gemm(a: np.ndarray, b: np.ndarray, c: np.ndarray, accumulate: bool) -> None:
    """c ← a @ b (+ c when ``accumulate``), in place.

    Args:
        a: (M, K), b: (K, N): any strides with contiguous rows or columns.
        c: (M, N) with contiguous rows (any row stride), same dtype as a and b.
        accumulate: add to c (β = 1) instead of overwriting it (β = 0).
    """
    fn = _FNS.get(c.dtype)
    if (fn is not None and a.dtype == b.dtype == c.dtype and c.ndim == 2
            and (c.strides[1] == c.itemsize or c.shape[1] == 1)
            and c.strides[0] % c.itemsize == 0 and c.strides[0] >= c.shape[1] * c.itemsize
            and a.shape[0] and b.shape[1] and a.shape[1]):
        if _layout(a) is None:
            a = np.ascontiguousarray(a)
        if _layout(b) is None:
            b = np.ascontiguousarray(b)
        _call(fn, a, b, c, 1.0 if accumulate else 0.0)
        return
    if accumulate:
        c += a @ b
    else:
        np.matmul(a, b, out=c)
