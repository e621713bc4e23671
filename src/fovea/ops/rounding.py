"""Rounding and integer-style division: floor, ceil, round, trunc, frac, sign; div with a
rounding mode, floor_divide (``//``), remainder (``%``) and fmod.

Rounding ops and ``sign`` are differentiable with a zero gradient, as in PyTorch (their
derivative is 0 almost everywhere), so a graph through them runs and sends nothing back.
On integer tensors they return a copy in the same dtype. Sign conventions follow Python
and PyTorch: ``remainder`` (``%``) takes the divisor's sign, ``fmod`` the dividend's;
``//`` rounds the quotient down (floor), ``div(rounding_mode='trunc')`` toward zero.
"""

from __future__ import annotations

from fovea import dtypes
from fovea.autograd import Function
from fovea.errors import DTypeError
from fovea.ops._util import as_tensor, binary_operands, broadcast_check, tensor_method
from fovea.ops.arithmetic import div as _true_div
from fovea.tensor import Tensor

__all__ = ["ceil", "div", "divide", "fix", "floor", "floor_divide", "fmod", "frac",
           "remainder", "round", "sign", "trunc", "true_divide"]


class IntegerDivisionByZero(ZeroDivisionError, RuntimeError):
    """An integer tensor divided by zero (PyTorch: ``RuntimeError: ZeroDivisionError``)."""


class _ZeroGrad(Function):
    """An elementwise op whose derivative is 0 almost everywhere (rounding, sign)."""

    @staticmethod
    def forward(ctx, x, fn):
        return fn(ctx.xp, x)

    @staticmethod
    def backward(ctx, g):
        return g * 0


class Frac(Function):
    """x - trunc(x); derivative 1."""

    @staticmethod
    def forward(ctx, x):
        return x - ctx.xp.trunc(x)

    @staticmethod
    def backward(ctx, g):
        return g


def _zero_grad_op(x, fn, op):
    x = as_tensor(x, op=op)
    if not dtypes.is_floating(x.dtype):  # integers and bools are already whole
        return Tensor._make(fn(x._xp(), x._data), None)
    return _ZeroGrad.apply(x, fn=fn)


def _floor(xp, a):
    return xp.floor(a)


def _ceil(xp, a):
    return xp.ceil(a)


def _trunc(xp, a):
    return xp.trunc(a)


def _sign(xp, a):
    return xp.sign(a)


@tensor_method(inplace=True)
def floor(input):
    """Largest integer <= x, elementwise (same dtype; gradient 0)."""
    return _zero_grad_op(input, _floor, "floor")


@tensor_method(inplace=True)
def ceil(input):
    """Smallest integer >= x, elementwise (same dtype; gradient 0)."""
    return _zero_grad_op(input, _ceil, "ceil")


@tensor_method(inplace=True)
def trunc(input):
    """x rounded toward zero, elementwise (same dtype; gradient 0)."""
    return _zero_grad_op(input, _trunc, "trunc")


fix = trunc


@tensor_method(inplace=True, replace=True)
def sign(input):
    """-1, 0 or 1 elementwise (same dtype; gradient 0, as PyTorch)."""
    return _zero_grad_op(input, _sign, "sign")


class _Rounder:
    """``round`` to ``decimals`` places, half to even (PyTorch's and NumPy's rule)."""

    def __init__(self, decimals: int):
        self.decimals = decimals

    def __call__(self, xp, a):
        if self.decimals == 0:
            return xp.round(a)
        if self.decimals > 0:
            scale = 10.0 ** self.decimals
            return xp.round(a * scale) / scale
        scale = 10.0 ** -self.decimals
        return xp.round(a / scale) * scale


@tensor_method(inplace=True)
def round(input, *, decimals: int = 0):  # noqa: A001 - PyTorch's name
    """x rounded to ``decimals`` decimal places, halves to even (same dtype; gradient 0).

    ``decimals < 0`` rounds to tens, hundreds...: ``round(1234.5, decimals=-1)`` is 1230.
    """
    if int(decimals) != decimals:
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    x = as_tensor(input, op="round")
    if not dtypes.is_floating(x.dtype):
        if decimals != 0:
            raise DTypeError(f"round: decimals={decimals} needs a floating tensor, "
                             f"got dtype {x.dtype}")
        return Tensor._make(x._data.copy(), None)
    return _ZeroGrad.apply(x, fn=_Rounder(int(decimals)))


@tensor_method(inplace=True)
def frac(input):
    """Fractional part x - trunc(x), sign of x kept (floating tensors only; gradient 1)."""
    x = as_tensor(input, op="frac")
    if not dtypes.is_floating(x.dtype):
        raise DTypeError(f"frac: expected a floating tensor, got dtype {x.dtype}")
    return Frac.apply(x)


# --- division with rounding, remainders ---------------------------------------------------

class Remainder(Function):
    """a - b·q with q = floor(a/b) (``remainder``) or trunc(a/b) (``fmod``).

    d/da = 1, d/db = -q (the quotient is piecewise constant), as in PyTorch.
    """

    @staticmethod
    def forward(ctx, a, b, floor_mode):
        xp = ctx.xp
        ctx.save_for_backward(a, b)
        ctx.floor_mode = floor_mode
        return xp.remainder(a, b) if floor_mode else xp.fmod(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        gb = None
        if ctx.needs_input_grad[1]:
            q = ctx.run(DivRound, a, b, floor_mode=ctx.floor_mode)
            gb = -g * q
        return g, gb


class DivRound(Function):
    """a / b rounded down (floor) or toward zero (trunc); gradient 0 for both inputs."""

    @staticmethod
    def forward(ctx, a, b, floor_mode):
        xp = ctx.xp
        if floor_mode:
            return xp.floor_divide(a, b)  # Python's floor division, exact for floats too
        return xp.trunc(a / b)

    @staticmethod
    def backward(ctx, g):
        zero = g * 0
        return zero, zero


def _int_operands(a, b, op):
    """Integer or bool tensors (no float among them): refuse division by zero as PyTorch."""
    xp = a._xp()
    if xp.any(b._data == 0):
        raise IntegerDivisionByZero(f"{op}: integer division by zero")
    return xp


def _operands(a, b, op):
    a, b = binary_operands(a, b, op)
    if a.shape != b.shape:
        broadcast_check(a, b, op)
    return a, b


def _int_floor_or_trunc(a, b, floor_mode, op):
    xp = _int_operands(a, b, op)
    q = xp.floor_divide(a._data, b._data)
    if not floor_mode:  # floor -> trunc: add 1 where the quotient was negative and inexact
        q = q + ((q < 0) & (xp.remainder(a._data, b._data) != 0))
    return Tensor._make(q, None)


@tensor_method(inplace=True, replace=True)
def div(input, other, *, rounding_mode=None):
    """a / b, broadcasting. ``rounding_mode``: None (true division; integers give the
    default float dtype), ``'trunc'`` (toward zero) or ``'floor'`` (down, as ``//``).

    With a rounding mode integer tensors stay integers (division by zero raises) and the
    gradient is 0, as in PyTorch.
    """
    if rounding_mode is None:
        return _true_div(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', "
                         f"got {rounding_mode!r}")
    a, b = _operands(input, other, "div")
    floor_mode = rounding_mode == "floor"
    if not dtypes.is_floating(a.dtype):
        return _int_floor_or_trunc(a, b, floor_mode, "div")
    return DivRound.apply(a, b, floor_mode=floor_mode)


divide = div


def true_divide(input, other):
    """a / b (true division); PyTorch's alias of ``div(a, b)``."""
    return div(input, other)


@tensor_method(inplace=True)
def floor_divide(input, other):
    """a // b: the quotient rounded down (Python's rule), broadcasting; gradient 0."""
    return div(input, other, rounding_mode="floor")


def _remainder(a, b, floor_mode, op):
    a, b = _operands(a, b, op)
    if not dtypes.is_floating(a.dtype):
        xp = _int_operands(a, b, op)
        fn = xp.remainder if floor_mode else xp.fmod
        return Tensor._make(fn(a._data, b._data), None)
    return Remainder.apply(a, b, floor_mode=floor_mode)


@tensor_method(inplace=True)
def remainder(input, other):
    """a % b = a - b·floor(a/b): the result takes the divisor's sign (Python's ``%``).

    Gradients: d/da = 1, d/db = -floor(a/b).
    """
    return _remainder(input, other, True, "remainder")


@tensor_method(inplace=True)
def fmod(input, other):
    """C's fmod: a - b·trunc(a/b), the result takes the dividend's sign.

    Gradients: d/da = 1, d/db = -trunc(a/b).
    """
    return _remainder(input, other, False, "fmod")


# The operators, as PyTorch defines them: % is remainder, // is floor division; both are
# in place in their augmented forms (%=, //=).

@tensor_method("__mod__")
def _mod(self, other):
    return remainder(self, other)


@tensor_method("__rmod__")
def _rmod(self, other):
    return remainder(as_tensor(other, self, "remainder"), self)


@tensor_method("__floordiv__")
def _floordiv(self, other):
    return floor_divide(self, other)


@tensor_method("__rfloordiv__")
def _rfloordiv(self, other):
    return floor_divide(as_tensor(other, self, "floor_divide"), self)


@tensor_method("__imod__")
def _imod(self, other):
    return self._augmented("__imod__", remainder, other)


@tensor_method("__ifloordiv__")
def _ifloordiv(self, other):
    return self._augmented("__ifloordiv__", floor_divide, other)

