"""Comparisons, logical and bitwise ops: results with no gradient, on the inputs' device.

Comparisons and logical ops give bool tensors; bitwise ops (``&``, ``|``, ``^``, ``~``,
``<<``, ``>>``) work on integer and bool tensors as PyTorch's do (bitwise on integers, logical
on bools) and refuse floating ones."""

from __future__ import annotations

from fovea import backends
from fovea.ops._util import as_tensor, binary_operands, broadcast_check, resolve_dims, xp_of
from fovea.tensor import Tensor


def _compare(name, a, b, op, kinds=None):
    """``xp.<name>(a, b)`` with no gradient; ``kinds``: the dtype kinds allowed (bitwise)."""
    a, b = binary_operands(a, b, op)
    for t in (a, b) if kinds else ():
        if t.dtype.kind not in kinds:
            raise TypeError(f"{op}: expected integer or bool tensors, got dtype {t.dtype}")
    if a.shape != b.shape:
        broadcast_check(a, b, op)
    xp = backends.for_arrays(a._data, b._data, op=op).xp
    return Tensor._make(getattr(xp, name)(a._data, b._data), None)


def _unary(name, x, op, **kwargs):
    x = as_tensor(x, op=op)
    return Tensor._make(getattr(xp_of(x), name)(x._data, **kwargs), None)


def bitwise_and(a, b):
    """a & b: bitwise on integers, logical on bools (no gradient)."""
    return _compare("bitwise_and", a, b, "bitwise_and", "iub")


def bitwise_or(a, b):
    """a | b: bitwise on integers, logical on bools."""
    return _compare("bitwise_or", a, b, "bitwise_or", "iub")


def bitwise_xor(a, b):
    """a ^ b: bitwise on integers, logical on bools."""
    return _compare("bitwise_xor", a, b, "bitwise_xor", "iub")


def bitwise_left_shift(a, b):
    """a << b for integer tensors."""
    return _compare("left_shift", a, b, "bitwise_left_shift", "iub")


def bitwise_right_shift(a, b):
    """a >> b for integer tensors (arithmetic shift for signed ones)."""
    return _compare("right_shift", a, b, "bitwise_right_shift", "iub")


def bitwise_not(x):
    """~x: bitwise complement on integers, logical not on bools."""
    x = as_tensor(x, op="bitwise_not")
    if x.dtype.kind not in "iub":
        raise TypeError(f"bitwise_not: expected an integer or bool tensor, got dtype {x.dtype}")
    return _unary("invert", x, "bitwise_not")


def lt(a, b):
    """a < b elementwise (bool, no gradient)."""
    return _compare("less", a, b, "lt")


def le(a, b):
    """a <= b elementwise."""
    return _compare("less_equal", a, b, "le")


def gt(a, b):
    """a > b elementwise."""
    return _compare("greater", a, b, "gt")


def ge(a, b):
    """a >= b elementwise."""
    return _compare("greater_equal", a, b, "ge")


def eq(a, b):
    """a == b elementwise."""
    return _compare("equal", a, b, "eq")


def ne(a, b):
    """a != b elementwise."""
    return _compare("not_equal", a, b, "ne")


def logical_and(a, b):
    return _compare("logical_and", a, b, "logical_and")


def logical_or(a, b):
    return _compare("logical_or", a, b, "logical_or")


def logical_not(x):
    x = as_tensor(x, op="logical_not")
    if x.dtype != bool:
        return Tensor._make(~x._data, None)
    return _unary("logical_not", x, "logical_not")


def sign(x):
    """-1, 0 or 1 elementwise (no gradient: the derivative is 0 almost everywhere)."""
    return _unary("sign", x, "sign")


def isnan(x):
    return _unary("isnan", x, "isnan")


def isfinite(x):
    return _unary("isfinite", x, "isfinite")


def all(x, dim=None):  # noqa: A001 - PyTorch's name
    x = as_tensor(x, op="all")
    return _unary("all", x, "all", axis=resolve_dims(dim, None, x.ndim, "all"))


def any(x, dim=None):  # noqa: A001 - PyTorch's name
    x = as_tensor(x, op="any")
    return _unary("any", x, "any", axis=resolve_dims(dim, None, x.ndim, "any"))
