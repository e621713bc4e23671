"""Ordering: ``sort``, ``argsort``, ``msort``, ``topk``, ``unique``, ``unique_consecutive``,
``bincount``, ``histc``, ``searchsorted``, ``bucketize``.

``sort`` and ``topk`` return ``(values, indices)`` namedtuples as ``torch.return_types``
do; the values are a gather of the input at the indices, so their gradient flows back to
the chosen entries (to every order). fovea always sorts stably (ties keep their order, also
when descending), which is one of the orders PyTorch may return without ``stable=True``.
NaN sorts as the largest value, as in PyTorch. Counting ops (``unique``, ``bincount``,
``histc``, ``searchsorted``, ``bucketize``) have no gradient.
"""

from __future__ import annotations

from collections import namedtuple

from fovea import dtypes
from fovea.errors import DTypeError, ShapeError
from fovea.ops._util import as_tensor, normalize_dim, tensor_method, xp_of
from fovea.ops.index import TakeAlongAxis
from fovea.tensor import Tensor

__all__ = ["argsort", "bincount", "bucketize", "histc", "msort", "searchsorted", "sort",
           "topk", "unique", "unique_consecutive"]

SortResult = namedtuple("sort", ["values", "indices"])
"""What :func:`sort` returns (``torch.return_types.sort``)."""
TopkResult = namedtuple("topk", ["values", "indices"])
"""What :func:`topk` returns (``torch.return_types.topk``)."""


def _const(a):
    return Tensor._make(a, None)


def _order(xp, a, axis, descending):
    """Stable argsort along ``axis``; descending keeps ties in their original order."""
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    rev = xp.flip(a, axis=axis)
    return (n - 1) - xp.flip(xp.argsort(rev, axis=axis, kind="stable"), axis=axis)


def _sorted(x, dim, descending, op):
    x = as_tensor(x, op=op)
    if x.ndim == 0:
        return x, _const(xp_of(x).zeros((), dtype=xp_of(x).int64)), 0
    d = normalize_dim(dim, x.ndim, op)
    idx = _order(xp_of(x), x._data, d, descending).astype(xp_of(x).int64)
    return x, _const(idx), d


@tensor_method()
def sort(input, dim=-1, descending=False, stable=False):  # noqa: A002 - PyTorch's name
    """Sort along ``dim``: ``(values, indices)`` with ``values = input.gather(dim, indices)``.

    input: any shape; both results have its shape (indices int64).
    """
    x, idx, d = _sorted(input, dim, descending, "sort")
    if x.ndim == 0:
        return SortResult(x, idx)
    return SortResult(TakeAlongAxis.apply(x, indices=idx._data, axis=d), idx)


@tensor_method()
def argsort(input, dim=-1, descending=False, stable=False):  # noqa: A002 - PyTorch's name
    """The indices that sort ``input`` along ``dim`` (int64, input's shape)."""
    return _sorted(input, dim, descending, "argsort")[1]


@tensor_method()
def msort(input):  # noqa: A002 - PyTorch's name
    """``sort(input, dim=0).values``."""
    return sort(input, 0).values


@tensor_method()
def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's names
    """The ``k`` largest (or smallest, ``largest=False``) entries along ``dim`` and their
    indices; input (..., n, ...) gives (..., k, ...). Results are always sorted (best first),
    which ``sorted=False`` allows too."""
    x = as_tensor(input, op="topk")
    n = x.shape[normalize_dim(dim, x.ndim, "topk")] if x.ndim else 1
    if not 0 <= k <= n:
        raise IndexError(f"topk: k ({k}) is out of range for a dimension of size {n}")
    x, idx, d = _sorted(x, dim, largest, "topk")
    if x.ndim == 0:
        return TopkResult(x, idx)
    idx = _const(idx._data[(slice(None),) * d + (slice(0, k),)])
    return TopkResult(TakeAlongAxis.apply(x, indices=idx._data, axis=d), idx)


@tensor_method()
def unique(input, sorted=True, return_inverse=False, return_counts=False,  # noqa: A002
           dim=None):
    """The distinct values of ``input`` (flattened; or the distinct slices along ``dim``),
    sorted. With ``return_inverse`` also where each input entry went (input's shape, or
    length ``input.shape[dim]``); with ``return_counts`` how often each value occurs."""
    x = as_tensor(input, op="unique")
    xp = xp_of(x)
    if dim is not None:
        d = normalize_dim(dim, x.ndim, "unique")
        vals, inv, counts = xp.unique(x._data, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    else:
        vals, inv, counts = xp.unique(x._data.reshape(-1), return_inverse=True,
                                      return_counts=True)
        inv = inv.reshape(x.shape)
    out = [_const(vals)]
    if return_inverse:
        out.append(_const(inv.astype(xp.int64)))
    if return_counts:
        out.append(_const(counts.astype(xp.int64)))
    return out[0] if len(out) == 1 else tuple(out)


@tensor_method()
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """Collapse runs of equal consecutive values (or slices along ``dim``) into one."""
    x = as_tensor(input, op="unique_consecutive")
    xp = xp_of(x)
    a = x._data.reshape(-1) if dim is None else xp.moveaxis(
        x._data, normalize_dim(dim, x.ndim, "unique_consecutive"), 0)
    n = a.shape[0]
    if n == 0:
        starts = xp.zeros(0, dtype=xp.int64)
    else:
        diff = (a[1:] != a[:-1]).reshape(n - 1, -1).any(axis=1)
        starts = xp.concatenate([xp.zeros(1, dtype=bool), diff]).nonzero()[0]
        starts = xp.concatenate([xp.zeros(1, dtype=xp.int64), starts.astype(xp.int64)])
    vals = a[starts]
    if dim is not None:
        vals = xp.moveaxis(vals, 0, normalize_dim(dim, x.ndim, "unique_consecutive"))
    out = [_const(vals)]
    if return_inverse:
        run = xp.zeros(n, dtype=xp.int64)
        if n:
            run[starts[1:]] = 1
        inv = xp.cumsum(run)
        out.append(_const(inv.reshape(x.shape) if dim is None else inv))
    if return_counts:
        out.append(_const(xp.diff(xp.concatenate([starts, xp.asarray([n], dtype=xp.int64)]))))
    return out[0] if len(out) == 1 else tuple(out)


@tensor_method()
def bincount(input, weights=None, minlength=0):  # noqa: A002 - PyTorch's name
    """How often each value 0..max occurs in the 1-D non-negative integer ``input`` (at
    least ``minlength`` bins); with ``weights`` the sum of the weights instead (float
    weights keep their dtype, others give float64)."""
    x = as_tensor(input, op="bincount")
    xp = xp_of(x)
    if x.dtype.kind not in "iub" or x.ndim != 1:
        raise ShapeError(f"bincount: expected a 1-d integer tensor, got {x.ndim}-d {x.dtype}")
    if x.numel() and int(x._data.min()) < 0:
        raise ValueError("bincount: input must contain only non-negative integers")
    if minlength < 0:
        raise ValueError(f"bincount: minlength must be non-negative, got {minlength}")
    if weights is None:
        return _const(xp.bincount(x._data, minlength=minlength).astype(xp.int64))
    w = as_tensor(weights, op="bincount")
    if w.shape != x.shape:
        raise ShapeError(f"bincount: weights {w.shape} should have the input's shape {x.shape}")
    dtype = w.dtype if dtypes.is_floating(w.dtype) else xp.float64
    return _const(xp.bincount(x._data, weights=w._data, minlength=minlength).astype(dtype))


@tensor_method()
def histc(input, bins=100, min=0, max=0):  # noqa: A002 - PyTorch's names
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are
    0 or equal); values outside are ignored; the last bin includes ``max``. Floating input;
    the result has its dtype."""
    x = as_tensor(input, op="histc")
    if not dtypes.is_floating(x.dtype):
        raise DTypeError(f"histc: expected a floating tensor, got {x.dtype}")
    if bins <= 0:
        raise ValueError(f"histc: bins must be positive, got {bins}")
    xp = xp_of(x)
    a = x._data.reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1  # PyTorch widens an empty range by one on each side
    if lo > hi:
        raise ValueError(f"histc: max ({max}) must be larger than min ({min})")
    inside = a[(a >= lo) & (a <= hi)]
    pos = ((inside - lo) * (bins / (hi - lo))).astype(xp.int64)
    pos = xp.minimum(pos, bins - 1)  # max itself falls in the last bin
    return _const(xp.bincount(pos, minlength=bins).astype(x.dtype))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,  # noqa: A002
                 sorter=None):
    """Where ``input``'s values would go in ``sorted_sequence`` (sorted along its last
    dimension) to keep it sorted: the first such place, or the last with ``right=True`` /
    ``side='right'``. A 1-D sequence serves every value; an N-D one is searched row by row
    (its leading dimensions equal input's). ``sorter``: indices that sort the sequence."""
    seq = as_tensor(sorted_sequence, op="searchsorted")
    xp = xp_of(seq)
    scalar = not isinstance(input, Tensor) and xp.ndim(input) == 0
    v = as_tensor(input, like=seq, op="searchsorted")
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ValueError("searchsorted: side='left' contradicts right=True")
        right = side == "right"
    s = seq._data
    if sorter is not None:
        order = sorter._data if isinstance(sorter, Tensor) else xp.asarray(sorter)
        s = xp.take_along_axis(s, order, axis=-1)
    side = "right" if right else "left"
    if s.ndim == 1:
        out = xp.searchsorted(s, v._data, side=side)
    else:
        if s.shape[:-1] != v.shape[:-1]:
            raise ShapeError(f"searchsorted: the sequence's leading dimensions {s.shape[:-1]} "
                             f"should equal the input's {v.shape[:-1]}")
        # count the entries before each value, row by row: (..., m, 1) against (..., 1, n)
        before = (s[..., None, :] <= v._data[..., :, None]) if right else \
            (s[..., None, :] < v._data[..., :, None])
        out = before.sum(axis=-1)
    out = xp.asarray(out).astype(xp.int32 if out_int32 else xp.int64)
    return _const(out.reshape(()) if scalar else out)


@tensor_method()
def bucketize(input, boundaries, *, out_int32=False, right=False):  # noqa: A002
    """The bucket of each value of ``input`` given 1-D increasing ``boundaries``: i such
    that ``boundaries[i-1] < x <= boundaries[i]`` (``right=True``: ``boundaries[i-1] <= x <
    boundaries[i]``); the result has input's shape."""
    b = as_tensor(boundaries, op="bucketize")
    if b.ndim != 1:
        raise ShapeError(f"bucketize: boundaries must be 1-d, got shape {b.shape}")
    return searchsorted(b, input, out_int32=out_int32, right=right)

