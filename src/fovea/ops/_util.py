"""Helpers shared by the op wrappers: turning operands into tensors, normalising dims."""

from __future__ import annotations

import numbers

import numpy as np

from fovea import backends, dtypes
from fovea.tensor import Tensor, _to_array  # defined before fovea.tensor imports the ops


def xp_of(t: Tensor):
    """The array module of tensor ``t``'s device."""
    return backends.for_array(t._data).xp


def as_tensor(x, like=None, op: str = "op"):
    """``x`` as a Tensor; Python scalars take ``like``'s dtype (when floating) and device."""
    if isinstance(x, Tensor):
        return x
    xp = (backends.default() if like is None else backends.for_array(like._data)).xp
    if type(x) is float and like is not None and like._data.dtype.kind == "f":
        # Fast path for the commonest constant (``x * 0.5``): a float32/64 scalar array.
        return Tensor._make(xp.asarray(x, dtype=like._data.dtype), None)
    if isinstance(x, bool):
        return Tensor._make(xp.asarray(x), None)
    if isinstance(x, numbers.Number):
        integral = isinstance(x, numbers.Integral)
        if like is not None and (dtypes.is_floating(like.dtype)
                                 or (integral and like._data.dtype.kind in "iu")):
            dtype = like.dtype
        elif isinstance(x, numbers.Integral):
            dtype = xp.int64
        else:
            dtype = dtypes.get_default_dtype()
        if integral and xp.dtype(dtype).kind in "iu":
            # PyTorch wraps an out-of-range integer scalar into the tensor's dtype
            # (int8 tensor + 1000 adds -24); NumPy would raise OverflowError.
            return Tensor._make(xp.asarray(int(x)).astype(dtype), None)
        return Tensor._make(xp.asarray(x, dtype=dtype), None)
    if backends.is_array(x) and not isinstance(x, np.generic):  # an array: wrapped, not copied
        dtypes.check_dtype(x.dtype, op)
        return Tensor._make(x, None)
    try:
        return Tensor._make(_to_array(x, None, op), None)
    except TypeError:
        raise TypeError(f"{op}: expected a Tensor or a number, got {type(x).__name__}") from None


def _category(dtype) -> int:
    """PyTorch's promotion categories: bool 0 < integer 1 < floating 2."""
    kind = np.dtype(dtype).kind
    return 0 if kind == "b" else 2 if kind in "fc" else 1


def _cast(t: Tensor, dtype) -> Tensor:
    """``t`` in ``dtype``; differentiable when ``t`` needs a gradient."""
    if t.requires_grad:
        return t.to(dtype)
    return Tensor._make(t._data.astype(dtype), None)


def binary_operands(a, b, op: str):
    """Tensors for a binary op, converted by PyTorch's promotion rules.

    A higher category (bool < integer < floating) wins; within one category a 0-d tensor (or
    a Python scalar) does not widen a tensor with dimensions (float32 tensor * 0-d float64
    tensor is float32, uint8 tensor + 0-d int64 tensor is uint8), while two tensors of the
    same rank promote as usual (int8 + uint8 is int16).
    """
    if isinstance(b, Tensor) and isinstance(a, Tensor) and a._data.dtype == b._data.dtype:
        return a, b  # the common case: nothing to convert
    if not isinstance(a, Tensor):
        b = as_tensor(b, None, op)
        a = as_tensor(a, b, op)
    else:
        b = as_tensor(b, a, op)
    da, db = a._data.dtype, b._data.dtype
    if da == db:
        return a, b
    ca, cb = _category(da), _category(db)
    za, zb = a._data.ndim == 0, b._data.ndim == 0
    if ca == cb and za != zb:
        # Same category: the tensor with dimensions keeps its dtype.
        return (_cast(a, db), b) if za else (a, _cast(b, da))
    if ca > cb:
        return a, _cast(b, da)
    if cb > ca:
        return _cast(a, db), b
    return a, b  # same category and rank: NumPy's promotion is PyTorch's


def broadcast_check(a, b, op: str) -> None:
    try:
        xp_of(a).broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together"
        ) from None


def resolve_dims(dim, axis, ndim: int, op: str):
    """Merge PyTorch's ``dim`` and NumPy's ``axis``: a sorted tuple of axes >= 0, or None."""
    if dim is not None and axis is not None:
        raise TypeError(f"{op}: pass dim or axis, not both")
    d = dim if dim is not None else axis
    if d is None:
        return None
    dims = d if isinstance(d, tuple | list) else (d,)
    out = []
    for x in dims:
        if not isinstance(x, numbers.Integral):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {type(x).__name__}")
        n = max(ndim, 1)
        if not -n <= x < n:
            raise IndexError(
                f"{op}: dimension {x} is out of range for a tensor with {ndim} dimensions"
            )
        out.append(int(x) % n)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated dimension in {d}")
    return tuple(sorted(out))


def normalize_dim(dim: int, ndim: int, op: str) -> int:
    if not -ndim <= dim < max(ndim, 1):
        raise IndexError(f"{op}: dimension {dim} is out of range for a tensor with {ndim} dims")
    return dim % max(ndim, 1)


def require_float(t, op: str, arg: str = "input") -> None:
    if not dtypes.is_floating(t.dtype):
        raise TypeError(f"{op}: {arg} must be a floating tensor, got dtype {t.dtype}")


def tensor_method(*names: str, inplace: bool = False, replace: bool = False):
    """Decorator: the op also becomes a ``Tensor`` method (``x.name(...)``, self first).

    ``names`` default to the function's name; ``inplace=True`` adds ``x.name_(...)`` too,
    which writes the result into ``x`` as PyTorch's in-place ops do (same object, version
    bumped, refused on a leaf that requires grad in grad mode, recorded otherwise; see
    ``Tensor._augmented``). A name that ``Tensor`` already has is refused unless
    ``replace=True``, so two op families cannot silently claim the same method.
    """
    def register(fn):
        for name in names or (fn.__name__,):
            _install(name, fn, replace)
            if inplace:
                _install(name + "_", _inplace_variant(fn, name + "_"), replace)
        return fn
    return register


def _install(name: str, fn, replace: bool) -> None:
    if not replace and hasattr(Tensor, name):
        raise RuntimeError(f"Tensor.{name} exists already; pass replace=True to redefine it")
    setattr(Tensor, name, fn)


def _inplace_variant(fn, name: str):
    def method(self, *args, **kwargs):
        needs = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        return self._augmented(name, lambda t, _: fn(t, *args, **kwargs),
                               needs[0] if needs else None)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place :func:`{fn.__name__}`: writes the result into this tensor."
    return method
