"""The two linear-algebra nodes the multivariate normal needs, with their gradients:
``solve(a, b, kind)`` (a triangular or general system) and ``cholesky(a)``.

Both are ``Function`` nodes written once for raw arrays and for recorded backward passes
(their backward calls ``solve`` again through ``ctx.run``), batched over leading dimensions
that broadcast as in ``matmul``.
"""

from __future__ import annotations

from fovea.autograd import Function
from fovea.tensor import Tensor


def _mT(x):  # noqa: N802 - the batched transpose of an array or a Tensor
    return x.transpose(-2, -1) if isinstance(x, Tensor) else x.swapaxes(-1, -2)


def _mask(xp, n: int, dtype, kind: str):
    """1 on the triangle a ``kind`` system's matrix may hold, 0 elsewhere (all ones:
    general)."""
    ones = xp.ones((n, n), dtype=dtype)
    return {"lower": xp.tril(ones), "upper": xp.triu(ones), "general": ones}[kind]


class Solve(Function):
    """X = A⁻¹ B for A (..., n, n) lower / upper triangular or general, B (..., n, k)."""

    @staticmethod
    def forward(ctx, a, b, kind="lower"):
        x = ctx.xp.linalg.solve(a, b)
        ctx.save_for_backward(a, x)
        ctx.kind = kind
        ctx.mask = _mask(ctx.xp, a.shape[-1], a.dtype, kind)
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        flipped = {"lower": "upper", "upper": "lower", "general": "general"}[ctx.kind]
        gb = ctx.run(Solve, _mT(a), g, kind=flipped)  # A⁻ᵀ G
        ga = -(gb @ _mT(x)) * ctx.mask                # only the triangle that A holds
        return ga, gb


class Cholesky(Function):
    """L with A = L Lᵀ, L lower triangular, for symmetric positive-definite A (..., n, n)."""

    @staticmethod
    def forward(ctx, a):
        low = ctx.xp.linalg.cholesky(a)
        ctx.save_for_backward(low)
        n = a.shape[-1]
        eye = ctx.xp.eye(n, dtype=a.dtype)
        ctx.phi = _mask(ctx.xp, n, a.dtype, "lower") - 0.5 * eye  # lower part, half diagonal
        return low

    @staticmethod
    def backward(ctx, g):
        (low,) = ctx.saved_tensors
        # Murray (2016): Ā = ½ (S + Sᵀ) with S = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹
        p = (_mT(low) @ g) * ctx.phi
        s = ctx.run(Solve, _mT(low), p, kind="upper")                    # L⁻ᵀ P
        s = _mT(ctx.run(Solve, _mT(low), _mT(s), kind="upper"))          # (L⁻ᵀ Sᵀ)ᵀ = S L⁻¹
        return (s + _mT(s)) * 0.5


def solve(a: Tensor, b: Tensor, kind: str = "lower") -> Tensor:
    """A⁻¹ B: a (..., n, n), b (..., n, k) -> (..., n, k); ``kind``: 'lower', 'upper',
    'general'."""
    return Solve.apply(a, b, kind=kind)


def cholesky(a: Tensor) -> Tensor:
    """The lower Cholesky factor of symmetric positive-definite a (..., n, n)."""
    return Cholesky.apply(a)
