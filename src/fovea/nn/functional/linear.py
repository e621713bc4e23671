"""The fully connected (affine) layer: ``linear(x, weight, bias) = x Wᵀ + b``."""

from __future__ import annotations

from fovea.autograd import Function
from fovea.tensor import Tensor


class Linear(Function):
    """y = x Wᵀ + b in one node: one matrix product and one broadcast add.

    Backward (rows of x flattened to (M, in), of g to (M, out)):
    dx = g W, dW = gᵀ x, db = Σ_rows g. Written with ``ctx.xp``, so twice differentiable.
    """

    @staticmethod
    def forward(ctx, x, w, b=None):
        out = ctx.xp.matmul(x, w.T)
        if b is not None:
            out += b
        ctx.save_for_backward(x, w)
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        xp = ctx.xp
        need = ctx.needs_input_grad
        gx = xp.matmul(g, w) if need[0] else None
        gw = gb = None
        if len(need) == 3 or need[1]:
            g2 = g if g.ndim == 2 else xp.reshape(g, (-1, w.shape[0]))
            if need[1]:
                x2 = x if x.ndim == 2 else xp.reshape(x, (-1, w.shape[1]))
                gw = xp.matmul(xp.swapaxes(g2, 0, 1), x2)
            if len(need) == 3 and need[2]:
                gb = xp.sum(g2, axis=0)
        if len(need) == 3:
            return gx, gw, gb
        return gx, gw


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Affine map ``y = x Wᵀ + b`` applied to the last dimension.

    Args:
        x: (*, in_features), any number of leading dimensions (also none: (in_features,)).
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Returns:
        (*, out_features).
    """
    if not (isinstance(x, Tensor) and isinstance(weight, Tensor)):
        raise TypeError(f"linear: expected Tensors for input and weight, got "
                        f"{type(x).__name__} and {type(weight).__name__}")
    ws = weight.shape
    if len(ws) != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {ws}")
    if x.ndim == 0 or x.shape[-1] != ws[1]:
        raise ValueError(f"linear: input of shape {x.shape} does not match weight of shape {ws} "
                         f"(expected input with last dimension {ws[1]})")
    if x.dtype != weight.dtype or x.dtype.kind != "f":
        raise TypeError(f"linear: input and weight must have the same floating dtype, got "
                        f"{x.dtype} and {weight.dtype}")
    if bias is None:
        return Linear.apply(x, weight)
    if not isinstance(bias, Tensor) or bias.shape != (ws[0],) or bias.dtype != x.dtype:
        got = bias.shape if isinstance(bias, Tensor) else type(bias).__name__
        raise ValueError(f"linear: bias must be a {x.dtype} tensor of shape ({ws[0]},), got {got}")
    return Linear.apply(x, weight, bias)
