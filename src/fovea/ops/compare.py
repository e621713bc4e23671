"""Comparisons and logical ops. Their results are bool tensors with no gradient."""

from __future__ import annotations

from fovea import backend
from fovea.ops._util import as_tensor, binary_operands, broadcast_check, resolve_dims


def _compare(fn, a, b, op):
    from fovea.tensor import Tensor

    a, b = binary_operands(a, b, op)
    if a.shape != b.shape:
        broadcast_check(a, b, op)
    return Tensor._make(fn(a._data, b._data), None)


def lt(a, b):
    """a < b elementwise (bool, no gradient)."""
    return _compare(backend.xp.less, a, b, "lt")


def le(a, b):
    """a <= b elementwise."""
    return _compare(backend.xp.less_equal, a, b, "le")


def gt(a, b):
    """a > b elementwise."""
    return _compare(backend.xp.greater, a, b, "gt")


def ge(a, b):
    """a >= b elementwise."""
    return _compare(backend.xp.greater_equal, a, b, "ge")


def eq(a, b):
    """a == b elementwise."""
    return _compare(backend.xp.equal, a, b, "eq")


def ne(a, b):
    """a != b elementwise."""
    return _compare(backend.xp.not_equal, a, b, "ne")


def logical_and(a, b):
    return _compare(backend.xp.logical_and, a, b, "logical_and")


def logical_or(a, b):
    return _compare(backend.xp.logical_or, a, b, "logical_or")


def logical_not(x):
    from fovea.tensor import Tensor

    x = as_tensor(x, op="logical_not")
    if x.dtype != bool:
        return Tensor._make(~x._data, None)
    return Tensor._make(backend.xp.logical_not(x._data), None)


def sign(x):
    """-1, 0 or 1 elementwise (no gradient: the derivative is 0 almost everywhere)."""
    from fovea.tensor import Tensor

    x = as_tensor(x, op="sign")
    return Tensor._make(backend.xp.sign(x._data), None)


def isnan(x):
    from fovea.tensor import Tensor

    return Tensor._make(backend.xp.isnan(as_tensor(x, op="isnan")._data), None)


def isfinite(x):
    from fovea.tensor import Tensor

    return Tensor._make(backend.xp.isfinite(as_tensor(x, op="isfinite")._data), None)


def all(x, dim=None):  # noqa: A001 - PyTorch's name
    from fovea.tensor import Tensor

    x = as_tensor(x, op="all")
    return Tensor._make(backend.xp.all(x._data, axis=resolve_dims(dim, None, x.ndim, "all")), None)


def any(x, dim=None):  # noqa: A001 - PyTorch's name
    from fovea.tensor import Tensor

    x = as_tensor(x, op="any")
    return Tensor._make(backend.xp.any(x._data, axis=resolve_dims(dim, None, x.ndim, "any")), None)
