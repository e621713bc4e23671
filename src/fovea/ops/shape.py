"""Shape ops: reshape/view, permute/transpose, flatten, squeeze/unsqueeze, expand, cat, stack,
split/chunk, pad, clone."""

from __future__ import annotations

import numbers

from fovea.autograd import Function
from fovea.ops._util import as_tensor, normalize_dim, xp_of


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
        dims = tuple(normalize_dim(d, x.ndim, "squeeze") for d in dims)
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
