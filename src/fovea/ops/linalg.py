"""Matrix products: ``matmul``, ``mm``, ``bmm``, ``mv``, ``dot``, ``outer``, ``kron``,
``einsum``, ``cross``, ``cdist``, and the fused-form ``addmm``, ``addmv``, ``addr``,
``baddbmm``, ``addbmm`` (``beta * input + alpha * product``)."""

from __future__ import annotations

import string

import numpy as _numpy

from fovea.autograd import Function
from fovea.errors import DTypeError, ShapeError
from fovea.ops import arithmetic
from fovea.ops._util import as_tensor, binary_operands, normalize_dim, tensor_method, xp_of
from fovea.ops.shape import broadcast_tensors, expand, reshape, stack

__all__ = ["addbmm", "addmm", "addmv", "addr", "baddbmm", "bmm", "cdist", "cross", "dot",
           "einsum", "ger", "inner", "kron", "mv", "outer"]


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


def _same_dtype(a, b, op):
    a, b = as_tensor(a, op=op), as_tensor(b, op=op)
    if a.dtype != b.dtype:
        raise DTypeError(f"{op}: expected both operands of one dtype, got {a.dtype} and "
                         f"{b.dtype}")
    return a, b


@tensor_method()
def mm(input, mat2):  # noqa: A002 - PyTorch's name
    """2-D matrix product (n, k) @ (k, m) -> (n, m)."""
    a, b = _same_dtype(input, mat2, "mm")
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: expected 2-D operands, got {a.shape} and {b.shape}")
    return matmul(a, b)


@tensor_method()
def bmm(input, mat2):  # noqa: A002 - PyTorch's name
    """Batched matrix product (b, n, k) @ (b, k, m) -> (b, n, m); no broadcasting."""
    a, b = _same_dtype(input, mat2, "bmm")
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: expected 3-D operands with one batch size, got {a.shape} and "
                         f"{b.shape}")
    return matmul(a, b)


@tensor_method()
def mv(input, vec):  # noqa: A002 - PyTorch's name
    """Matrix-vector product (n, m) @ (m,) -> (n,)."""
    a, v = _same_dtype(input, vec, "mv")
    if a.ndim != 2 or v.ndim != 1:
        raise ShapeError(f"mv: expected a 2-D and a 1-D operand, got {a.shape} and {v.shape}")
    return matmul(a, v)


@tensor_method()
def dot(input, other):  # noqa: A002 - PyTorch's name
    """Inner product of two 1-D tensors of one length (a 0-d tensor)."""
    a, b = _same_dtype(input, other, "dot")
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ShapeError(f"dot: expected two 1-D tensors of one length, got {a.shape} and "
                         f"{b.shape}")
    return matmul(a, b)


vdot = dot  # real tensors only: no conjugation to do


@tensor_method()
def inner(input, other):  # noqa: A002 - PyTorch's name
    """Sum over the last dimension of both: (..., k) and (..., k) -> a.shape[:-1] +
    b.shape[:-1]; a scalar operand multiplies."""
    a, b = binary_operands(input, other, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"inner: last dimensions differ: {a.shape} and {b.shape}")
    la, lb = string.ascii_letters[:a.ndim - 1], string.ascii_letters[26:26 + b.ndim - 1]
    return einsum(f"{la}z,{lb}z->{la}{lb}", a, b)


@tensor_method("outer", "ger")
def outer(input, vec2):  # noqa: A002 - PyTorch's name
    """Outer product of 1-D tensors: (n,) and (m,) -> (n, m), out[i, j] = a[i] * b[j]."""
    a, b = binary_operands(input, vec2, "outer")
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: expected 1-D operands, got {a.shape} and {b.shape}")
    return reshape(a, -1, 1) * reshape(b, 1, -1)


ger = outer


@tensor_method()
def kron(input, other):  # noqa: A002 - PyTorch's name
    """Kronecker product: block (i, j, ...) is ``input[i, j, ...] * other``; the shapes
    multiply dimension by dimension (the shorter one padded with leading 1s)."""
    a, b = binary_operands(input, other, "kron")
    nd = max(a.ndim, b.ndim)
    sa, sb = (1,) * (nd - a.ndim) + a.shape, (1,) * (nd - b.ndim) + b.shape
    prod = reshape(a, *[v for s in sa for v in (s, 1)]) * reshape(b, *[v for s in sb
                                                                       for v in (1, s)])
    return reshape(prod, *(p * q for p, q in zip(sa, sb)))


def _add_product(op, input, product, beta, alpha):
    """beta * input + alpha * product; with beta == 0 input is ignored (NaN included)."""
    scaled = product if alpha == 1 else product * alpha
    try:
        shape = xp_of(scaled).broadcast_shapes(as_tensor(input).shape, scaled.shape)
    except ValueError:
        shape = None
    if shape != scaled.shape:
        raise ShapeError(f"{op}: input of shape {as_tensor(input).shape} does not broadcast to "
                         f"the product's shape {scaled.shape}")
    if beta == 0:  # input's gradient is 0 (as PyTorch's), and NaN in it does not leak
        return scaled + arithmetic.where(xp_of(scaled).zeros((), dtype=bool), input, 0)
    return (input if beta == 1 else input * beta) + scaled


@tensor_method()
def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002 - PyTorch's name
    """beta * input + alpha * (mat1 @ mat2): (n, k) @ (k, m), input broadcastable to (n, m)."""
    return _add_product("addmm", input, mm(mat1, mat2), beta, alpha)


@tensor_method()
def addmv(input, mat, vec, *, beta=1, alpha=1):  # noqa: A002 - PyTorch's name
    """beta * input + alpha * (mat @ vec): (n, m) @ (m,), input broadcastable to (n,)."""
    return _add_product("addmv", input, mv(mat, vec), beta, alpha)


@tensor_method()
def addr(input, vec1, vec2, *, beta=1, alpha=1):  # noqa: A002 - PyTorch's name
    """beta * input + alpha * outer(vec1, vec2)."""
    return _add_product("addr", input, outer(vec1, vec2), beta, alpha)


@tensor_method()
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002 - PyTorch's name
    """beta * input + alpha * bmm(batch1, batch2): (b, n, k) @ (b, k, m), input
    broadcastable to (b, n, m)."""
    return _add_product("baddbmm", input, bmm(batch1, batch2), beta, alpha)


@tensor_method()
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002 - PyTorch's name
    """beta * input + alpha * sum over the batch of bmm(batch1, batch2): (n, m) result."""
    return _add_product("addbmm", input, bmm(batch1, batch2).sum(0), beta, alpha)


# --- einsum ------------------------------------------------------------------------------

class Einsum(Function):
    """``einsum`` with an explicit equation (no ellipsis, output given).

    Backward for operand i is itself an einsum: the upstream gradient contracted with the
    other operands into operand i's subscripts. A letter repeated in operand i (a diagonal)
    is renamed and tied back with an identity matrix; a letter only operand i has (summed
    away) is broadcast back with a vector of ones.
    """

    @staticmethod
    def forward(ctx, *ops, equation):
        xp = ctx.xp
        ctx.equation = equation
        ins, _ = equation.split("->")
        ctx.sizes = {c: s for sub, a in zip(ins.split(","), ops) for c, s in zip(sub, a.shape)}
        ctx.dtype, ctx.device_xp = xp.result_type(*ops), xp  # for backward's constants
        ctx.save_for_backward(*ops)
        # NOTE: NumPy's contraction optimizer reaches BLAS through np.tensordot, which only
        # takes NumPy's own arrays; another device's module (CuPy) optimizes on its own.
        return xp.einsum(equation, *ops, optimize=len(ops) > 1 and xp.module is _numpy)

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        ins, out = ctx.equation.split("->")
        ins = ins.split(",")
        free = iter(c for c in string.ascii_letters if c not in ctx.sizes)
        grads = []
        for i, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            subs, args, target, seen = [out], [g], "", set()
            for j, sub in enumerate(ins):
                if j != i:
                    subs.append(sub)
                    args.append(ops[j])
            known = set(out).union(*[set(s) for j, s in enumerate(ins) if j != i])
            for c in ins[i]:
                if c in seen:  # repeated: a new letter, tied to c by an identity matrix
                    new = next(free)
                    subs.append(c + new)
                    args.append(ctx.device_xp.eye(ctx.sizes[c], dtype=ctx.dtype))
                    target += new
                    continue
                seen.add(c)
                target += c
                if c not in known:  # summed away in forward: broadcast back
                    subs.append(c)
                    args.append(ctx.device_xp.ones(ctx.sizes[c], dtype=ctx.dtype))
            grads.append(ctx.run(Einsum, *args, equation=",".join(subs) + "->" + target))
        return tuple(grads)


def _parse_einsum(equation, shapes):
    """(input subscripts, output subscripts) with the ellipsis spelled out as letters."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: the equation has {len(ins)} operands but {len(shapes)} were "
                         "given")
    letters = [c for c in eq if c.isalpha()]
    free = [c for c in string.ascii_letters if c not in letters]
    n_ell = max([len(s) - (len(sub) - 3) for sub, s in zip(ins, shapes) if "..." in sub],
                default=0)
    ell = "".join(free[:n_ell])
    spelled = []
    for sub, shape in zip(ins, shapes):
        if "..." in sub:
            k = len(shape) - (len(sub) - 3)
            sub = sub.replace("...", ell[n_ell - k:])
        if len(sub) != len(shape) or not sub.isalpha() and sub:
            raise ShapeError(f"einsum: subscripts {sub!r} do not fit an operand of shape "
                             f"{shape}")
        spelled.append(sub)
    if arrow:
        out = out.replace("...", ell)
    else:  # implicit output: the ellipsis, then the letters seen once, sorted
        once = sorted(c for c in set(letters) if letters.count(c) == 1)
        out = ell + "".join(once)
    return spelled, out


def einsum(equation, *operands):
    """Einstein summation, as ``torch.einsum``: ``einsum("bij,bjk->bik", a, b)`` is a
    batched matrix product; ``...`` stands for broadcast dimensions, a letter repeated in one
    operand takes its diagonal, letters missing from the output are summed. Operands may
    also come as one list."""
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    ops = [as_tensor(t, op="einsum") for t in operands]
    ins, out = _parse_einsum(equation, [t.shape for t in ops])
    sizes = {}
    for k, (sub, t) in enumerate(zip(ins, ops)):
        for c, s in zip(sub, t.shape):
            old = sizes.get(c)
            if old is None or old == 1:
                sizes[c] = s
            elif s not in (1, old):
                raise ShapeError(f"einsum: subscript {c!r} has size {s} in operand {k} but "
                                 f"{old} in an earlier one")
    ops = [expand(t, *[sizes[c] for c in sub]) if any(sizes[c] != s for c, s in
                                                     zip(sub, t.shape)) else t
           for sub, t in zip(ins, ops)]
    dtype = xp_of(ops[0]).result_type(*[t._data for t in ops])
    ops = [t.to(dtype) for t in ops]
    return Einsum.apply(*ops, equation=",".join(ins) + "->" + out)


# --- cross, cdist ------------------------------------------------------------------------

@tensor_method()
def cross(input, other, dim=None):  # noqa: A002 - PyTorch's name
    """Cross product of 3-vectors along ``dim`` (default: the first dimension of size 3);
    the operands broadcast."""
    a, b = broadcast_tensors(*binary_operands(input, other, "cross"))
    if dim is None:
        dims = [i for i, s in enumerate(a.shape) if s == 3]
        if not dims:
            raise ShapeError(f"cross: no dimension of size 3 in shape {a.shape}")
        d = dims[0]
    else:
        d = normalize_dim(dim, a.ndim, "cross")
    if a.shape[d] != 3:
        raise ShapeError(f"cross: dimension {d} has size {a.shape[d]}, expected 3")
    pre = (slice(None),) * d
    a0, a1, a2 = (a[pre + (i,)] for i in range(3))
    b0, b1, b2 = (b[pre + (i,)] for i in range(3))
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


_MM_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
             "donot_use_mm_for_euclid_dist")


def _use_mm(mode, rows1, rows2) -> bool:
    """PyTorch's rule for p=2: a matrix product when either side has more than 25 rows."""
    mode = mode or _MM_MODES[0]
    if mode not in _MM_MODES:
        raise ValueError(f"cdist: compute_mode must be one of {_MM_MODES} or None, got {mode!r}")
    return mode == _MM_MODES[1] or (mode == _MM_MODES[0] and max(rows1, rows2) > 25)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """Pairwise p-norm distances between the rows of ``x1`` (..., P, M) and ``x2``
    (..., R, M): (..., P, R). ``p`` >= 0 (``inf`` included); the gradient at zero distance is
    0, as in PyTorch. For p=2 ``compute_mode`` chooses, as in PyTorch, between the exact
    differences (memory P·R·M) and a matrix product (memory P·R; used by default when P or R
    exceeds 25)."""
    a, b = binary_operands(x1, x2, "cdist")
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"cdist: expected (..., P, M) and (..., R, M), got {a.shape} and "
                         f"{b.shape}")
    if p < 0:
        raise ValueError(f"cdist: p must be non-negative, got {p}")
    if p == 2 and _use_mm(compute_mode, a.shape[-2], b.shape[-2]):
        # |x - y|² = |x|² + |y|² - 2 x·y: a matrix product instead of a (P, R, M) difference
        s = (a * a).sum(-1, keepdim=True) + (b * b).sum(-1).unsqueeze(-2) - 2 * (a @ b.mT)
        s = arithmetic.clamp(s, min=0.0)
    else:
        diff = a.unsqueeze(-2) - b.unsqueeze(-3)  # (..., P, R, M)
        if p == 0:
            return (diff != 0).to(a.dtype).sum(-1)
        if p == float("inf"):
            return diff.abs().amax(-1) if diff.shape[-1] else diff.sum(-1)
        if p == 1:
            return diff.abs().sum(-1)
        s = (diff * diff).sum(-1) if p == 2 else (diff.abs() ** p).sum(-1)
    zero = s == 0
    safe = arithmetic.where(zero, 1.0, s)  # no 0 ** (1/p - 1) in the gradient
    return arithmetic.where(zero, 0.0, safe.sqrt() if p == 2 else safe ** (1.0 / p))
