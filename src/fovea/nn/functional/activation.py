"""Activation functions and (log-)softmax.

``relu``, ``sigmoid`` and ``tanh`` are the engine's own ops (:mod:`fovea.ops.arithmetic`),
re-exported here (``relu`` with PyTorch's ``inplace=``). ``leaky_relu``, ``prelu``, ``elu``
(also ``selu`` and ``celu``), ``gelu``, ``softplus``, ``silu``, ``mish``, ``hardtanh`` (also
``relu6``), ``hardsigmoid`` and ``hardswish`` are each one fused node whose backward is
written once with ``ctx.xp``, so it can be differentiated again; ``softmax`` and
``log_softmax`` likewise along one axis. A value that forward computes anyway (GELU's Φ(x),
SiLU's σ(x)) is reused by a plain backward and recomputed from x by the same function in a
recorded one (``create_graph``), so that second derivatives see it as a function of x.
``softsign``, ``softmin``, ``logsigmoid``, ``tanhshrink``, ``threshold``, ``hardshrink``,
``softshrink`` and ``glu`` are compositions of differentiable ops, as PyTorch writes (or
differentiates) them.

``inplace=True`` (where PyTorch has it) writes the result into the input tensor as PyTorch
does: the same object, its version counter bumped, refused on a leaf that requires grad
while grad mode is on. All map (*) -> (*) except ``maxout`` and ``glu``, which halve or
group a feature axis.
"""

from __future__ import annotations

import math
import numbers

from fovea import dtypes
from fovea.autograd import Function
from fovea.errors import ShapeError
from fovea.nn.functional.special import Erfc
from fovea.ops import arithmetic
from fovea.ops._util import as_tensor, normalize_dim, require_float, tensor_method
from fovea.tensor import Tensor

sigmoid = arithmetic.sigmoid
tanh = arithmetic.tanh

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


def _float_input(x, op):
    x = as_tensor(x, op=op)
    require_float(x, op)
    return x


def _maybe_inplace(x, fn, inplace: bool, op: str):
    """``fn(x)``, written into ``x`` itself when ``inplace`` (PyTorch's in-place semantics)."""
    if not inplace:
        return fn(x)
    return x._augmented(op + "_", lambda t, _: fn(t), None)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); gradient 1 where x > 0, else 0. (*) -> (*)."""
    return _maybe_inplace(as_tensor(input, op="relu"), arithmetic.relu, inplace, "relu")


def _stable_sigmoid(xp, z):
    """σ(z) = 1 / (1 + e^-z) without overflow (e^-|z| ≤ 1), in either namespace."""
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


class LeakyRelu(Function):
    """max(x, 0) + slope · min(x, 0). Gradient 1 where x > 0, else slope (also at 0)."""

    @staticmethod
    def forward(ctx, x, slope):
        ctx.slope = slope
        ctx.save_for_backward(x)
        return ctx.kernels.elementwise.leaky_relu(x, slope)  # one compiled pass on the CPU

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        rule = arithmetic.relu_backward_rule()  # guided backprop / deconvnet, as for ReLU
        if rule != "standard":
            g = ctx.xp.where(g > 0, g, 0 * g)
            if rule == "deconvnet":
                return g
        if ctx.recording:  # double backward (WGAN-GP's penalty): differentiable ops
            return ctx.xp.where(x > 0, g, g * ctx.slope)
        return ctx.kernels.elementwise.leaky_relu_grad(x, g, ctx.slope)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """Leaky ReLU: x for x > 0, ``negative_slope`` · x otherwise. (*) -> (*)."""
    x = _float_input(x, "leaky_relu")
    slope = float(negative_slope)
    return _maybe_inplace(x, lambda t: LeakyRelu.apply(t, slope=slope), inplace, "leaky_relu")


class Prelu(Function):
    """x for x > 0, a · x otherwise, with a learnable a (broadcast along the channel axis)."""

    @staticmethod
    def forward(ctx, x, a):
        ctx.save_for_backward(x, a)
        return ctx.xp.where(x > 0, x, a * x)

    @staticmethod
    def backward(ctx, g):
        x, a = ctx.saved_tensors
        xp = ctx.xp
        pos = x > 0
        ga = xp.where(pos, 0 * g, g * x) if ctx.needs_input_grad[1] else None
        return xp.where(pos, g, g * a), ga


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """Parametric ReLU: x for x > 0, a · x otherwise.

    Args:
        x: (N, C, *) or any shape when ``weight`` has one element.
        weight: a, of shape (1,) (shared) or (C,) (one per channel, axis 1 of ``x``).

    Returns:
        A tensor of ``x``'s shape.
    """
    x = _float_input(x, "prelu")
    if not isinstance(weight, Tensor) or weight.ndim != 1:
        got = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"prelu: weight must be a 1-D tensor of shape (1,) or (C,), got {got}")
    k = weight.shape[0]
    if weight.dtype != x.dtype:
        raise TypeError(f"prelu: weight has dtype {weight.dtype} but the input has {x.dtype}")
    if k != 1:
        if x.ndim < 2 or x.shape[1] != k:
            raise ValueError(f"prelu: weight has {k} values, so the input must have {k} channels "
                             f"on axis 1, got shape {x.shape}")
        weight = weight.reshape(k, *([1] * (x.ndim - 2)))
    return Prelu.apply(x, weight)


class Elu(Function):
    """x for x > 0, α(e^{s·x} - 1) otherwise, times ``scale`` (SELU uses scale ≠ 1, CELU an
    input scale s = 1/α), as PyTorch's ``elu(x, alpha, scale, input_scale)``.

    Backward: scale where x > 0, else s·(y + scale·α) (= scale·α·s·e^{s·x}).
    """

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale=1.0):
        xp = ctx.xp
        neg_x = xp.minimum(x, 0)
        if input_scale != 1.0:
            neg_x = neg_x * input_scale
        neg = alpha * xp.expm1(neg_x)
        out = xp.where(x > 0, x, neg)
        if scale != 1.0:
            out = out * scale
        out = out.astype(x.dtype, copy=False)
        ctx.alpha, ctx.scale, ctx.input_scale = alpha, scale, input_scale
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        sa = ctx.scale * ctx.alpha
        neg = g * (out + sa)
        if ctx.input_scale != 1.0:
            neg = neg * ctx.input_scale
        return ctx.xp.where(x > 0, g * ctx.scale, neg)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """ELU: x for x > 0, α(eˣ - 1) otherwise. (*) -> (*)."""
    x = _float_input(x, "elu")
    alpha = float(alpha)
    return _maybe_inplace(x, lambda t: Elu.apply(t, alpha=alpha, scale=1.0), inplace, "elu")


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """SELU: λ · elu(x, α) with λ ≈ 1.0507, α ≈ 1.6733 (self-normalising). (*) -> (*)."""
    x = _float_input(x, "selu")
    return _maybe_inplace(x, lambda t: Elu.apply(t, alpha=SELU_ALPHA, scale=SELU_SCALE),
                          inplace, "selu")


def celu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """CELU: max(0, x) + min(0, α(e^{x/α} - 1)), continuously differentiable for any α.
    (*) -> (*)."""
    x = _float_input(x, "celu")
    alpha = float(alpha)
    if alpha == 0:
        raise ValueError("celu: alpha must be non-zero (the input is divided by it)")
    return _maybe_inplace(
        x, lambda t: Elu.apply(t, alpha=alpha, scale=1.0, input_scale=1.0 / alpha), inplace,
        "celu")


def _normal_cdf(ctx, x):
    """Φ(x) = ½ erfc(-x/√2), through the Erfc node (differentiable when recording)."""
    return 0.5 * ctx.run(Erfc, -x * _INV_SQRT2)


class GeluErf(Function):
    """GELU(x) = x Φ(x), Φ the standard normal CDF = ½ erfc(-x/√2).

    Backward: Φ(x) + x φ(x), φ(x) = e^{-x²/2} / √(2π).
    """

    @staticmethod
    def forward(ctx, x):
        cdf = _normal_cdf(ctx, x)
        ctx.cdf = cdf
        ctx.save_for_backward(x)
        return (x * cdf).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        cdf = ctx.cdf if not ctx.recording else _normal_cdf(ctx, x)
        pdf = _INV_SQRT_2PI * xp.exp(-0.5 * (x * x))
        return g * (cdf + x * pdf)


def _gelu_tanh_t(xp, x):
    """tanh(u), u = √(2/π)(x + 0.044715 x³)."""
    return xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_C * x * x * x))


class GeluTanh(Function):
    """GELU's tanh approximation: ½ x (1 + tanh(u)), u = √(2/π)(x + 0.044715 x³)."""

    @staticmethod
    def forward(ctx, x):
        t = _gelu_tanh_t(ctx.xp, x)
        ctx.save_for_backward(x)
        ctx.t = t
        return 0.5 * x * (1 + t)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        t = ctx.t if not ctx.recording else _gelu_tanh_t(xp, x)
        du = _SQRT_2_OVER_PI * (1 + 3 * _GELU_C * (x * x))
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU: x Φ(x) with Φ the standard normal CDF (exact, through erf), or its tanh
    approximation with ``approximate='tanh'``. (*) -> (*)."""
    x = _float_input(x, "gelu")
    if approximate == "none":
        return GeluErf.apply(x)
    if approximate == "tanh":
        return GeluTanh.apply(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


class Softplus(Function):
    """(1/β) log(1 + e^{βx}), and x itself where βx > threshold. Backward: σ(βx) (or 1)."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = ctx.xp
        z = x * beta
        soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        return xp.where(z > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        z = x * ctx.beta
        return xp.where(z > ctx.threshold, g, g * _stable_sigmoid(xp, z))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Softplus: (1/β) log(1 + exp(βx)), a smooth ReLU; linear where βx > ``threshold``."""
    x = _float_input(x, "softplus")
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    return Softplus.apply(x, beta=float(beta), threshold=float(threshold))


class Silu(Function):
    """SiLU / swish: x σ(x). Backward: σ(x) (1 + x (1 - σ(x)))."""

    @staticmethod
    def forward(ctx, x):
        s = _stable_sigmoid(ctx.xp, x)
        ctx.s = s
        ctx.save_for_backward(x)
        return x * s

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        s = ctx.s if not ctx.recording else _stable_sigmoid(xp, x)
        return g * (s * (1 + x * (1 - s)))


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """SiLU (swish): x · σ(x). (*) -> (*)."""
    return _maybe_inplace(_float_input(x, "silu"), Silu.apply, inplace, "silu")


class Mish(Function):
    """Mish: x tanh(softplus(x)). Backward: t + x σ(x) (1 - t²), t = tanh(softplus(x)),
    with softplus as a node (so that a recorded backward differentiates it too)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * ctx.xp.tanh(ctx.run(Softplus, x, beta=1.0, threshold=math.inf))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        t = xp.tanh(ctx.run(Softplus, x, beta=1.0, threshold=math.inf))
        return g * (t + x * _stable_sigmoid(xp, x) * (1 - t * t))


def mish(x: Tensor, inplace: bool = False) -> Tensor:
    """Mish (Misra, 2019): x · tanh(softplus(x)), a smooth, non-monotonic ReLU. (*) -> (*)."""
    return _maybe_inplace(_float_input(x, "mish"), Mish.apply, inplace, "mish")


class Hardtanh(Function):
    """clip(x, lo, hi); the gradient passes strictly inside (lo, hi), as in PyTorch."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        ctx.save_for_backward(x)
        return ctx.kernels.elementwise.hardtanh(x, lo, hi)  # one compiled pass on the CPU

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.recording:  # double backward: differentiable ops
            return ctx.xp.where((x > ctx.lo) & (x < ctx.hi), g, 0 * g)
        return ctx.kernels.elementwise.hardtanh_grad(x, g, ctx.lo, ctx.hi)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """Hardtanh: x clipped to [min_val, max_val]. (*) -> (*)."""
    x = _float_input(x, "hardtanh")
    if not min_val < max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must be less than max_val ({max_val})")
    lo, hi = float(min_val), float(max_val)
    return _maybe_inplace(x, lambda t: Hardtanh.apply(t, lo=lo, hi=hi), inplace, "hardtanh")


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    """ReLU6: min(max(x, 0), 6), i.e. ``hardtanh(x, 0, 6)`` (gradient 1 strictly inside).
    (*) -> (*)."""
    return hardtanh(x, 0.0, 6.0, inplace)


class Hardsigmoid(Function):
    """min(max(x + 3, 0), 6) / 6. Backward: 1/6 strictly inside (-3, 3), else 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ctx.xp.where((x > -3) & (x < 3), g / 6, 0 * g)


def hardsigmoid(x: Tensor, inplace: bool = False) -> Tensor:
    """Hard sigmoid: a piecewise-linear σ, relu6(x + 3) / 6. (*) -> (*)."""
    return _maybe_inplace(_float_input(x, "hardsigmoid"), Hardsigmoid.apply, inplace,
                          "hardsigmoid")


class Hardswish(Function):
    """x · min(max(x + 3, 0), 6) / 6 (MobileNetV3). Backward, as PyTorch: 0 for x ≤ -3,
    x/3 + 1/2 strictly inside (-3, 3), 1 for x ≥ 3."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * ctx.xp.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        return xp.where(x <= -3, 0 * g, xp.where(x < 3, g * (x / 3 + 0.5), g))


def hardswish(x: Tensor, inplace: bool = False) -> Tensor:
    """Hard swish: x · relu6(x + 3) / 6. (*) -> (*)."""
    return _maybe_inplace(_float_input(x, "hardswish"), Hardswish.apply, inplace, "hardswish")


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|). (*) -> (*)."""
    x = _float_input(x, "softsign")
    return x / (x.abs() + 1)


def logsigmoid(x: Tensor) -> Tensor:
    """log σ(x) = -softplus(-x), stable for large |x|. (*) -> (*)."""
    x = _float_input(x, "logsigmoid")
    return -Softplus.apply(-x, beta=1.0, threshold=math.inf)


def tanhshrink(x: Tensor) -> Tensor:
    """x - tanh(x). (*) -> (*)."""
    x = _float_input(x, "tanhshrink")
    return x - arithmetic.tanh(x)


def threshold(x: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > ``threshold``, else ``value`` (gradient 0 there). (*) -> (*)."""
    x = _float_input(x, "threshold")
    th, v = float(threshold), float(value)
    return _maybe_inplace(x, lambda t: arithmetic.where(t > th, t, v), inplace, "threshold")


def hardshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > λ, else 0. (*) -> (*)."""
    x = _float_input(x, "hardshrink")
    lam = float(lambd)
    return arithmetic.where((x > lam) | (x < -lam), x, 0.0)


def softshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x - λ above λ, x + λ below -λ, 0 between. (*) -> (*)."""
    x = _float_input(x, "softshrink")
    lam = float(lambd)
    if lam < 0:
        raise ValueError(f"softshrink: lambd must be at least 0, got {lambd}")
    return arithmetic.where(x > lam, x - lam, arithmetic.where(x < -lam, x + lam, 0.0))


def glu(x: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: a ⊙ σ(b), where a and b are the two halves of ``x`` along ``dim``.

    Args:
        x: (*, 2M, *) with an even size on axis ``dim``.

    Returns:
        (*, M, *).
    """
    x = _float_input(x, "glu")
    if x.ndim == 0:
        raise ShapeError("glu: does not support 0-d (scalar) tensors")
    d = normalize_dim(dim, x.ndim, "glu")
    if x.shape[d] % 2:
        raise ShapeError(f"glu: halving dimension must be even, but dimension {d} is size "
                         f"{x.shape[d]}")
    a, b = x.chunk(2, d)
    return a * arithmetic.sigmoid(b)


def maxout(x: Tensor, num_pieces: int, dim: int = 1) -> Tensor:
    """Maxout (Goodfellow et al., Lecture 6): the max over groups of ``num_pieces`` features.

    Along ``dim`` the features are split into consecutive groups of ``num_pieces``; output
    feature j is max(x[..., j·k], ..., x[..., j·k + k - 1]) with k = ``num_pieces``. After a
    linear layer with k·m outputs this is max(w₁ᵀx + b₁, ..., w_kᵀx + b_k) for m neurons.

    Args:
        x: (..., D, ...) with D on axis ``dim`` divisible by ``num_pieces``.
        num_pieces: k, the number of linear pieces per output feature.
        dim: the feature axis (1 for (N, D) and (N, C, H, W)).

    Returns:
        The input's shape with D replaced by D / k. The gradient goes to the first maximum.
    """
    x = _float_input(x, "maxout")
    if not isinstance(num_pieces, numbers.Integral) or num_pieces < 1:
        raise ValueError(f"maxout: num_pieces must be a positive int, got {num_pieces!r}")
    d = normalize_dim(dim, x.ndim, "maxout")
    size = x.shape[d]
    if size % num_pieces:
        raise ValueError(f"maxout: dimension {dim} has size {size}, which is not divisible by "
                         f"num_pieces={num_pieces}")
    grouped = x.reshape(*x.shape[:d], size // num_pieces, num_pieces, *x.shape[d + 1:])
    return grouped.max(d + 1).values


class Softmax(Function):
    """softmax(x)_i = e^{x_i - m} / Σ_j e^{x_j - m}, m = max x (stable for logits of ±1000).

    Backward: dx = s ⊙ (g - Σ_j g_j s_j).
    """

    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        out = e / xp.sum(e, axis=axis, keepdims=True)
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return s * (g - ctx.xp.sum(g * s, axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """log_softmax(x) = x - m - log Σ e^{x - m}. Backward: dx = g - softmax(x) Σ g."""

    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        shifted = x - xp.max(x, axis=axis, keepdims=True)
        out = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
        ctx.axis = axis
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        xp = ctx.xp
        return g - xp.exp(out) * xp.sum(g, axis=ctx.axis, keepdims=True)


def _softmax_args(x, dim, dtype, op):
    x = as_tensor(x, op=op)
    if dtype is not None:  # PyTorch casts the input first (e.g. float16 logits to float32)
        x = arithmetic.cast(x, dtypes.check_dtype(dtype, op))
    require_float(x, op)
    if dim is None:
        # PyTorch's legacy default: dim 0 for 0-, 1- and 3-D inputs, else 1.
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return x, normalize_dim(dim, x.ndim, op) if x.ndim else 0


@tensor_method()
def softmax(x, dim=None, dtype=None):
    """Softmax along ``dim``: (*) -> (*), each slice along ``dim`` sums to 1 (also the
    method ``x.softmax(dim)``); ``dtype`` casts the input first."""
    x, d = _softmax_args(x, dim, dtype, "softmax")
    return Softmax.apply(x, axis=d)


@tensor_method()
def log_softmax(x, dim=None, dtype=None):
    """Log of the softmax along ``dim``, computed stably: (*) -> (*) (also the method
    ``x.log_softmax(dim)``); ``dtype`` casts the input first."""
    x, d = _softmax_args(x, dim, dtype, "log_softmax")
    return LogSoftmax.apply(x, axis=d)


def softmin(x, dim=None, dtype=None):
    """softmax(-x) along ``dim``: (*) -> (*), large inputs get small weights."""
    x, d = _softmax_args(x, dim, dtype, "softmin")
    return Softmax.apply(-x, axis=d)
