"""Matrix products."""

from __future__ import annotations

from fovea.autograd import Function
from fovea.ops._util import binary_operands, xp_of


class MatMul(Function):
    """a @ b with NumPy/PyTorch semantics: 1-D operands, batch dimensions that broadcast.

    Backward: dA = dC Bᵀ, dB = Aᵀ dC (batch dimensions summed back by the engine).
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:
            return g * b, g * a
        if a.ndim == 1:  # (k) @ (..., k, n) -> (..., n)
            g2 = xp.expand_dims(g, -2)
            ga = xp.matmul(g2, xp.swapaxes(b, -1, -2))[..., 0, :] if need_a else None
            gb = xp.matmul(xp.expand_dims(a, -1), g2) if need_b else None
            return ga, gb
        if b.ndim == 1:  # (..., m, k) @ (k) -> (..., m)
            g2 = xp.expand_dims(g, -1)
            ga = g2 * b if need_a else None
            gb = xp.matmul(xp.swapaxes(a, -1, -2), g2)[..., 0] if need_b else None
            return ga, gb
        ga = xp.matmul(g, xp.swapaxes(b, -1, -2)) if need_a else None
        gb = xp.matmul(xp.swapaxes(a, -1, -2), g) if need_b else None
        return ga, gb


def matmul(a, b):
    """Matrix product. (n, k) @ (k, m) -> (n, m); 1-D and batched operands as in NumPy."""
    a, b = binary_operands(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {ka} and {kb} differ")
    if a.ndim > 2 and b.ndim > 2:
        try:
            xp_of(a).broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of {a.shape} and {b.shape} cannot be "
                             "broadcast") from None
    return MatMul.apply(a, b)


def mm(a, b):
    """2-D matrix product (n, k) @ (k, m) -> (n, m)."""
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expected 2-D operands, got {a.shape} and {b.shape}")
    return matmul(a, b)
