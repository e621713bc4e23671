"""Activations and (log-)softmax."""

from __future__ import annotations

from fovea import backend
from fovea.autograd import Function
from fovea.ops import arithmetic
from fovea.ops._util import as_tensor, normalize_dim, require_float

relu = arithmetic.relu
sigmoid = arithmetic.sigmoid
tanh = arithmetic.tanh


class Softmax(Function):
    """softmax(x)_i = e^{x_i - m} / Σ_j e^{x_j - m}, m = max x (stable for logits of ±1000).

    Backward: dx = s ⊙ (g - Σ_j g_j s_j).
    """

    @staticmethod
    def forward(ctx, x, axis):
        xp = backend.xp
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
        xp = backend.xp
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
    x = as_tensor(x, op=op)
    require_float(x, op)
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
