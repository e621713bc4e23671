"""Shape ops: reshape/view (and ``*_as``), permute/transpose/movedim/swapaxes/t, flatten/
unflatten, squeeze/unsqueeze, expand/broadcast_to, narrow, cat/concat/stack/hstack/vstack/
dstack, split/chunk/tensor_split (and hsplit/vsplit/dsplit), meshgrid, atleast_Nd, pad,
clone."""

from __future__ import annotations

import numbers

from fovea.autograd import Function
from fovea.errors import ShapeError
from fovea.ops._util import as_tensor, normalize_dim, tensor_method, xp_of
from fovea.tensor import Tensor


class Reshape(Function):
    """A new shape for the same elements (C order, as in NumPy and PyTorch).

    When the input was not C-ordered (a channels-last activation being flattened), forward
    had to copy, and backward hands the gradient back in the input's memory layout, so the
    layers below (pooling, ReLU, convolution) keep working on one layout (the device's
    ``layout`` kernels decide; a device without layouts reshapes plainly).
    """

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        out = ctx.xp.reshape(x, shape)
        ctx.in_order = ctx.kernels.layout.reshape_order(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        if ctx.in_order is not None and not ctx.recording:  # raw arrays: restore the layout
            return ctx.kernels.layout.reshape_in_order(g, ctx.in_shape, ctx.in_order)
        return ctx.xp.reshape(g, ctx.in_shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return ctx.xp.transpose(x, axes)

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.axes)
        for i, a in enumerate(ctx.axes):
            inverse[a] = i
        return ctx.xp.transpose(g, tuple(inverse))


class Expand(Function):
    """Broadcast to a larger shape (a view); the engine sums the gradient back."""

    @staticmethod
    def forward(ctx, x, shape):
        return ctx.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g


class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        ctx.sizes = [a.shape[axis] for a in arrays]
        return ctx.xp.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        out, start = [], 0
        index = [slice(None)] * g.ndim
        for n in ctx.sizes:
            index[ctx.axis] = slice(start, start + n)
            out.append(g[tuple(index)])
            start += n
        return tuple(out)


class Pad(Function):
    """Constant padding; ``widths`` is NumPy's ((before, after), ...) per dimension."""

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths = widths
        return ctx.kernels.layout.pad(x, widths, value)  # in x's memory layout on the CPU

    @staticmethod
    def backward(ctx, g):
        # Negative padding (cropping) in forward: the gradient is padded back with zeros.
        index = tuple(slice(b, g.shape[i] - a) for i, (b, a) in enumerate(ctx.widths))
        return g[index]


class Copy(Function):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


# --- public wrappers ---------------------------------------------------------------------

def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(x, *shape):
    """The same elements in a new shape; one dimension may be -1 (inferred)."""
    x = as_tensor(x, op="reshape")
    shape = _shape_arg(shape)
    out_shape = _infer(x, shape)
    if out_shape == x.shape:
        return x
    return Reshape.apply(x, shape=out_shape)


def _infer(x, shape):
    size = x._data.size
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got {shape}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise ValueError(f"reshape: invalid size {s} in shape {shape}")
            known *= s
    if -1 in shape:
        if known == 0 or size % known:
            raise ValueError(f"reshape: shape {shape} is invalid for input of size {size} "
                             f"(shape {x.shape})")
        shape = tuple(size // known if s == -1 else s for s in shape)
    elif known != size:
        raise ValueError(f"reshape: shape {shape} is invalid for input of size {size} "
                         f"(shape {x.shape})")
    return shape


view = reshape


def permute(x, *dims):
    """Reorder dimensions: output dim i is input dim ``dims[i]``."""
    x = as_tensor(x, op="permute")
    dims = _shape_arg(dims)
    if len(dims) != x.ndim or sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} dimensions "
                         f"of a tensor of shape {x.shape}")
    axes = tuple(d % x.ndim for d in dims)
    if axes == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, axes=axes)


def transpose(x, dim0, dim1):
    """Swap two dimensions."""
    x = as_tensor(x, op="transpose")
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    d0, d1 = normalize_dim(dim0, x.ndim, "transpose"), normalize_dim(dim1, x.ndim, "transpose")
    axes = list(range(x.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return permute(x, *axes)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim`` .. ``end_dim`` into one."""
    x = as_tensor(x, op="flatten")
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = normalize_dim(start_dim, x.ndim, "flatten"), normalize_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (-1 if x._data.size else _prod(x.shape[s:e + 1]),) + x.shape[e + 1:]
    return reshape(x, *shape)


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def squeeze(x, dim=None):
    """Remove size-1 dimensions (all of them, or those in ``dim``; others are left alone)."""
    x = as_tensor(x, op="squeeze")
    if dim is None:
        dims = tuple(i for i, s in enumerate(x.shape) if s == 1)
    else:
        dims = dim if isinstance(dim, tuple | list) else (dim,)
        dims = tuple(normalize_dim(d, max(x.ndim, 1), "squeeze") for d in dims)
        if x.ndim == 0:  # dim 0 or -1 of a 0-d tensor: nothing to remove, as in PyTorch
            return x
        dims = tuple(d for d in dims if x.shape[d] == 1)
    return reshape(x, *(s for i, s in enumerate(x.shape) if i not in dims))


def unsqueeze(x, dim):
    """Insert a size-1 dimension at ``dim`` (negative counts from the end of the result)."""
    x = as_tensor(x, op="unsqueeze")
    d = normalize_dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, *(x.shape[:d] + (1,) + x.shape[d:]))


def expand(x, *sizes):
    """Broadcast to ``sizes`` without copying (-1 keeps a dimension)."""
    x = as_tensor(x, op="expand")
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"expand: target {sizes} has fewer dimensions than the input {x.shape}")
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    for i, s in enumerate(x.shape):
        if s != 1 and s != shape[i + lead]:
            raise ValueError(f"expand: the input's size {s} at dimension {i} cannot be expanded "
                             f"to {shape[i + lead]} (input {x.shape}, target {sizes})")
    if shape == x.shape:
        return x
    return Expand.apply(x, shape=shape)


def cat(tensors, dim=0):
    """Join tensors along an existing dimension; all other dimensions must agree."""
    tensors = [as_tensor(t, op="cat") for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    ref = tensors[0]
    d = normalize_dim(dim, ref.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or t.shape[:d] + t.shape[d + 1:] != ref.shape[:d] + ref.shape[d + 1:]:
            raise ValueError(f"cat: tensor {i} has shape {t.shape} but tensor 0 has {ref.shape}; "
                             f"all dimensions except {d} must match")
    dtype = xp_of(ref).result_type(*[t._data for t in tensors])
    tensors = [t.to(dtype) for t in tensors]
    return Cat.apply(*tensors, axis=d)


concatenate = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dimension ``dim``."""
    tensors = [as_tensor(t, op="stack") for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has "
                             f"{tensors[0].shape}; all must match")
    d = normalize_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


def split(x, split_size_or_sections, dim=0):
    """Split into chunks of ``split_size`` (the last may be smaller) or of the listed sizes."""
    x = as_tensor(x, op="split")
    d = normalize_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} sum to {sum(sizes)}, but dimension {d} "
                             f"has size {n}")
    out, start = [], 0
    for s in sizes:
        index = (slice(None),) * d + (slice(start, start + s),)
        out.append(x[index])
        start += s
    return tuple(out)


def chunk(x, chunks, dim=0):
    """Split into ``chunks`` pieces of size ceil(n / chunks) (fewer if it does not divide)."""
    x = as_tensor(x, op="chunk")
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[normalize_dim(dim, x.ndim, "chunk")]
    return split(x, max(1, -(-n // chunks)), dim)


def pad(x, pad, mode="constant", value=0.0):
    """Pad with a constant, PyTorch style: ``pad`` lists (left, right) pairs from the last
    dimension backwards, e.g. ``(1, 1, 2, 2)`` pads W by 1 and H by 2. Negative values crop."""
    x = as_tensor(x, op="pad")
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of at most {2 * x.ndim} values, got {pad}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return pad_numpy(x, widths, value)


def pad_numpy(x, widths, value=0.0):
    """Pad with NumPy-style ``widths`` ((before, after) per dimension); negative crops."""
    x = as_tensor(x, op="pad")
    widths = tuple((int(b), int(a)) for b, a in widths)
    if all(b >= 0 and a >= 0 for b, a in widths):
        return Pad.apply(x, widths=widths, value=value)
    crop = tuple(slice(max(-b, 0), x.shape[i] - max(-a, 0)) for i, (b, a) in enumerate(widths))
    return pad_numpy(x[crop], tuple((max(b, 0), max(a, 0)) for b, a in widths), value)


def clone(x):
    """A copy with its own memory (differentiable)."""
    return Copy.apply(as_tensor(x, op="clone"))


# --- PyTorch's further shape ops ---------------------------------------------------------

def _dims(dims, ndim, op):
    dims = tuple(dims) if isinstance(dims, tuple | list) else (dims,)
    out = tuple(normalize_dim(int(d), ndim, op) for d in dims)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated dim in {dims}")
    return out


@tensor_method("movedim", "moveaxis")
def movedim(input, source, destination):  # noqa: A002 - PyTorch's name
    """Move dimensions ``source`` (int or tuple) to positions ``destination``; the others
    keep their order. (2, 3, 4).movedim(0, -1) has shape (3, 4, 2)."""
    x = as_tensor(input, op="movedim")
    src, dst = _dims(source, x.ndim, "movedim"), _dims(destination, x.ndim, "movedim")
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} differ in "
                         "length")
    rest = iter(d for d in range(x.ndim) if d not in src)
    where = dict(zip(dst, src))
    return permute(x, *(where[i] if i in where else next(rest) for i in range(x.ndim)))


moveaxis = movedim


@tensor_method("swapaxes", "swapdims")
def swapaxes(input, axis0, axis1):  # noqa: A002 - PyTorch's name
    """:func:`transpose` under NumPy's name: swap two dimensions."""
    return transpose(input, axis0, axis1)


swapdims = swapaxes


@tensor_method()
def t(input):  # noqa: A002 - PyTorch's name
    """Transpose a matrix; a 0-d or 1-d tensor comes back as it is."""
    x = as_tensor(input, op="t")
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dimensions, got {x.ndim}")
    return transpose(x, 0, 1) if x.ndim == 2 else x


@tensor_method()
def unflatten(input, dim, sizes):  # noqa: A002 - PyTorch's name
    """Split dimension ``dim`` into ``sizes`` (one may be -1): (2, 12).unflatten(1, (3, 4))
    has shape (2, 3, 4)."""
    x = as_tensor(input, op="unflatten")
    d = normalize_dim(dim, x.ndim, "unflatten")
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise ValueError("unflatten: sizes must be non-empty")
    known = _prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1 or (-1 not in sizes and known != x.shape[d]) or \
            (-1 in sizes and (known == 0 or x.shape[d] % known)):
        raise ShapeError(f"unflatten: sizes {sizes} don't multiply up to the size of dim {d} "
                         f"({x.shape[d]}) of input {x.shape}")
    sizes = tuple(x.shape[d] // known if s == -1 else s for s in sizes)
    return reshape(x, *(x.shape[:d] + sizes + x.shape[d + 1:]))


@tensor_method()
def narrow(input, dim, start, length):  # noqa: A002 - PyTorch's name
    """Entries ``start`` .. ``start + length - 1`` of dimension ``dim`` (a view);
    ``start`` may be negative or a 0-d integer tensor."""
    x = as_tensor(input, op="narrow")
    d = normalize_dim(dim, x.ndim, "narrow")
    n, start = x.shape[d], int(start)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range for dimension {d} of size {n}")
    start %= max(n, 1) if start < 0 else n + 1
    if length < 0 or start + length > n:
        raise ValueError(f"narrow: start ({start}) + length ({length}) exceeds dimension {d} "
                         f"of size {n}")
    return x[(slice(None),) * d + (slice(start, start + length),)]


def broadcast_to(input, size):  # noqa: A002 - PyTorch's name
    """``input`` expanded to ``size`` (a view; -1 keeps a dimension)."""
    return expand(input, *size)


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape."""
    tensors = [as_tensor(t, op="broadcast_tensors") for t in tensors]
    try:
        shape = xp_of(tensors[0]).broadcast_shapes(*[t.shape for t in tensors])
    except ValueError:
        raise ShapeError(f"broadcast_tensors: shapes {[t.shape for t in tensors]} cannot be "
                         "broadcast together") from None
    return tuple(expand(t, *shape) for t in tensors)


@tensor_method()
def view_as(input, other):  # noqa: A002 - PyTorch's name
    """``input.view(other.shape)``."""
    return reshape(input, *other.shape)


@tensor_method()
def reshape_as(input, other):  # noqa: A002 - PyTorch's name
    """``input.reshape(other.shape)``."""
    return reshape(input, *other.shape)


concat = cat


def atleast_1d(*tensors):
    """Each tensor with at least 1 dimension (0-d becomes (1,)); one tensor in, one out."""
    out = [reshape(t, 1) if as_tensor(t).ndim == 0 else as_tensor(t) for t in _flat(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dimensions: () -> (1, 1), (n,) -> (1, n)."""
    out = [_lead(as_tensor(t), 2) for t in _flat(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*tensors):
    """At least 3 dimensions: () -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    def three(t):
        t = as_tensor(t)
        shapes = {0: (1, 1, 1), 1: (1,) + t.shape + (1,), 2: t.shape + (1,)}
        return reshape(t, *shapes[t.ndim]) if t.ndim < 3 else t
    out = [three(t) for t in _flat(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def _flat(tensors):
    return tensors[0] if len(tensors) == 1 and isinstance(tensors[0], list | tuple) else tensors


def _lead(t, n):
    return reshape(t, *((1,) * (n - t.ndim) + t.shape)) if t.ndim < n else t


def hstack(tensors):
    """Join along dim 1 (dim 0 for 1-d tensors): ``torch.hstack``."""
    ts = [atleast_1d(t) for t in tensors]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    """Join along dim 0 after making each at least 2-d: ``torch.vstack``."""
    return cat([atleast_2d(t) for t in tensors], 0)


row_stack = vstack


def dstack(tensors):
    """Join along dim 2 after making each at least 3-d: ``torch.dstack``."""
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors):
    """Join as columns: 0-d and 1-d tensors become (n, 1) columns, then ``hstack``."""
    ts = [as_tensor(t) for t in tensors]
    return cat([reshape(t, -1, 1) if t.ndim < 2 else t for t in ts], 1)


@tensor_method()
def tensor_split(input, indices_or_sections, dim=0):  # noqa: A002 - PyTorch's name
    """Split into ``sections`` nearly equal parts (the first ``n % sections`` one longer), or
    at the listed ``indices`` (an int list or 1-d tensor; a 0-d tensor counts as sections).
    Parts are views along ``dim``."""
    x = as_tensor(input, op="tensor_split")
    d = normalize_dim(dim, x.ndim, "tensor_split")
    n = x.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios.dtype.kind not in "iu" or ios.ndim > 1:
            raise TypeError("tensor_split: a tensor of indices_or_sections must be a 0-d or "
                            f"1-d integer tensor, got {ios.ndim}-d {ios.dtype}")
        ios = int(ios.item()) if ios.ndim == 0 else [int(i) for i in ios.tolist()]
    if isinstance(ios, numbers.Integral):
        if ios <= 0:
            raise ValueError(f"tensor_split: number of sections must be positive, got {ios}")
        q, r = divmod(n, int(ios))
        sizes = [q + 1] * r + [q] * (int(ios) - r)
        bounds = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
    else:
        bounds = [0] + [min(max(int(i) + (n if i < 0 else 0), 0), n) for i in ios] + [n]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        out.append(x[(slice(None),) * d + (slice(a, max(a, b)),)])
    return tuple(out)


def _nsplit(op, dim, need):
    def fn(input, indices_or_sections):  # noqa: A002 - PyTorch's name
        x = as_tensor(input, op=op)
        if x.ndim < need:
            raise ShapeError(f"{op}: needs a tensor with at least {need} dimensions, got "
                             f"{x.ndim}")
        d = 0 if (op == "hsplit" and x.ndim == 1) else dim
        if isinstance(indices_or_sections, numbers.Integral) and \
                x.shape[d] % indices_or_sections:
            raise ShapeError(f"{op}: dimension {d} of size {x.shape[d]} is not divisible by "
                             f"{indices_or_sections}")
        return tensor_split(x, indices_or_sections, d)
    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = (f"``tensor_split`` along dim {dim}" + (" (dim 0 for 1-d input)"
                  if op == "hsplit" else "") + "; equal sections must divide the dimension.")
    return tensor_method()(fn)


hsplit = _nsplit("hsplit", 1, 1)
vsplit = _nsplit("vsplit", 0, 2)
dsplit = _nsplit("dsplit", 2, 3)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-d tensors: output i has shape (len(t0), len(t1), ...) and
    varies along dim i (``indexing='ij'``, PyTorch's default); ``'xy'`` swaps the first two
    dimensions of every output (NumPy's default)."""
    ts = [as_tensor(t, op="meshgrid") for t in _flat(tensors)]
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim > 1 for t in ts):
        raise ShapeError(f"meshgrid: expects 0-d or 1-d tensors, got shapes "
                         f"{[t.shape for t in ts]}")
    ts = [reshape(t, -1) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    k = len(ts)
    out = [expand(reshape(t, *((1,) * i + (-1,) + (1,) * (k - i - 1))), *shape)
           for i, t in enumerate(ts)]
    if swap:  # the grids of (t1, t0, ...) are 'xy' grids; put them back in input order
        out[0], out[1] = out[1], out[0]
    return tuple(out)
