"""Elementwise arithmetic: + - * / **, neg, exp, log, sqrt, abs, tanh, sigmoid, relu, clamp,
maximum/minimum, where, cast.

Each Function's backward uses operators and ``ctx.xp`` only, so it runs on raw arrays
(fast) or on Tensors (recorded, with ``create_graph=True``). The engine reduces broadcast
gradients back to each input's shape.
"""

from __future__ import annotations

import contextlib
import numbers
import threading

from fovea import backends, dtypes
from fovea.autograd import Function
from fovea.errors import ShapeError
from fovea.ops._util import as_tensor, binary_operands, broadcast_check, tensor_method, xp_of
from fovea.tensor import Tensor


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b, g * a


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        gb = None
        if ctx.needs_input_grad[1]:
            gb = -g * a / (b * b)
        return g / b, gb


class Pow(Function):
    """a ** b for two tensors: d/da = b a^(b-1) (0 where b = 0), d/db = a^b log a (0 where
    a = 0 and b >= 0)."""

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        xp = ctx.xp
        ga = gb = None
        if ctx.needs_input_grad[0]:
            # NOTE: 0 where the exponent is 0 (d/da a⁰ = 0, also at a = 0), as PyTorch.
            zero_exp = b == 0
            ga = xp.where(zero_exp, 0, g * b * a ** (xp.where(zero_exp, 1, b) - 1))
        if ctx.needs_input_grad[1]:
            # NOTE: like PyTorch, 0 where the base is 0 and the exponent >= 0 (elsewhere
            # a^b log a: -inf·a^b at a = 0 with b < 0, nan for a negative base).
            zero_base = (a == 0) & (b >= 0)
            safe = xp.where(zero_base, 1, a)
            gb = xp.where(zero_base, 0, g * out * xp.log(safe))
        return ga, gb


class PowScalar(Function):
    """x ** c for a Python number c: d/dx = c x^(c-1)."""

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.save_for_backward(x)
        ctx.exponent = exponent
        return x ** exponent

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        c = ctx.exponent
        if c == 0:
            return g * 0
        if c == 2:
            return g * 2 * x
        return g * c * x ** (c - 1)


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / (2 * out)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        # NOTE: subgradient 0 at x = 0, as in PyTorch.
        return g * ctx.xp.sign(x)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (1 - out * out)


class Sigmoid(Function):
    """σ(x) = 1 / (1 + e^-x), one fused node with local gradient σ(1 - σ)."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        # Stable for large |x|: e^-|x| never overflows.
        e = xp.exp(-xp.abs(x))
        out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * (1 - out)


class _ReluRule(threading.local):
    rule = "standard"  # how ReLU-family nodes pass gradients in backward (per thread)


_relu_rule = _ReluRule()
RELU_BACKWARD_RULES = ("standard", "guided", "deconvnet")


def relu_backward_rule() -> str:
    """The backward rule ReLU-family nodes use now: ``"standard"``, ``"guided"`` (guided
    backpropagation) or ``"deconvnet"`` (Zeiler & Fergus); see :func:`use_relu_backward_rule`."""
    return _relu_rule.rule


@contextlib.contextmanager
def use_relu_backward_rule(rule: str):
    """Within the block, ReLU-family nodes pass gradients by ``rule`` when backward runs
    (whenever the forward ran), for modules and functional calls alike:

    * ``"standard"``: g · f'(x) = g · [x > 0], the true gradient;
    * ``"guided"``: g⁺ · f'(x) = g · [x > 0] · [g > 0] (Springenberg et al., 2015);
    * ``"deconvnet"``: g⁺ = g · [g > 0], the forward mask ignored (Zeiler & Fergus, 2014).

    Leaky ReLU follows the same rules with its own f'(x) (its slope where x ≤ 0). Other
    activations (GELU, ELU, ...) keep their true gradient. Thread-local; restored on exit.
    """
    if rule not in RELU_BACKWARD_RULES:
        raise ValueError(f"use_relu_backward_rule: rule must be one of {RELU_BACKWARD_RULES}, "
                         f"got {rule!r}")
    prev, _relu_rule.rule = _relu_rule.rule, rule
    try:
        yield rule
    finally:
        _relu_rule.rule = prev


class Relu(Function):
    """y = max(x, 0). The raw passes are the device's ``elementwise`` kernels (one compiled
    pass each way on the CPU); backward is :class:`ReluGrad`, so it records to any order.
    Backward follows :func:`relu_backward_rule` (guided backpropagation, deconvnet)."""

    @staticmethod
    def forward(ctx, x):
        out = ctx.kernels.elementwise.relu(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        rule = _relu_rule.rule
        if rule != "standard":
            g = ctx.run(Relu, g)  # both rules pass only positive gradient signal
            if rule == "deconvnet":
                return g
        return ctx.run(ReluGrad, out, g)


class ReluGrad(Function):
    """dx = g where y > 0 else 0, for ReLU's output y. NOTE: subgradient 0 at x = 0, as in
    PyTorch. Linear in g (its gradient is the same mask); the mask has no gradient."""

    @staticmethod
    def forward(ctx, y, g):
        ctx.save_for_backward(y)
        return ctx.kernels.elementwise.relu_grad(y, g)

    @staticmethod
    def backward(ctx, gg):
        (y,) = ctx.saved_tensors
        return None, ctx.run(ReluGrad, y, gg)


class Clamp(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return ctx.xp.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        # NOTE: the gradient passes where lo <= x <= hi (bounds included), as in PyTorch.
        mask = True
        if ctx.lo is not None:
            mask = x >= ctx.lo
        if ctx.hi is not None:
            mask = (x <= ctx.hi) if mask is True else (mask & (x <= ctx.hi))
        return g * mask


class ClampBounds(Function):
    """clamp(x, lo, hi) with tensor bounds (either may be absent): max(x, lo), then min(·, hi).

    The gradient goes to whichever produced the output, as in PyTorch: to x where
    lo <= x <= hi (bounds included), to lo where x < lo <= hi, to hi elsewhere (x > hi, or
    lo > hi, where the output is hi). The masks are computed once, in forward.
    """

    @staticmethod
    def forward(ctx, x, *bounds, has_lo, has_hi):
        xp = ctx.xp
        lo = bounds[0] if has_lo else None
        hi = bounds[-1] if has_hi else None
        out = x if lo is None else xp.maximum(x, lo)
        out = out if hi is None else xp.minimum(out, hi)
        take_x = True if lo is None else x >= lo
        take_x = take_x if hi is None else (x <= hi) & take_x
        take_lo = None if lo is None else ((x < lo) if hi is None else (x < lo) & (lo <= hi))
        masks = [xp.broadcast_to(take_x, out.shape)]
        if lo is not None:
            masks.append(take_lo)
        if hi is not None:
            masks.append(~(masks[0] | take_lo) if lo is not None else ~masks[0])
        ctx.masks = masks
        return out

    @staticmethod
    def backward(ctx, g):
        return tuple(g * m for m in ctx.masks)


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        # NOTE: a tie splits the gradient evenly between the two inputs, as in PyTorch.
        xp = ctx.xp
        ga = xp.where(a > b, g, xp.where(a == b, g * 0.5, 0))
        return ga, g - ga


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        ga = xp.where(a < b, g, xp.where(a == b, g * 0.5, 0))
        return ga, g - ga


class Where(Function):
    """where(cond, a, b): the gradient goes to a where cond holds, to b elsewhere."""

    @staticmethod
    def forward(ctx, a, b, cond):
        ctx.cond = cond
        return ctx.xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        zero = g * 0
        return xp.where(ctx.cond, g, zero), xp.where(ctx.cond, zero, g)


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.astype(g, ctx.in_dtype)


# --- public wrappers ---------------------------------------------------------------------

def _binary(fn, a, b, op):
    a, b = binary_operands(a, b, op)
    if a.shape != b.shape:
        broadcast_check(a, b, op)
    return fn.apply(a, b)


def add(a, b):
    """a + b, broadcasting. Shapes: any two broadcastable shapes -> the broadcast shape."""
    return _binary(Add, a, b, "add")


def sub(a, b):
    """a - b, broadcasting."""
    return _binary(Sub, a, b, "sub")


def mul(a, b):
    """a * b (elementwise), broadcasting."""
    return _binary(Mul, a, b, "mul")


def div(a, b):
    """a / b (true division), broadcasting. Integer tensors give the default float dtype."""
    a, b = binary_operands(a, b, "div")
    if not dtypes.is_floating(a.dtype):
        a = cast(a, dtypes.get_default_dtype())
        b = cast(b, dtypes.get_default_dtype())
    if a.shape != b.shape:
        broadcast_check(a, b, "div")
    return Div.apply(a, b)


@tensor_method(inplace=True, replace=True)
def pow(a, b):  # noqa: A001 - PyTorch's name
    """a ** b. A Python-number exponent is a constant (one input), else both are differentiable."""
    if isinstance(a, Tensor) and isinstance(b, numbers.Real) and not isinstance(b, bool):
        if isinstance(b, float) and not dtypes.is_floating(a.dtype):
            a = cast(a, dtypes.get_default_dtype())  # int ** 0.5 is float32, as in PyTorch
        return PowScalar.apply(a, exponent=b)
    return _binary(Pow, a, b, "pow")


@tensor_method(inplace=True, replace=True)
def neg(x):
    """-x."""
    return Neg.apply(as_tensor(x, op="neg"))


def _unary_float(fn, x, op):
    x = as_tensor(x, op=op)
    if not dtypes.is_floating(x.dtype):
        x = cast(x, dtypes.get_default_dtype())
    return fn.apply(x)


@tensor_method(inplace=True, replace=True)
def exp(x):
    """e^x elementwise."""
    return _unary_float(Exp, x, "exp")


@tensor_method(inplace=True, replace=True)
def log(x):
    """Natural logarithm elementwise (-inf at 0, nan below, as in NumPy/PyTorch)."""
    return _unary_float(Log, x, "log")


@tensor_method(inplace=True, replace=True)
def sqrt(x):
    """Square root elementwise."""
    return _unary_float(Sqrt, x, "sqrt")


@tensor_method(inplace=True, replace=True)
def abs(x):  # noqa: A001 - PyTorch's name
    """|x| elementwise (gradient sign(x), 0 at 0)."""
    return Abs.apply(as_tensor(x, op="abs"))


@tensor_method(inplace=True, replace=True)
def tanh(x):
    """Hyperbolic tangent; local gradient 1 - tanh²."""
    return _unary_float(Tanh, x, "tanh")


@tensor_method(inplace=True, replace=True)
def sigmoid(x):
    """Logistic sigmoid σ(x) = 1/(1+e^-x), stable for large |x|; local gradient σ(1-σ)."""
    return _unary_float(Sigmoid, x, "sigmoid")


@tensor_method(inplace=True, replace=True)
def relu(x):
    """max(x, 0); gradient 1 where x > 0, else 0."""
    return Relu.apply(as_tensor(x, op="relu"))


@tensor_method("clamp", "clip", inplace=True, replace=True)
def clamp(input, min=None, max=None):  # noqa: A002 - PyTorch's names
    """Clip x to [min, max] (either may be None, numbers or tensors that broadcast to x).

    Gradient: to x inside the bounds (bounds included), to a tensor bound where it is the
    output. With min > max every element is max, as in PyTorch.
    """
    x = as_tensor(input, op="clamp")
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        bounds = []
        for b in (min, max):
            if b is not None:
                x, b = binary_operands(x, b, "clamp")
                bounds.append(b)
        bounds = [binary_operands(x, b, "clamp")[1] for b in bounds]  # x may have changed
        for b in bounds:
            broadcast_check(x, b, "clamp")
            if xp_of(x).broadcast_shapes(x.shape, b.shape) != x.shape:
                raise ShapeError(f"clamp: a bound of shape {b.shape} does not broadcast to "
                                 f"the input's shape {x.shape}")
        return ClampBounds.apply(x, *bounds, has_lo=min is not None, has_hi=max is not None)
    if not dtypes.is_floating(x.dtype) and (isinstance(min, float) or isinstance(max, float)):
        x = cast(x, dtypes.get_default_dtype())  # int.clamp(0.5) is float, as in PyTorch
    return Clamp.apply(x, lo=min, hi=max)


clip = clamp


@tensor_method(inplace=True)
def clamp_min(input, min):  # noqa: A002 - PyTorch's name
    """max(x, min) elementwise (``clamp(x, min=min)``); the gradient goes to x where x >= min."""
    return clamp(input, min=min)


@tensor_method(inplace=True)
def clamp_max(input, max):  # noqa: A002 - PyTorch's name
    """min(x, max) elementwise (``clamp(x, max=max)``); the gradient goes to x where x <= max."""
    return clamp(input, max=max)


def maximum(a, b):
    """Elementwise max of two tensors, broadcasting; ties split the gradient evenly."""
    return _binary(Maximum, a, b, "maximum")


def minimum(a, b):
    """Elementwise min of two tensors, broadcasting; ties split the gradient evenly."""
    return _binary(Minimum, a, b, "minimum")


_NO_VALUE = object()


def where(condition, a=_NO_VALUE, b=_NO_VALUE):
    """Elements of ``a`` where ``condition`` holds, else of ``b`` (all three broadcast).

    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``, as in PyTorch.
    """
    if a is _NO_VALUE and b is _NO_VALUE:
        from fovea.ops.index import nonzero  # same layer; index imports this module
        return nonzero(condition, as_tuple=True)
    if a is _NO_VALUE or b is _NO_VALUE:
        raise TypeError("where: pass a condition alone, or a condition and both values")
    a, b = binary_operands(a, b, "where")
    xp = xp_of(a)
    if isinstance(condition, Tensor):
        cond = condition._data
        backends.for_arrays(cond, a._data, op="where")  # a clear error on two devices
    else:
        cond = xp.asarray(condition)
    if cond.dtype != bool:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    try:
        shape = xp.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"where: condition {cond.shape}, a {a.shape} and b {b.shape} cannot be broadcast"
        ) from None
    if cond.shape != shape:
        cond = xp.broadcast_to(cond, shape)
    return Where.apply(a, b, cond=cond)


def cast(x, dtype):
    """``x`` converted to ``dtype``; differentiable between floating dtypes."""
    x = as_tensor(x, op="to")
    dtype = dtypes.check_dtype(dtype, "to")
    if x.dtype == dtype:
        return x
    if not (dtypes.is_floating(dtype) and dtypes.is_floating(x.dtype)):
        return Tensor._make(x._data.astype(dtype), None)
    return Cast.apply(x, dtype=dtype)
