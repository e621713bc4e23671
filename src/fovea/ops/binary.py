"""Elementwise functions of two (or three) tensors: atan2, copysign, logaddexp, logaddexp2,
hypot, lerp. Operands broadcast; integers become the default float dtype, as in PyTorch.
Each is a ``Tensor`` method with an in-place ``_`` variant where PyTorch has one.
"""

from __future__ import annotations

import math
import numbers

from fovea import dtypes
from fovea.autograd import Function
from fovea.ops._util import as_tensor, binary_operands, broadcast_check, tensor_method
from fovea.ops.arithmetic import cast
from fovea.tensor import Tensor

__all__ = ["arctan2", "atan2", "copysign", "hypot", "lerp", "logaddexp", "logaddexp2"]


class Atan2(Function):
    """θ = atan2(a, b), the angle of the point (b, a): dθ/da = b / r², dθ/db = -a / r²."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.arctan2(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r2 = a * a + b * b
        return g * b / r2, -g * a / r2


class Copysign(Function):
    """|a| with the sign of b. d/da = out / a (±1; 0 at a = 0, as PyTorch); d/db = 0."""

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        out = xp.copysign(a, b)
        ctx.ratio = xp.where(a == 0, 0, xp.sign(a) * xp.sign(out))
        return out

    @staticmethod
    def backward(ctx, g):
        return g * ctx.ratio, g * 0


class LogAddExp(Function):
    """log_base(base^a + base^b) for base e or 2, computed stably.

    d/da = base^(a - out) = 1 / (1 + base^(b - a)); likewise for b.
    """

    @staticmethod
    def forward(ctx, a, b, base2):
        out = (ctx.xp.logaddexp2 if base2 else ctx.xp.logaddexp)(a, b)
        ctx.save_for_backward(a, b, out)
        ctx.base2 = base2
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        xp = ctx.xp
        if ctx.base2:
            return g * xp.exp((a - out) * math.log(2)), g * xp.exp((b - out) * math.log(2))
        return g * xp.exp(a - out), g * xp.exp(b - out)


class Hypot(Function):
    """√(a² + b²) without overflow; d/da = a / out, d/db = b / out."""

    @staticmethod
    def forward(ctx, a, b):
        out = ctx.xp.hypot(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        return g * a / out, g * b / out


class Lerp(Function):
    """start + w·(end - start), computed as PyTorch does for accuracy near w = 1:
    end - (end - start)·(1 - w) where |w| >= 0.5. Gradients: 1 - w, w, end - start."""

    @staticmethod
    def forward(ctx, start, end, weight):
        xp = ctx.xp
        ctx.save_for_backward(start, end, weight)
        diff = end - start
        return xp.where(xp.abs(weight) < 0.5, start + weight * diff, end - diff * (1 - weight))

    @staticmethod
    def backward(ctx, g):
        start, end, weight = ctx.saved_tensors
        return g * (1 - weight), g * weight, g * (end - start)


def _float_pair(a, b, op):
    """Two broadcastable tensors of one floating dtype (integers: the default float dtype)."""
    a, b = binary_operands(a, b, op)
    if not dtypes.is_floating(a.dtype):
        a, b = cast(a, dtypes.get_default_dtype()), cast(b, dtypes.get_default_dtype())
    if a.shape != b.shape:
        broadcast_check(a, b, op)
    return a, b


@tensor_method("atan2", "arctan2", inplace=True)
def atan2(input, other):
    """The angle of the point (other, input), elementwise, in [-π, π]."""
    return Atan2.apply(*_float_pair(input, other, "atan2"))


arctan2 = atan2


@tensor_method(inplace=True)
def copysign(input, other):
    """|input| with the sign of ``other`` (of -0.0 too), elementwise; always floating."""
    return Copysign.apply(*_float_pair(input, other, "copysign"))


@tensor_method()
def logaddexp(input, other):
    """log(e^a + e^b) elementwise, without overflow."""
    return LogAddExp.apply(*_float_pair(input, other, "logaddexp"), base2=False)


@tensor_method()
def logaddexp2(input, other):
    """log₂(2^a + 2^b) elementwise, without overflow."""
    return LogAddExp.apply(*_float_pair(input, other, "logaddexp2"), base2=True)


@tensor_method(inplace=True)
def hypot(input, other):
    """√(a² + b²) elementwise, without intermediate overflow (floating tensors only)."""
    a, b = binary_operands(input, other, "hypot")
    if not dtypes.is_floating(a.dtype):
        raise TypeError(f"hypot: expected floating tensors, got dtype {a.dtype}")
    return Hypot.apply(*_float_pair(a, b, "hypot"))


@tensor_method(inplace=True)
def lerp(input, end, weight):
    """Linear interpolation start + weight·(end - start); ``weight`` is a number or a tensor
    (all three broadcast). Floating tensors of one dtype, as in PyTorch."""
    start, end = binary_operands(input, end, "lerp")
    if not dtypes.is_floating(start.dtype) or start.dtype != end.dtype:
        raise TypeError(f"lerp: expected floating tensors of one dtype, got {start.dtype} "
                        f"and {end.dtype}")
    if isinstance(weight, numbers.Number) and not isinstance(weight, Tensor):
        weight = as_tensor(float(weight), start, "lerp")
    else:
        weight = as_tensor(weight, start, "lerp")
        if weight.dtype != start.dtype:
            raise TypeError(f"lerp: weight must have dtype {start.dtype}, got {weight.dtype}")
    for t in (end, weight):
        broadcast_check(start, t, "lerp")
    broadcast_check(end, weight, "lerp")
    return Lerp.apply(start, end, weight)
