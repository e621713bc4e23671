"""Vector and matrix norms: ``vector_norm``, ``matrix_norm`` (for :mod:`fovea.linalg`) and
``norm`` (``torch.norm``'s rules).

``vector_norm`` of order p over ``dim`` is (Σ|x|^p)^(1/p); p = inf / -inf is max / min |x|
and p = 0 counts the nonzero entries. Its gradient is PyTorch's, including the edges: 0
for an all-zero vector (not NaN), ties of the inf-norm share the gradient evenly.
``matrix_norm`` computes 'fro', 1, -1, inf and -inf over two dims; the norms that need a
singular value decomposition ('nuc', 2, -2) are not implemented yet.
"""

from __future__ import annotations

import builtins
import math
import numbers

from fovea import dtypes
from fovea.autograd import Function
from fovea.errors import DTypeError
from fovea.ops._util import as_tensor, resolve_dims, tensor_method
from fovea.ops.arithmetic import abs as _abs
from fovea.ops.reduce import _expand_back, amax, amin, sum
from fovea.ops.shape import squeeze

__all__ = ["norm"]


class VectorNorm(Function):
    """(Σ|x|^p)^(1/p) over ``axes`` for a finite p ∉ {0, 1}.

    Gradient (PyTorch's): p >= 2: x·|x|^(p-2) · g / ‖x‖^(p-1); 1 < p < 2: sign(x)|x|^(p-1)
    · g / ‖x‖^(p-1); p < 1: sign(x)|x|^(p-1) (0 at x = 0) · g · ‖x‖^(1-p); 0 where ‖x‖ = 0.
    """

    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        xp = ctx.xp
        if p == 2:
            out = xp.sqrt(xp.sum(x * x, axis=axes, keepdims=True))
        else:
            out = xp.sum(xp.abs(x) ** p, axis=axes, keepdims=True) ** (1.0 / p)
        ctx.p, ctx.kept_shape, ctx.keepdim = p, out.shape, keepdim
        ctx.zero_norm = out == 0
        result = out if keepdim else xp.squeeze(out, axis=axes)
        ctx.save_for_backward(x, result)  # the output itself: differentiable when recorded
        return result

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        xp, p = ctx.xp, ctx.p
        if not ctx.keepdim:  # reduced dims back as size 1, to broadcast against x
            g, out = xp.reshape(g, ctx.kept_shape), xp.reshape(out, ctx.kept_shape)
        if p < 1:
            safe = xp.where(x == 0, 1, xp.abs(x))
            scaled = xp.sign(x) * xp.where(x == 0, 0, safe ** (p - 1))
            return scaled * (g * out ** (1 - p))
        scale = xp.where(ctx.zero_norm, 0, g / xp.where(ctx.zero_norm, 1, out) ** (p - 1))
        if p == 2:
            return x * scale
        if p < 2:
            return xp.sign(x) * xp.abs(x) ** (p - 1) * scale
        return x * xp.abs(x) ** (p - 2) * scale


class CountNonzero(Function):
    """The 0-"norm": how many entries are nonzero; its gradient is 0 (as PyTorch)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return ctx.xp.sum(x != 0, axis=axes, keepdims=keepdim).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        axes = ctx.axes if ctx.axes is not None else tuple(range(len(ctx.shape)))
        return _expand_back(ctx.xp, g * 0, ctx.shape, axes, ctx.keepdim)


def _float_input(x, dtype, op):
    x = as_tensor(x, op=op)
    if dtype is not None:
        x = x.to(dtype)
    if not dtypes.is_floating(x.dtype):
        raise DTypeError(f"{op}: expected a floating tensor, got dtype {x.dtype} "
                         "(convert with .float() first)")
    return x


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """The ``ord``-norm of x over ``dim`` (an int, a tuple, or None: all elements).

    ``ord``: any real number, ``inf`` (max |x|), ``-inf`` (min |x|), 0 (nonzero count).
    Shapes: (d_0, ..., d_k) -> the reduced shape (dims kept with ``keepdim``).
    """
    x = _float_input(x, dtype, "vector_norm")
    if not isinstance(ord, numbers.Real) or isinstance(ord, bool):
        raise TypeError(f"vector_norm: ord must be a number, got {ord!r}")
    axes = resolve_dims(dim, None, x.ndim, "vector_norm")
    if x.ndim == 0 and axes is not None:
        axes = ()
    if ord == math.inf or ord == -math.inf:
        reduce = amax if ord > 0 else amin
        if x.numel() == 0 and ord < 0:
            raise ValueError("vector_norm: the -inf norm of an empty tensor is undefined")
        if x.numel() == 0:
            return sum(x, axes, keepdim)  # the max of nothing, as PyTorch: 0
        return reduce(_abs(x), axes, keepdim)
    if ord == 1:
        return sum(_abs(x), axes, keepdim)
    if ord == 0:
        return CountNonzero.apply(x, axes=axes, keepdim=keepdim)
    return VectorNorm.apply(x, p=float(ord), axes=axes, keepdim=keepdim)


def _two_dims(dim, ndim, op):
    if not isinstance(dim, tuple | list) or len(dim) != 2:
        raise ValueError(f"{op}: dim must be a pair of dims, got {dim!r}")
    if ndim < 2:
        raise ValueError(f"{op}: expected a tensor with at least 2 dims, got {ndim}")
    d = resolve_dims(tuple(dim), None, ndim, op)  # also refuses a repeated dim
    return tuple(builtins.int(a) % ndim for a in dim), d


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """The matrix norm of ``A`` over the two dims ``dim`` (the last two by default).

    ``ord``: 'fro' (√Σ a²), 1 / -1 (max / min column sum of |a|), inf / -inf (max / min row
    sum of |a|). 'nuc', 2 and -2 need singular values and are not implemented yet.
    Shapes: (*, m, n) -> (*) (or (*, 1, 1) with ``keepdim``).
    """
    A = _float_input(A, dtype, "matrix_norm")
    (rows, cols), both = _two_dims(dim, A.ndim, "matrix_norm")
    if ord == "fro":
        return VectorNorm.apply(A, p=2.0, axes=both, keepdim=keepdim)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"matrix_norm: ord={ord!r} needs singular values, which "
                                  "fovea does not compute yet; use 'fro', 1, -1, inf or -inf")
    if ord not in (1, -1, math.inf, -math.inf):
        raise ValueError(f"matrix_norm: ord must be 'fro', 1, -1, inf or -inf, got {ord!r}")
    summed, over = (rows, cols) if builtins.abs(ord) == 1 else (cols, rows)
    sums = sum(_abs(A), summed, keepdim=True)
    out = (amax if ord > 0 else amin)(sums, over, keepdim=True)
    return out if keepdim else squeeze(out, both)


@tensor_method()
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """``torch.norm``: p = 'fro' (or None) is the 2-norm over ``dim`` (all elements when
    None), a number is :func:`vector_norm` of that order over ``dim``, 'nuc' the nuclear
    norm (not implemented yet). Prefer :mod:`fovea.linalg`'s norms in new code."""
    if p is None:
        p = 2.0
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, numbers.Integral) or len(dim) <= 2):
            return vector_norm(input, 2, dim, keepdim, dtype=dtype)
        x = as_tensor(input, op="norm")
        return matrix_norm(x, p, tuple(range(x.ndim)) if dim is None else dim, keepdim,
                           dtype=dtype)
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """``torch.linalg.norm``: a vector norm over one dim (or all elements when ``dim`` and
    ``ord`` are None), a matrix norm over two dims; with ``ord`` given and ``dim`` None,
    ``A`` must be 1-D (vector norm) or 2-D (matrix norm)."""
    A = as_tensor(A, op="linalg.norm")
    if dim is not None:
        dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise ValueError(f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or "
                     f"2-D, got {A.ndim}-D")
