"""Comparisons, logical and bitwise ops: results with no gradient, on the inputs' device.

Comparisons, logical ops and the ``is*`` tests give bool tensors (their in-place ``_``
variants write 1/0 in the tensor's own dtype, as PyTorch's do); ``equal`` and ``allclose``
give Python bools; bitwise ops (``&``, ``|``, ``^``, ``~``,
``<<``, ``>>``) work on integer and bool tensors as PyTorch's do (bitwise on integers, logical
on bools) and refuse floating ones."""

from __future__ import annotations

from fovea import backends, dtypes
from fovea.ops._util import (
    as_tensor,
    binary_operands,
    broadcast_check,
    resolve_dims,
    tensor_method,
    xp_of,
)
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


def sign(x):
    """-1, 0 or 1 elementwise, as a constant (no node): what backward formulas call as
    ``ctx.xp.sign`` (its derivative is 0, so nothing is lost). The public ``fovea.sign``,
    differentiable with a zero gradient as PyTorch's, is :func:`fovea.ops.rounding.sign`."""
    return _unary("sign", x, "sign")


@tensor_method(inplace=True)
def lt(input, other):
    """a < b elementwise (bool, no gradient)."""
    return _compare("less", input, other, "lt")


@tensor_method(inplace=True)
def le(input, other):
    """a <= b elementwise."""
    return _compare("less_equal", input, other, "le")


@tensor_method(inplace=True)
def gt(input, other):
    """a > b elementwise."""
    return _compare("greater", input, other, "gt")


@tensor_method(inplace=True)
def ge(input, other):
    """a >= b elementwise."""
    return _compare("greater_equal", input, other, "ge")


@tensor_method(inplace=True)
def eq(input, other):
    """a == b elementwise."""
    return _compare("equal", input, other, "eq")


@tensor_method(inplace=True)
def ne(input, other):
    """a != b elementwise."""
    return _compare("not_equal", input, other, "ne")


# PyTorch's long names for the comparisons.
less, less_equal, greater, greater_equal, not_equal = lt, le, gt, ge, ne
for _name, _fn in (("less", lt), ("less_equal", le), ("greater", gt),
                   ("greater_equal", ge), ("not_equal", ne)):
    tensor_method(_name, inplace=True)(_fn)


@tensor_method()
def equal(input, other) -> bool:
    """True when both tensors have the same shape and the same elements (a Python bool)."""
    a, b = binary_operands(input, other, "equal")
    if a.shape != b.shape:
        return False
    xp = backends.for_arrays(a._data, b._data, op="equal").xp
    return bool(xp.all(a._data == b._data))


@tensor_method(inplace=True)
def logical_and(input, other):
    """a and b elementwise, nonzero meaning True (bool result)."""
    return _compare("logical_and", input, other, "logical_and")


@tensor_method(inplace=True)
def logical_or(input, other):
    """a or b elementwise, nonzero meaning True (bool result)."""
    return _compare("logical_or", input, other, "logical_or")


@tensor_method(inplace=True)
def logical_xor(input, other):
    """Exactly one of a, b is nonzero, elementwise (bool result)."""
    return _compare("logical_xor", input, other, "logical_xor")


@tensor_method(inplace=True)
def logical_not(input):
    """not x elementwise, nonzero meaning True (bool result)."""
    return _unary("logical_not", input, "logical_not")


def isnan(input):
    """True where x is NaN."""
    return _unary("isnan", input, "isnan")


def isfinite(input):
    """True where x is neither infinite nor NaN (always True for integers)."""
    return _unary("isfinite", input, "isfinite")


@tensor_method()
def isinf(input):
    """True where x is +inf or -inf."""
    return _unary("isinf", input, "isinf")


@tensor_method()
def isposinf(input):
    """True where x is +inf."""
    return _unary("isposinf", input, "isposinf")


@tensor_method()
def isneginf(input):
    """True where x is -inf."""
    return _unary("isneginf", input, "isneginf")


@tensor_method()
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a - b| <= atol + rtol·|b| elementwise (bool); NaNs equal only with ``equal_nan``."""
    a, b = binary_operands(input, other, "isclose")
    if a.dtype != b.dtype:
        raise TypeError(f"isclose: both tensors must have one dtype, got {a.dtype} and "
                        f"{b.dtype}")
    if a.shape != b.shape:
        broadcast_check(a, b, "isclose")
    xp = backends.for_arrays(a._data, b._data, op="isclose").xp
    if not dtypes.is_floating(a.dtype):  # exact integers: compare as float64
        a_, b_ = a._data.astype(xp.float64), b._data.astype(xp.float64)
    else:
        a_, b_ = a._data, b._data
    return Tensor._make(xp.isclose(a_, b_, rtol=rtol, atol=atol, equal_nan=equal_nan), None)


@tensor_method()
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when ``isclose`` holds everywhere (a Python bool)."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def _all_any(name, x, dim, keepdim, op):
    x = as_tensor(x, op=op)
    axes = resolve_dims(dim, None, x.ndim, op)
    if x.ndim == 0 and axes is not None:
        axes = ()  # dim 0 or -1 of a 0-d tensor: nothing to reduce, as PyTorch
    out = getattr(xp_of(x), name)(x._data, axis=axes, keepdims=keepdim)
    if x.dtype == xp_of(x).uint8:  # PyTorch keeps uint8 for all/any of uint8
        out = out.astype(x.dtype)
    return Tensor._make(out, None)


@tensor_method(replace=True)
def all(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """True where every element along ``dim`` (an int, a tuple, or None: all) is nonzero."""
    return _all_any("all", input, dim, keepdim, "all")


@tensor_method(replace=True)
def any(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """True where some element along ``dim`` (an int, a tuple, or None: all) is nonzero."""
    return _all_any("any", input, dim, keepdim, "any")
