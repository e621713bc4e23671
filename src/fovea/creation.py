"""Tensor factories, as PyTorch's creation ops: ``tensor``, ``zeros``, ``full``, ``arange``,
``linspace``, ``eye``, every non-random ``*_like`` and the ``Tensor.new_*`` methods.

Every factory takes ``dtype=``, ``device=`` and ``requires_grad=``; sizes are given as
positional ints, one tuple or ``size=``. New tensors go to ``device`` (the default device,
the CPU, when None); ``*_like`` and ``new_*`` default to their model's dtype and device.
Random factories are in :mod:`fovea.sampling`, generators in :mod:`fovea.random`.
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from fovea import backends, dtypes
from fovea.errors import DTypeError, ShapeError
from fovea.ops._util import tensor_method
from fovea.random import default_generator, manual_seed  # noqa: F401  (fovea <= 0.1 paths)
from fovea.size import Size
from fovea.tensor import Tensor, _to_array
from fovea.tensor_api import layout_like, move_array, preserve_format


# --- argument helpers (shared with fovea.sampling) -----------------------------------------
def size_arg(sizes: tuple, size, op: str) -> Size:
    """The shape from ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``."""
    if size is not None:
        if sizes:
            raise TypeError(f"{op}: size given both positionally and as size=")
        sizes = (size,)
    if len(sizes) == 1 and isinstance(sizes[0], tuple | list):
        sizes = tuple(sizes[0])
    try:
        shape = [operator.index(s) for s in sizes]
    except TypeError:
        raise TypeError(f"{op}: size must be ints, got {sizes!r}") from None
    if any(s < 0 for s in shape):
        raise ShapeError(f"{op}: negative dimension in size {tuple(shape)}")
    return Size(shape)


def device_arg(device) -> backends.Backend:
    """The backend of ``device`` (the default device when None)."""
    return backends.default() if device is None else backends.get(device)


def dtype_arg(dtype, op: str, floating: bool = False) -> np.dtype:
    """``dtype`` checked (the default float dtype when None); ``floating`` refuses others."""
    d = dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype, op)
    if floating and not dtypes.is_floating(d):
        raise DTypeError(f"{op}: expected a floating dtype, got {d}")
    return d


def finish(arr, requires_grad: bool) -> Tensor:
    """Wrap a new array as a leaf (``requires_grad`` only on floating dtypes)."""
    t = Tensor._make(arr, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


# --- from data -----------------------------------------------------------------------------
def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Python floats (and lists of them) become the default dtype (float32), Python ints
    int64, bools bool; NumPy arrays keep their dtype (float64 stays float64). ``device``:
    where the copy goes (default: where ``data`` is, or the default device).
    """
    arr = _to_array(data, dtype, "tensor")
    if device is not None:
        arr = move_array(arr, backends.get(device))
    return finish(arr, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor`, but a Tensor already of that dtype and device is returned as is."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)) and \
            (device is None or data.device == backends.device(device)):
        return data
    return tensor(data, dtype, device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing ``array``'s memory: writes through either are seen by both."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    dtypes.check_dtype(array.dtype, "from_numpy")
    return Tensor._make(array, None)


# --- filled --------------------------------------------------------------------------------
def zeros(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of shape ``size`` (default float dtype)."""
    arr = device_arg(device).xp.zeros(size_arg(sizes, size, "zeros"), dtype_arg(dtype, "zeros"))
    return finish(arr, requires_grad)


def ones(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones of shape ``size`` (default float dtype)."""
    arr = device_arg(device).xp.ones(size_arg(sizes, size, "ones"), dtype_arg(dtype, "ones"))
    return finish(arr, requires_grad)


def empty(*sizes, size=None, dtype=None, device=None, requires_grad=False,
          memory_format=None) -> Tensor:
    """An uninitialised tensor of shape ``size`` (its values are whatever memory held)."""
    arr = device_arg(device).xp.empty(size_arg(sizes, size, "empty"), dtype_arg(dtype, "empty"))
    return finish(layout_like(arr, memory_format, "empty"), requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``fill_value`` everywhere. The dtype follows the value as in PyTorch: a bool gives
    bool, an int int64, a float the default float dtype."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, bool | np.bool_) else
                 np.int64 if isinstance(fill_value, numbers.Integral) else None)
    arr = device_arg(device).xp.full(size_arg((size,), None, "full"), fill_value,
                                     dtype=dtype_arg(dtype, "full"))
    return finish(arr, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The ``(n, m)`` identity matrix (``m`` defaults to ``n``)."""
    for v in (n, m):
        if v is not None and operator.index(v) < 0:
            raise ShapeError(f"eye: n and m must be >= 0, got {n} and {m}")
    arr = device_arg(device).xp.eye(n, m, dtype=dtype_arg(dtype, "eye"))
    return finish(arr, requires_grad)


# --- ranges --------------------------------------------------------------------------------
def _scalar(v):
    """A Python number from a number or a one-element tensor; and whether it is a float."""
    if isinstance(v, Tensor):
        return v.item(), dtypes.is_floating(v.dtype)
    return v, isinstance(v, float | np.floating)


def _fma(a, b, c) -> np.ndarray:
    """``a * b + c`` in float64 with one rounding, as PyTorch's compiled range kernels compute
    it (a fused multiply-add): Dekker's exact product and Knuth's exact sum, then one sum."""
    a, b, c = np.float64(a), np.asarray(b, dtype=np.float64), np.float64(c)
    p = a * b
    sa, sb = a * 134217729.0, b * 134217729.0  # Veltkamp split into 26-bit halves
    ah, bh = sa - (sa - a), sb - (sb - b)
    al, bl = a - ah, b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # p + e == a * b exactly
    s = p + c
    v = s - p
    t = (p - (s - v)) + (c - v)  # s + t == p + c exactly
    return s + (t + e)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``start, start + step, ...`` up to ``end`` (exclusive), as PyTorch computes it.

    The length is ``ceil((end - start) / step)``; any float argument gives the default float
    dtype, ints give int64. Values are ``start + i * step`` rounded once in float64 (int64
    for an integer dtype, the arguments truncated first, so a float step below 1 is an
    error) and then cast, so float steps do not drift.
    """
    if end is None:
        start, end = 0, start
    (start, f1), (end, f2), (step, f3) = _scalar(start), _scalar(end), _scalar(step)
    if dtype is None:
        dtype = dtypes.get_default_dtype() if f1 or f2 or f3 else np.int64
    dtype = dtypes.check_dtype(dtype, "arange")
    acc = np.float64 if dtypes.is_floating(dtype) else np.int64
    start, end, step = (acc(v) for v in (start, end, step))  # as PyTorch's accumulate type
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise ValueError(f"arange: upper bound {end} and lower bound {start} are inconsistent "
                         f"with step sign ({step})")
    n = math.ceil((float(end) - float(start)) / float(step))
    idx = np.arange(n, dtype=acc)
    values = _fma(step, idx, start) if acc is np.float64 else start + step * idx
    return finish(device_arg(device).xp.asarray(values.astype(dtype)), requires_grad)


def _linspace_values(start, end, steps: int, dtype: np.dtype, op: str) -> np.ndarray:
    """PyTorch's linspace on the host: the first half counts up from ``start``, the second
    down from ``end`` (so both ends are exact), in the dtype's precision (float64 for ints)."""
    if operator.index(steps) < 0:
        raise ValueError(f"{op}: number of steps must be non-negative, got {steps}")
    acc = dtype.type if dtypes.is_floating(dtype) else np.float64
    if not dtypes.is_floating(dtype):
        start, end = int(start), int(end)
    start, end = acc(start), acc(end)
    if steps <= 1:
        return np.full(steps, start, dtype=acc)
    step = (end - start) / acc(steps - 1)
    idx = np.arange(steps, dtype=np.float64)
    # start + step * i and end - step * (steps - 1 - i), each rounded once (see _fma)
    up, down = _fma(step, idx, start), _fma(-step, steps - 1 - idx, end)
    return np.where(idx < steps // 2, up, down).astype(acc)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` values evenly spaced from ``start`` to ``end`` inclusive (default float
    dtype; an integer dtype truncates)."""
    dtype = dtype_arg(dtype, "linspace")
    values = _linspace_values(_scalar(start)[0], _scalar(end)[0], steps, dtype, "linspace")
    return finish(device_arg(device).xp.asarray(values.astype(dtype)), requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    """``base ** linspace(start, end, steps)`` (default float dtype)."""
    dtype = dtype_arg(dtype, "logspace")
    exps = _linspace_values(_scalar(start)[0], _scalar(end)[0], steps, dtype, "logspace")
    values = np.power(np.float64(base), exps.astype(np.float64))
    return finish(device_arg(device).xp.asarray(values.astype(dtype)), requires_grad)


# --- *_like and new_* ----------------------------------------------------------------------
def like_args(input, dtype, device, op: str):
    """(backend, dtype) for a ``*_like`` factory: the model's unless given."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    b = backends.for_array(input._data) if device is None else backends.get(device)
    return b, input.dtype if dtype is None else dtypes.check_dtype(dtype, op)


def _like(fill: str, input, dtype, device, requires_grad, memory_format, op: str, *value):
    b, dtype = like_args(input, dtype, device, op)
    if b is backends.for_array(input._data):  # keeps the model's memory layout
        arr = getattr(b.xp, fill + "_like")(input._data, *value, dtype=dtype)
    else:
        arr = getattr(b.xp, fill)(input.shape, *value, dtype=dtype)
    return finish(layout_like(arr, memory_format, op), requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False,
               memory_format=preserve_format) -> Tensor:
    """Zeros of ``input``'s shape, dtype and device (unless given)."""
    return _like("zeros", input, dtype, device, requires_grad, memory_format, "zeros_like")


def ones_like(input, *, dtype=None, device=None, requires_grad=False,
              memory_format=preserve_format) -> Tensor:
    """Ones of ``input``'s shape, dtype and device (unless given)."""
    return _like("ones", input, dtype, device, requires_grad, memory_format, "ones_like")


def empty_like(input, *, dtype=None, device=None, requires_grad=False,
               memory_format=preserve_format) -> Tensor:
    """An uninitialised tensor of ``input``'s shape, dtype and device (unless given)."""
    return _like("empty", input, dtype, device, requires_grad, memory_format, "empty_like")


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False,
              memory_format=preserve_format) -> Tensor:
    """``fill_value`` in ``input``'s shape, dtype (an int dtype truncates) and device."""
    return _like("full", input, dtype, device, requires_grad, memory_format, "full_like",
                 fill_value)


def _own(self, dtype, device):
    return (self.dtype if dtype is None else dtype,
            backends.for_array(self._data).device if device is None else device)


@tensor_method()
def new_zeros(self, *sizes, size=None, dtype=None, device=None, requires_grad=False):
    """Zeros of ``size`` with this tensor's dtype and device (unless given)."""
    dtype, device = _own(self, dtype, device)
    return zeros(*sizes, size=size, dtype=dtype, device=device, requires_grad=requires_grad)


@tensor_method()
def new_ones(self, *sizes, size=None, dtype=None, device=None, requires_grad=False):
    """Ones of ``size`` with this tensor's dtype and device (unless given)."""
    dtype, device = _own(self, dtype, device)
    return ones(*sizes, size=size, dtype=dtype, device=device, requires_grad=requires_grad)


@tensor_method()
def new_empty(self, *sizes, size=None, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor of ``size`` with this tensor's dtype and device."""
    dtype, device = _own(self, dtype, device)
    return empty(*sizes, size=size, dtype=dtype, device=device, requires_grad=requires_grad)


@tensor_method()
def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """``fill_value`` in ``size`` with this tensor's dtype (not the value's) and device."""
    dtype, device = _own(self, dtype, device)
    return full(size, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


@tensor_method()
def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` with this tensor's dtype and device (unless given)."""
    dtype, device = _own(self, dtype, device)
    return tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def __getattr__(name: str):
    # The random factories lived here before fovea.sampling; keep their old import path
    # (``from fovea.creation import randn``) without importing fovea.sampling at load time.
    if name in ("rand", "randn", "randint", "randperm"):
        from fovea import sampling

        return getattr(sampling, name)
    raise AttributeError(f"module 'fovea.creation' has no attribute {name!r}")
