"""Writing into a copy at indices: ``scatter`` (``src`` or ``value``, ``reduce=``),
``scatter_add``, ``scatter_reduce`` (sum, prod, mean, amax, amin; ``include_self``),
``index_add``, ``index_copy``, ``index_fill``, ``masked_fill``, ``masked_scatter``, each
with its in-place ``_`` method.

Each is built from differentiable pieces: the values to write are placed into zeros by a
scatter node (whose backward is the matching gather), and ``where(hit, placed, input)``
keeps the input elsewhere, so gradients of every order exist. ``amax``/``amin`` share the
gradient evenly among tied contributors and ``prod`` handles zeros, as PyTorch does.
Duplicate indices in ``scatter``/``index_copy`` write one of the values (PyTorch leaves
which one unspecified).
"""

from __future__ import annotations

import numbers

from fovea.autograd import Function
from fovea.errors import DTypeError, ShapeError
from fovea.ops import arithmetic
from fovea.ops._util import as_tensor, normalize_dim, tensor_method, xp_of
from fovea.ops.index import (
    Index,
    PutAlongAxisZeros,
    ScatterAddZeros,
    TakeAlongAxis,
    _bool_mask,
    _check_range,
    _index_array,
)
from fovea.tensor import Tensor

__all__ = ["index_add", "index_copy", "index_fill", "masked_fill", "masked_scatter",
           "scatter", "scatter_add", "scatter_reduce"]


def _grid(xp, indices, axis):
    """The full index tuple that puts ``indices`` along ``axis`` (open mesh elsewhere)."""
    n = indices.ndim  # an open mesh of aranges (CuPy's indices() has no sparse=)
    grid = [xp.arange(d).reshape((1,) * i + (d,) + (1,) * (n - i - 1))
            for i, d in enumerate(indices.shape)]
    grid[axis] = indices
    return tuple(grid)


class ScatterPlace(Function):
    """zeros(shape) with ``values`` written (not added) at ``indices`` along ``axis``."""

    @staticmethod
    def forward(ctx, values, shape, indices, axis):
        ctx.indices, ctx.axis = indices, axis
        out = ctx.xp.zeros(shape, dtype=values.dtype)
        out[_grid(ctx.xp, indices, axis)] = values
        return out

    @staticmethod
    def backward(ctx, g):
        return ctx.run(TakeAlongAxis, g, indices=ctx.indices, axis=ctx.axis)


class ScatterExtreme(Function):
    """scatter_reduce with amax/amin; ties share the gradient evenly (as PyTorch)."""

    @staticmethod
    def forward(ctx, x, src, indices, axis, use_min, include_self, hit):
        xp = ctx.xp
        ctx.indices, ctx.axis, ctx.keep = indices, axis, None if include_self else ~hit
        out = x.copy()
        if not include_self:  # positions that receive values start from the identity
            big = xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).max
            out[hit] = big if use_min else -big
        (xp.minimum if use_min else xp.maximum).at(out, _grid(xp, indices, axis), src)
        ctx.save_for_backward(x, src, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, src, out = ctx.saved_tensors
        xp = ctx.xp
        take = lambda a: ctx.run(TakeAlongAxis, a, indices=ctx.indices, axis=ctx.axis)  # noqa: E731
        from_src = xp.astype(src == take(out), g.dtype)
        from_x = xp.astype(x == out, g.dtype)
        if ctx.keep is not None:
            from_x = from_x * ctx.keep
        count = from_x + xp.put_along_axis_zeros(out.shape, ctx.indices, from_src, ctx.axis)
        share = g / xp.maximum(count, 1)
        return share * from_x, take(share) * from_src


class ScatterProd(Function):
    """scatter_reduce with prod. d out / d v = product of the group's other values, exact
    with zeros (one zero: only it gets a gradient; two or more: none does)."""

    @staticmethod
    def forward(ctx, x, src, indices, axis, include_self, hit):
        xp = ctx.xp
        ctx.indices, ctx.axis, ctx.include_self, ctx.hit = indices, axis, include_self, hit
        out = x.copy() if include_self else xp.where(hit, xp.ones_like(x), x)
        xp.multiply.at(out, _grid(xp, indices, axis), src)
        ctx.save_for_backward(x, src, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, src, out = ctx.saved_tensors
        xp, idx, axis = ctx.xp, ctx.indices, ctx.axis
        take = lambda a: ctx.run(TakeAlongAxis, a, indices=idx, axis=axis)  # noqa: E731
        one = xp.astype(x == x, g.dtype)  # ones of x's shape, on its device
        x_zero = xp.astype(x == 0, g.dtype) * (1 if ctx.include_self else (1 - ctx.hit))
        s_zero = xp.astype(src == 0, g.dtype)
        zeros = x_zero + xp.put_along_axis_zeros(out.shape, idx, s_zero, axis)
        x_safe = xp.where(x == 0, one, x)
        s_safe = xp.where(src == 0, take(one), src)
        nonzero_prod = ctx.run(ScatterProd, x_safe, s_safe, indices=idx, axis=axis,
                               include_self=ctx.include_self, hit=ctx.hit)
        # product of the others: out / v when v != 0; the others' product if v is the only 0
        lone = xp.where(zeros == 1, nonzero_prod, nonzero_prod * 0)
        others_x = xp.where(x == 0, lone, out / x_safe)
        lone_s, out_s = take(lone), take(out)
        others_s = xp.where(src == 0, lone_s, out_s / s_safe)
        gx = g * others_x
        if not ctx.include_self:
            gx = xp.where(ctx.hit, g * 0, g)
        return gx, take(g) * others_s


# --- argument checks ---------------------------------------------------------------------

def _scatter_args(input, dim, index, src, op):
    """(x, axis, index array, src cut to index's shape or None) after PyTorch's checks."""
    x = as_tensor(input, op=op)
    idx = _index_array(index, x, op)
    d = normalize_dim(dim, x.ndim, op)
    if idx.ndim != x.ndim:
        raise ShapeError(f"{op}: index has {idx.ndim} dimensions but input has {x.ndim}")
    for i, (a, b) in enumerate(zip(idx.shape, x.shape)):
        if i != d and a > b:
            raise ShapeError(f"{op}: index {idx.shape} is larger than input {x.shape} "
                             f"outside dimension {d}")
    _check_range(idx, x.shape[d] if x.ndim else 1, d, op)
    if isinstance(src, Tensor):
        if src.dtype != x.dtype:
            raise DTypeError(f"{op}: expected src of the input's dtype {x.dtype}, got "
                             f"{src.dtype}")
        if src.ndim != idx.ndim or any(a > b for a, b in zip(idx.shape, src.shape)):
            raise ShapeError(f"{op}: index {idx.shape} is larger than src {src.shape}")
        if src.shape != idx.shape:
            src = Index.apply(src, key=tuple(slice(0, s) for s in idx.shape))
    return x, d, idx, src


def _hit(xp, shape, key):
    """A bool array of ``shape``: True where ``key`` writes."""
    m = xp.zeros(shape, dtype=bool)
    m[key] = True
    return m


def _fill_value(value, x, op):
    """``value`` (a number or a 0-d tensor) as a tensor of ``x``'s dtype on its device."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise ShapeError(f"{op}: value must be a 0-d tensor or a number, got shape "
                             f"{value.shape}")
        return value.to(x.dtype)
    if not isinstance(value, numbers.Number):
        raise TypeError(f"{op}: value must be a number or a 0-d tensor, got "
                        f"{type(value).__name__}")
    return Tensor._make(xp_of(x).asarray(value).astype(x.dtype), None)


# --- public wrappers ---------------------------------------------------------------------

@tensor_method(inplace=True)
def scatter(input, dim, index, src=None, *, value=None, reduce=None):  # noqa: A002
    """A copy of ``input`` with ``src[i][j]`` (or the number ``value``) written at
    ``out[i][index[i][j]]`` along ``dim`` (shown for dim=1).

    index: input's rank, no larger than input outside ``dim`` nor than ``src``.
    ``reduce='add'`` or ``'multiply'`` combines instead of writing (PyTorch's legacy form;
    prefer :func:`scatter_reduce`).
    """
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src  # scatter(input, dim, index, value)
    if (src is None) == (value is None):
        raise TypeError("scatter: pass exactly one of src (a tensor) and value (a number)")
    x, d, idx, src = _scatter_args(input, dim, index, src, "scatter")
    xp = xp_of(x)
    if src is None:
        src = Tensor._make(xp.full(idx.shape, value, dtype=x.dtype), None)
    if reduce is not None:
        modes = {"add": "sum", "multiply": "prod"}
        if reduce not in modes:
            raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        return scatter_reduce(x, d, idx, src, modes[reduce])
    hit = _hit(xp, x.shape, _grid(xp, idx, d))
    placed = ScatterPlace.apply(src, shape=x.shape, indices=idx, axis=d)
    return arithmetic.where(hit, placed, x)


@tensor_method(inplace=True)
def scatter_add(input, dim, index, src):  # noqa: A002 - PyTorch's name
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``; repeated indices
    accumulate. Shapes as in :func:`scatter`."""
    x, d, idx, src = _scatter_args(input, dim, index, as_tensor(src), "scatter_add")
    return x + PutAlongAxisZeros.apply(src, shape=x.shape, indices=idx, axis=d)


@tensor_method(inplace=True)
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):  # noqa: A002
    """Combine ``src`` into a copy of ``input`` at ``index`` along ``dim`` with ``reduce``:
    ``'sum'``, ``'prod'``, ``'mean'``, ``'amax'`` or ``'amin'``. With
    ``include_self=False`` the positions that receive values forget the input's value.
    """
    x, d, idx, src = _scatter_args(input, dim, index, as_tensor(src), "scatter_reduce")
    xp = xp_of(x)
    hit = _hit(xp, x.shape, _grid(xp, idx, d))
    if reduce in ("sum", "mean"):
        base = x if include_self else arithmetic.where(hit, 0, x)
        total = base + PutAlongAxisZeros.apply(src, shape=x.shape, indices=idx, axis=d)
        if reduce == "sum":
            return total
        count = xp.zeros(x.shape, dtype=x.dtype)
        xp.add.at(count, _grid(xp, idx, d), 1)
        count = xp.maximum(count + (1 if include_self else 0), 1)
        if x.dtype.kind == "f":
            return total / Tensor._make(count, None)
        return Tensor._make(total._data // count, None)
    if reduce in ("amax", "amin"):
        return ScatterExtreme.apply(x, src, indices=idx, axis=d, use_min=reduce == "amin",
                                    include_self=include_self, hit=hit)
    if reduce == "prod":
        return ScatterProd.apply(x, src, indices=idx, axis=d, include_self=include_self,
                                 hit=hit)
    raise ValueError(f"scatter_reduce: reduce must be 'sum', 'prod', 'mean', 'amax' or "
                     f"'amin', got {reduce!r}")


def _index_args(input, dim, index, op):
    x = as_tensor(input, op=op)
    idx = _index_array(index, x, op)
    if idx.ndim > 1:
        raise ShapeError(f"{op}: index must be 0-d or 1-d, got {idx.ndim}-d")
    idx = idx.reshape(-1)
    d = normalize_dim(dim, x.ndim, op)
    _check_range(idx, x.shape[d] if x.ndim else 1, d, op)
    return x, d, idx, (slice(None),) * d + (idx,)


def _index_source(x, d, idx, source, op):
    source = as_tensor(source, like=x, op=op)
    want = x.shape[:d] + (len(idx),) + x.shape[d + 1:]
    if source.shape != want and not (x.ndim == 0 and source.numel() == len(idx)):
        raise ShapeError(f"{op}: source should have shape {want}, got {source.shape}")
    if source.dtype != x.dtype:
        raise DTypeError(f"{op}: source dtype {source.dtype} differs from input dtype {x.dtype}")
    return source.reshape(want) if x.ndim else source.reshape(-1)


@tensor_method(inplace=True)
def index_add(input, dim, index, source, *, alpha=1):  # noqa: A002 - PyTorch's name
    """A copy of ``input`` with ``alpha * source`` added at the entries ``index`` (1-D) of
    ``dim``; repeated indices accumulate. source: input's shape with len(index) at ``dim``."""
    x, d, idx, key = _index_args(input, dim, index, "index_add")
    source = _index_source(x, d, idx, source, "index_add")
    if alpha != 1:
        source = source * alpha
    if x.ndim == 0:
        return x + source.sum()
    return x + ScatterAddZeros.apply(source, shape=x.shape, key=key)


@tensor_method(inplace=True)
def index_copy(input, dim, index, source):  # noqa: A002 - PyTorch's name
    """A copy of ``input`` with the entries ``index`` (1-D) of ``dim`` replaced by ``source``
    (input's shape with len(index) at ``dim``)."""
    x, d, idx, key = _index_args(input, dim, index, "index_copy")
    source = _index_source(x, d, idx, source, "index_copy")
    if x.ndim == 0:
        return source.reshape(()) if len(idx) else x
    xp = xp_of(x)
    idx = idx % x.shape[d]
    _, first_from_end = xp.unique(idx[::-1], return_index=True)
    last = len(idx) - 1 - first_from_end  # duplicates: the last one wins, as on PyTorch's CPU
    if len(last) != len(idx):
        source = Index.apply(source, key=(slice(None),) * d + (last,))
        idx = idx[last]
        key = (slice(None),) * d + (idx,)
    placed = ScatterAddZeros.apply(source, shape=x.shape, key=key)
    return arithmetic.where(_hit(xp, x.shape, key), placed, x)


@tensor_method(inplace=True)
def index_fill(input, dim, index, value):  # noqa: A002 - PyTorch's name
    """A copy of ``input`` with the entries ``index`` (1-D) of ``dim`` set to ``value``
    (a number or a 0-d tensor)."""
    x, d, idx, key = _index_args(input, dim, index, "index_fill")
    if x.ndim == 0:
        return _fill_value(value, x, "index_fill") if len(idx) else x
    return arithmetic.where(_hit(xp_of(x), x.shape, key), _fill_value(value, x, "index_fill"), x)


@tensor_method(inplace=True, replace=True)
def masked_fill(input, mask, value):  # noqa: A002 - PyTorch's name
    """A copy of ``input`` with ``value`` (a number or a 0-d tensor) where ``mask`` (bool,
    broadcastable to input's shape) holds."""
    x = as_tensor(input, op="masked_fill")
    m = _bool_mask(mask, x, "masked_fill")
    v = _fill_value(value, x, "masked_fill")
    out = arithmetic.where(m, v, x)
    if out.shape != x.shape:
        raise ShapeError(f"masked_fill: mask {m.shape} does not broadcast to input {x.shape}")
    return out


@tensor_method(inplace=True)
def masked_scatter(input, mask, source):  # noqa: A002 - PyTorch's name
    """A copy of ``input`` whose entries where ``mask`` holds are, in C order, the first
    entries of ``source`` (at least as many elements as the mask has True)."""
    x = as_tensor(input, op="masked_scatter")
    m = _bool_mask(mask, x, "masked_scatter")
    source = as_tensor(source, like=x, op="masked_scatter")
    if source.dtype != x.dtype:
        raise DTypeError(f"masked_scatter: source dtype {source.dtype} differs from input "
                         f"dtype {x.dtype}")
    xp = xp_of(x)
    try:
        shape = tuple(xp.broadcast_shapes(x.shape, m.shape))
    except ValueError:
        raise ShapeError(f"masked_scatter: mask {m.shape} and input {x.shape} cannot be "
                         "broadcast") from None
    m = xp.broadcast_to(m, shape) if m.shape != shape else m
    k = int(m.sum())
    if source.numel() < k:
        raise ShapeError(f"masked_scatter: the mask has {k} True entries but source has only "
                         f"{source.numel()} elements")
    taken = Index.apply(source.reshape(-1), key=slice(0, k))
    placed = ScatterAddZeros.apply(taken, shape=shape, key=m)
    return arithmetic.where(m, placed, x)
