"""Triangles and diagonals: ``tril``, ``triu``, ``diagonal``, ``diag``, ``diag_embed``,
``trace``, ``block_diag``.

Built from differentiable ``where``, indexing, index-scatter and padding, so gradients of
every order exist: ``diagonal``'s gradient is the upstream gradient placed back on the
diagonal, ``diag`` of a vector reads it off again.
"""

from __future__ import annotations

from fovea import backends
from fovea.dtypes import get_default_dtype
from fovea.errors import ShapeError
from fovea.ops import arithmetic
from fovea.ops._util import as_tensor, normalize_dim, tensor_method, xp_of
from fovea.ops.index import Index, ScatterAddZeros
from fovea.ops.shape import pad_numpy, permute, reshape
from fovea.tensor import Tensor

__all__ = ["block_diag", "diag", "diag_embed", "diagonal", "trace", "tril", "triu"]


def _triangle(input, diagonal, lower, op):
    x = as_tensor(input, op=op)
    if x.ndim < 2:
        raise ShapeError(f"{op}: input must have at least 2 dimensions, got {x.ndim}")
    n, m = x.shape[-2:]
    xp = xp_of(x)
    keep = xp.tri(n, m, int(diagonal), dtype=bool)  # j <= i + diagonal
    if not lower:
        keep = ~xp.tri(n, m, int(diagonal) - 1, dtype=bool)  # j >= i + diagonal
    return arithmetic.where(keep, x, 0)


@tensor_method()
def tril(input, diagonal=0):  # noqa: A002 - PyTorch's name
    """The lower triangle of the last two dimensions (entries j <= i + diagonal), zeros
    elsewhere. (..., n, m) in and out."""
    return _triangle(input, diagonal, True, "tril")


@tensor_method()
def triu(input, diagonal=0):  # noqa: A002 - PyTorch's name
    """The upper triangle of the last two dimensions (entries j >= i + diagonal)."""
    return _triangle(input, diagonal, False, "triu")


def _diag_index(xp, n, m, offset):
    """Row and column indices of diagonal ``offset`` of an (n, m) matrix."""
    length = max(0, min(n + min(offset, 0), m - max(offset, 0)))
    i = xp.arange(length)
    return i - min(offset, 0), i + max(offset, 0)


@tensor_method()
def diagonal(input, offset=0, dim1=0, dim2=1):  # noqa: A002 - PyTorch's name
    """Diagonal ``offset`` (above the main one if > 0) of the matrices in ``dim1`` x
    ``dim2``; those dimensions go and the diagonal becomes the last one."""
    x = as_tensor(input, op="diagonal")
    d1, d2 = normalize_dim(dim1, x.ndim, "diagonal"), normalize_dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 can't be the same dimension ({d1})")
    rest = [i for i in range(x.ndim) if i not in (d1, d2)]
    x = permute(x, *rest, d1, d2)
    rows, cols = _diag_index(xp_of(x), x.shape[-2], x.shape[-1], int(offset))
    return Index.apply(x, key=(Ellipsis, rows, cols))


@tensor_method()
def diag_embed(input, offset=0, dim1=-2, dim2=-1):  # noqa: A002 - PyTorch's name
    """Matrices whose diagonal ``offset`` holds the last dimension of ``input``:
    (..., n) gives (..., n + |offset|, n + |offset|) (in dims ``dim1``, ``dim2``)."""
    x = as_tensor(input, op="diag_embed")
    k = x.shape[-1] + abs(int(offset))
    rows, cols = _diag_index(xp_of(x), k, k, int(offset))
    out = ScatterAddZeros.apply(x, shape=x.shape[:-1] + (k, k), key=(Ellipsis, rows, cols))
    nd = out.ndim
    d1, d2 = normalize_dim(dim1, nd, "diag_embed"), normalize_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise ValueError(f"diag_embed: dim1 and dim2 can't be the same dimension ({d1})")
    order = [None] * nd
    order[d1], order[d2] = nd - 2, nd - 1
    rest = iter(range(nd - 2))
    return permute(out, *(o if o is not None else next(rest) for o in order))


@tensor_method()
def diag(input, diagonal=0):  # noqa: A002 - PyTorch's name
    """A 1-d input (n,) becomes the (n + |k|, n + |k|) matrix with it on diagonal ``k``; a
    2-d input gives its diagonal ``k`` as a 1-d tensor."""
    x = as_tensor(input, op="diag")
    if x.ndim == 1:
        return diag_embed(x, diagonal)
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal)
    raise ShapeError(f"diag: expected a 1-d or 2-d tensor, got {x.ndim}-d")


@tensor_method()
def trace(input):  # noqa: A002 - PyTorch's name
    """The sum of the main diagonal of a 2-d tensor (a 0-d tensor)."""
    x = as_tensor(input, op="trace")
    if x.ndim != 2:
        raise ShapeError(f"trace: expected a 2-d tensor, got {x.ndim}-d")
    return diagonal(x).sum()


def block_diag(*tensors):
    """The block-diagonal matrix of ``tensors`` (0-d: 1x1, 1-d (n,): 1 x n, 2-d as is),
    zeros elsewhere; the dtype is their promoted dtype."""
    ts = [as_tensor(t, op="block_diag") for t in tensors]
    if not ts:
        return Tensor._make(backends.default().xp.zeros((1, 0), dtype=get_default_dtype()), None)
    for t in ts:
        if t.ndim > 2:
            raise ShapeError(f"block_diag: expected tensors with at most 2 dimensions, got "
                             f"shape {t.shape}")
    ts = [reshape(t, 1, 1) if t.ndim == 0 else reshape(t, 1, -1) if t.ndim == 1 else t
          for t in ts]
    dtype = xp_of(ts[0]).result_type(*[t._data for t in ts])
    ts = [t.to(dtype) for t in ts]
    rows, cols = sum(t.shape[0] for t in ts), sum(t.shape[1] for t in ts)
    out, r, c = None, 0, 0
    for t in ts:
        h, w = t.shape
        part = pad_numpy(t, ((r, rows - r - h), (c, cols - c - w)))
        out = part if out is None else out + part
        r, c = r + h, c + w
    return out
