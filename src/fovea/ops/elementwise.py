"""Elementwise math: trigonometric and hyperbolic functions and their inverses, exp/log
variants, rsqrt, square, reciprocal, the error function family, nan_to_num.

Integer and bool inputs become the default float dtype (as in PyTorch; ``square`` keeps
integers). Each op is a ``Tensor`` method with an in-place ``_`` variant. Backward passes
use operators, ``ctx.xp`` and ``ctx.run`` only, so gradients of every order exist on every
device. Where a derivative needs another function of x (sin' = cos), it is that op's
Function run through ``ctx.run``.
"""

from __future__ import annotations

import math

from fovea import dtypes
from fovea.autograd import Function
from fovea.ops import _special
from fovea.ops._util import as_tensor, tensor_method
from fovea.ops.arithmetic import _unary_float, cast, pow
from fovea.tensor import Tensor

__all__ = ["acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh",
           "asin", "asinh", "atan", "atanh", "cos", "cosh", "erf", "erfc", "erfinv", "exp2",
           "expm1", "log10", "log1p", "log2", "nan_to_num", "reciprocal", "rsqrt", "sin",
           "sinh", "square", "tan"]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.run(Cos, x)


class Cos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.cos(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -g * ctx.run(Sin, x)


class Tan(Function):
    """tan' = 1 + tan²."""

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.tan(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (1 + out * out)


class Asin(Function):
    """asin' = 1 / √(1 - x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arcsin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / ctx.xp.sqrt(1 - x * x)


class Acos(Function):
    """acos' = -1 / √(1 - x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arccos(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -g / ctx.xp.sqrt(1 - x * x)


class Atan(Function):
    """atan' = 1 / (1 + x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arctan(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 + x * x)


class Sinh(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.sinh(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.run(Cosh, x)


class Cosh(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.cosh(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.run(Sinh, x)


class Asinh(Function):
    """asinh' = 1 / √(x² + 1)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arcsinh(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / ctx.xp.sqrt(x * x + 1)


class Acosh(Function):
    """acosh' = 1 / √(x² - 1)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arccosh(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / ctx.xp.sqrt(x * x - 1)


class Atanh(Function):
    """atanh' = 1 / (1 - x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arctanh(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 - x * x)


class Exp2(Function):
    """2^x; derivative 2^x ln 2."""

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.exp2(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * _LN2


class Expm1(Function):
    """e^x - 1, exact for small x; derivative e^x = out + 1."""

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (out + 1)


class LogBase(Function):
    """log(x) / ln(base) for base 2 or 10; derivative 1 / (x ln base)."""

    @staticmethod
    def forward(ctx, x, base):
        ctx.save_for_backward(x)
        ctx.ln_base = _LN2 if base == 2 else _LN10
        return ctx.xp.log2(x) if base == 2 else ctx.xp.log10(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x * ctx.ln_base)


class Log1p(Function):
    """log(1 + x), exact for small x; derivative 1 / (1 + x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log1p(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 + x)


class Rsqrt(Function):
    """1/√x; derivative -½ out³ (PyTorch's formula)."""

    @staticmethod
    def forward(ctx, x):
        out = 1 / ctx.xp.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * -0.5 * out * out * out


class Reciprocal(Function):
    """1/x; derivative -out²."""

    @staticmethod
    def forward(ctx, x):
        out = 1 / x
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return -g * out * out


class Erf(Function):
    """erf(x) = 2/√π ∫₀ˣ e^(-t²) dt; derivative 2/√π e^(-x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special.erf(ctx.xp, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 / math.sqrt(math.pi)) * ctx.xp.exp(-x * x)


class Erfc(Function):
    """erfc(x) = 1 - erf(x) (accurate in the tail); derivative -2/√π e^(-x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _special.erfc(ctx.xp, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (-2 / math.sqrt(math.pi)) * ctx.xp.exp(-x * x)


class Erfinv(Function):
    """The inverse of erf on (-1, 1); derivative √π/2 e^(out²)."""

    @staticmethod
    def forward(ctx, x):
        out = _special.erfinv(ctx.xp, x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (math.sqrt(math.pi) / 2) * ctx.xp.exp(out * out)


class NanToNum(Function):
    """NaN, +inf, -inf replaced by numbers; the gradient passes where x was finite, as in
    PyTorch (the replaced entries are constants)."""

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        xp = ctx.xp
        ctx.finite = xp.isfinite(x)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.finite


# --- public wrappers ----------------------------------------------------------------------

@tensor_method(inplace=True)
def sin(input):
    """sin(x) elementwise."""
    return _unary_float(Sin, input, "sin")


@tensor_method(inplace=True)
def cos(input):
    """cos(x) elementwise."""
    return _unary_float(Cos, input, "cos")


@tensor_method(inplace=True)
def tan(input):
    """tan(x) elementwise."""
    return _unary_float(Tan, input, "tan")


@tensor_method("asin", "arcsin", inplace=True)
def asin(input):
    """arcsin(x) elementwise (nan outside [-1, 1])."""
    return _unary_float(Asin, input, "asin")


@tensor_method("acos", "arccos", inplace=True)
def acos(input):
    """arccos(x) elementwise (nan outside [-1, 1])."""
    return _unary_float(Acos, input, "acos")


@tensor_method("atan", "arctan", inplace=True)
def atan(input):
    """arctan(x) elementwise, in (-π/2, π/2)."""
    return _unary_float(Atan, input, "atan")


@tensor_method(inplace=True)
def sinh(input):
    """sinh(x) elementwise."""
    return _unary_float(Sinh, input, "sinh")


@tensor_method(inplace=True)
def cosh(input):
    """cosh(x) elementwise."""
    return _unary_float(Cosh, input, "cosh")


@tensor_method("asinh", "arcsinh", inplace=True)
def asinh(input):
    """arsinh(x) elementwise."""
    return _unary_float(Asinh, input, "asinh")


@tensor_method("acosh", "arccosh", inplace=True)
def acosh(input):
    """arcosh(x) elementwise (nan below 1)."""
    return _unary_float(Acosh, input, "acosh")


@tensor_method("atanh", "arctanh", inplace=True)
def atanh(input):
    """artanh(x) elementwise (±inf at ±1, nan outside)."""
    return _unary_float(Atanh, input, "atanh")


arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


@tensor_method(inplace=True)
def exp2(input):
    """2^x elementwise."""
    return _unary_float(Exp2, input, "exp2")


@tensor_method(inplace=True)
def expm1(input):
    """e^x - 1 elementwise, accurate for small |x|."""
    return _unary_float(Expm1, input, "expm1")


@tensor_method(inplace=True)
def log2(input):
    """Base-2 logarithm elementwise."""
    return _log_base(as_tensor(input, op="log2"), 2, "log2")


@tensor_method(inplace=True)
def log10(input):
    """Base-10 logarithm elementwise."""
    return _log_base(as_tensor(input, op="log10"), 10, "log10")


def _log_base(x, base, op):
    if not dtypes.is_floating(x.dtype):
        x = cast(x, dtypes.get_default_dtype())
    return LogBase.apply(x, base=base)


@tensor_method(inplace=True)
def log1p(input):
    """log(1 + x) elementwise, accurate for small |x|."""
    return _unary_float(Log1p, input, "log1p")


@tensor_method(inplace=True)
def rsqrt(input):
    """1/√x elementwise (inf at 0, nan below)."""
    return _unary_float(Rsqrt, input, "rsqrt")


@tensor_method(inplace=True)
def reciprocal(input):
    """1/x elementwise (integers give the default float dtype)."""
    return _unary_float(Reciprocal, input, "reciprocal")


@tensor_method(inplace=True)
def square(input):
    """x² elementwise (integers stay integers); gradient 2x."""
    x = as_tensor(input, op="square")
    if x.dtype == bool:
        x = Tensor._make(x._data.astype(x._xp().int64), None)
    return pow(x, 2)


@tensor_method(inplace=True)
def erf(input):
    """The error function 2/√π ∫₀ˣ e^(-t²) dt elementwise (NumPy only: see ops/_special)."""
    return _unary_float(Erf, input, "erf")


@tensor_method(inplace=True)
def erfc(input):
    """The complementary error function 1 - erf(x), accurate where it is tiny (large x)."""
    return _unary_float(Erfc, input, "erfc")


@tensor_method(inplace=True)
def erfinv(input):
    """The inverse error function on [-1, 1] (±inf at ±1, nan outside)."""
    return _unary_float(Erfinv, input, "erfinv")


@tensor_method(inplace=True)
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN → ``nan``, +inf → ``posinf``, -inf → ``neginf`` (default: the dtype's largest and
    lowest finite values). Integer tensors are returned as a copy. Gradient 1 where x was
    finite, 0 elsewhere."""
    x = as_tensor(input, op="nan_to_num")
    if not dtypes.is_floating(x.dtype):
        return Tensor._make(x._data.copy(), None)
    return NanToNum.apply(x, nan=nan, posinf=posinf, neginf=neginf)
