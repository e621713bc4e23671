"""Activation functions and (log-)softmax.

``relu``, ``sigmoid`` and ``tanh`` are the engine's own ops (:mod:`fovea.ops.arithmetic`),
re-exported here. ``leaky_relu``, ``prelu``, ``elu``, ``selu``, ``gelu``, ``softplus``,
``silu`` and ``hardtanh`` are each one fused node whose backward is written once with
``ctx.xp``, so it can be differentiated again; ``softmax`` and ``log_softmax`` likewise along
one axis. A value that forward computes anyway (GELU's Φ(x), SiLU's σ(x)) is reused by a
plain backward and recomputed from x by the same function in a recorded one
(``create_graph``), so that second derivatives see it as a function of x.
All map (*) -> (*) except ``maxout``, which takes the max over groups of features.
"""

from __future__ import annotations

import math
import numbers

from fovea.autograd import Function
from fovea.nn.functional.special import Erfc
from fovea.ops import arithmetic
from fovea.ops._util import as_tensor, normalize_dim, require_float
from fovea.tensor import Tensor

relu = arithmetic.relu
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
        return ctx.xp.where(x > 0, x, x * x.dtype.type(slope))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ctx.xp.where(x > 0, g, g * ctx.slope)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """Leaky ReLU: x for x > 0, ``negative_slope`` · x otherwise. (*) -> (*)."""
    x = _float_input(x, "leaky_relu")
    return LeakyRelu.apply(x, slope=float(negative_slope))


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
    """x for x > 0, α(eˣ - 1) otherwise, times ``scale`` (SELU uses scale ≠ 1).

    Backward: scale where x > 0, else y + scale·α (= scale·α·eˣ).
    """

    @staticmethod
    def forward(ctx, x, alpha, scale):
        xp = ctx.xp
        neg = alpha * xp.expm1(xp.minimum(x, 0))
        out = xp.where(x > 0, x, neg)
        if scale != 1.0:
            out = out * scale
        out = out.astype(x.dtype, copy=False)
        ctx.alpha, ctx.scale = alpha, scale
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        sa = ctx.scale * ctx.alpha
        return ctx.xp.where(x > 0, g * ctx.scale, g * (out + sa))


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """ELU: x for x > 0, α(eˣ - 1) otherwise. (*) -> (*)."""
    x = _float_input(x, "elu")
    return Elu.apply(x, alpha=float(alpha), scale=1.0)


def selu(x: Tensor) -> Tensor:
    """SELU: λ · elu(x, α) with λ ≈ 1.0507, α ≈ 1.6733 (self-normalising). (*) -> (*)."""
    x = _float_input(x, "selu")
    return Elu.apply(x, alpha=SELU_ALPHA, scale=SELU_SCALE)


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


def silu(x: Tensor) -> Tensor:
    """SiLU (swish): x · σ(x). (*) -> (*)."""
    return Silu.apply(_float_input(x, "silu"))


class Hardtanh(Function):
    """clip(x, lo, hi); the gradient passes strictly inside (lo, hi), as in PyTorch."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        ctx.save_for_backward(x)
        return ctx.xp.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ctx.xp.where((x > ctx.lo) & (x < ctx.hi), g, 0 * g)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """Hardtanh: x clipped to [min_val, max_val]. (*) -> (*)."""
    x = _float_input(x, "hardtanh")
    if not min_val < max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must be less than max_val ({max_val})")
    return Hardtanh.apply(x, lo=float(min_val), hi=float(max_val))


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


def _softmax_args(x, dim, op):
    x = _float_input(x, op)
    if dim is None:
        # PyTorch's legacy default: dim 0 for 0-, 1- and 3-D inputs, else 1.
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return x, normalize_dim(dim, x.ndim, op) if x.ndim else 0


def softmax(x, dim=None):
    """Softmax along ``dim``: (*) -> (*), each slice along ``dim`` sums to 1."""
    x, d = _softmax_args(x, dim, "softmax")
    return Softmax.apply(x, axis=d)


def log_softmax(x, dim=None):
    """Log of the softmax along ``dim``, computed stably: (*) -> (*)."""
    x, d = _softmax_args(x, dim, "log_softmax")
    return LogSoftmax.apply(x, axis=d)
