"""Classification losses: ``nll_loss`` and ``cross_entropy`` (PyTorch semantics)."""

from __future__ import annotations

from fovea import backends, dtypes
from fovea.autograd import Function
from fovea.nn.functional.activation import log_softmax
from fovea.nn.functional.loss.reduction import check_reduction
from fovea.ops._util import as_tensor, require_float, xp_of
from fovea.ops.index import TakeAlongAxis, take_along_axis


def _class_targets(input, target, op):
    """Validate class-index targets: input (N, C, d1, ...) and target (N, d1, ...), on one
    device (the targets index the input's arrays)."""
    backends.for_arrays(input._data, target._data, op=op)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold class indices (an integer tensor), got dtype "
                        f"{target.dtype}")
    expected = input.shape[:1] + input.shape[2:] if input.ndim >= 2 else ()
    if target.shape != expected:
        raise ValueError(f"{op}: input of shape {input.shape} needs a target of shape {expected}, "
                         f"got {target.shape}")


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood: loss_i = -w[y_i] · input[i, y_i].

    Args:
        input: log-probabilities, (N, C) or (N, C, d1, ...), or (C,) for one example.
        target: class indices, (N,) or (N, d1, ...), values in [0, C) or ``ignore_index``.
        weight: optional per-class weights, (C,).
        ignore_index: target value that contributes neither loss nor gradient.
        reduction: 'mean' (divided by the sum of the weights of non-ignored targets), 'sum'
            or 'none' (shape of target).
    """
    input, target = as_tensor(input, op="nll_loss"), as_tensor(target, op="nll_loss")
    check_reduction(reduction, "nll_loss")
    require_float(input, "nll_loss")
    squeeze_batch = input.ndim == 1
    if squeeze_batch:
        input, target = input.unsqueeze(0), target.reshape(1)
    if input.ndim < 2:
        raise ValueError(f"nll_loss: expected input of shape (N, C) or (N, C, d1, ...), got "
                         f"{input.shape}")
    _class_targets(input, target, "nll_loss")
    xp = xp_of(input)
    C = input.shape[1]
    t = target._data
    ignored = t == ignore_index
    safe = xp.where(ignored, 0, t)
    if safe.size and (safe.min() < 0 or safe.max() >= C):
        bad = safe[(safe < 0) | (safe >= C)][0]
        raise IndexError(f"nll_loss: target {bad} is out of bounds for {C} classes")
    picked = take_along_axis(input, xp.expand_dims(safe, 1), 1).squeeze(1)
    w = xp.ones(C, dtype=input.dtype) if weight is None else as_tensor(weight)._data
    if w.shape != (C,):
        raise ValueError(f"nll_loss: weight must have shape ({C},), got {w.shape}")
    w_i = xp.where(ignored, 0, w[safe]).astype(input.dtype)
    losses = -picked * w_i
    if reduction == "none":
        return losses.squeeze(0) if squeeze_batch else losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / w_i.sum()


class CrossEntropy(Function):
    """Softmax cross-entropy against class indices, fused into one node.

    With s = x - max(x) (over the class axis 1), lse = log Σ e^s and w_i the weight of
    example i's class (0 where ignored)::

        loss_i = w_i (lse_i - s_i[y_i]),    dloss_i/dx_i = w_i (softmax(x_i) - onehot(y_i))

    reduced by 'none', 'sum' or 'mean' (divided by Σ w_i). Its composed twin is
    ``nll_loss(log_softmax(x), y)``. Backward is one :class:`SoftmaxMinusOnehot` node: a
    plain backward reuses max + lse from forward; a recorded one (``create_graph``)
    recomputes lse from x, so second derivatives are exact.
    """

    @staticmethod
    def forward(ctx, x, *, index, wb, reduction, denom):
        xp = ctx.xp
        m = x.max(axis=1, keepdims=True)
        shifted = x - m
        lse = xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        losses = (lse - _pick(xp, shifted, index)) * wb  # (N, 1, *)
        ctx.index, ctx.reduction, ctx.m, ctx.shift = index, reduction, m, m + lse
        ctx.save_for_backward(x)
        if reduction == "none":
            ctx.wb = wb
            return losses[:, 0]
        total = losses.sum(dtype=x.dtype)
        if reduction == "sum":
            ctx.wb = wb
            return xp.asarray(total, dtype=x.dtype)
        with xp.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan
            ctx.wb = wb / denom  # d mean / d loss_i
            return xp.asarray(total / denom, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = ctx.xp
        coef = xp.expand_dims(g, 1) * ctx.wb if ctx.reduction == "none" else g * ctx.wb
        shift = ctx.shift if not ctx.recording else _log_sum_exp(xp, x, ctx.m)
        return ctx.run(SoftmaxMinusOnehot, x, shift, coef, index=ctx.index)


def _log_sum_exp(xp, x, m):
    """log Σ_c e^{x_c} over axis 1, as m + log Σ e^{x - m} for the (constant) row max m."""
    return m + xp.log(xp.sum(xp.exp(x - m), axis=1, keepdims=True))


class SoftmaxMinusOnehot(Function):
    """CrossEntropy's input gradient: c ⊙ (softmax(x) - onehot(y)) with softmax(x) = e^{x - lse}.

    Inputs x (N, C, *), lse (N, 1, *) and c (N, 1, *); ``index`` (N, 1, *) holds y. Forward
    writes e^{x - lse} · c into a new array and subtracts c at the targets in place (one pass
    over x). Backward, for an upstream h (N, C, *), p = e^{x - lse}::

        dx = c h p,    dlse = -Σ_C c h p,    dc = Σ_C h p - h[y]
    """

    @staticmethod
    def forward(ctx, x, lse, c, *, index):
        xp = ctx.xp
        out = xp.exp(x - lse)
        out *= c
        if out.ndim == 2:  # direct indexing: cheaper than put_along_axis
            rows = xp.arange(out.shape[0])
            out[rows, index[:, 0]] -= c[:, 0]
        else:
            at = xp.take_along_axis(out, index, axis=1)
            xp.put_along_axis(out, index, at - c, axis=1)
        ctx.index = index
        ctx.save_for_backward(x, lse, c)
        return out

    @staticmethod
    def backward(ctx, h):
        x, lse, c = ctx.saved_tensors
        xp = ctx.xp
        hp = h * xp.exp(x - lse)
        need = ctx.needs_input_grad
        hpc = hp * c if need[0] or need[1] else None
        gx = hpc if need[0] else None
        glse = -xp.sum(hpc, axis=1, keepdims=True) if need[1] else None
        gc = None
        if need[2]:
            gc = xp.sum(hp, axis=1, keepdims=True) - ctx.run(TakeAlongAxis, h, indices=ctx.index,
                                                             axis=1)
        return gx, glse, gc


def _pick(xp, a, index):
    """``take_along_axis(a, index, axis=1)`` for (N, C, *) ``a`` and (N, 1, *) ``index``."""
    if a.ndim == 2:
        return a[xp.arange(a.shape[0]), index[:, 0]][:, None]
    return xp.take_along_axis(a, index, axis=1)


def _fused_cross_entropy(input, target, w, ignore_index, reduction):
    """cross_entropy for class-index targets (no smoothing) as one :class:`CrossEntropy` node."""
    xp = xp_of(input)
    squeeze_batch = input.ndim == 1
    if squeeze_batch:
        input, target = input.unsqueeze(0), target.reshape(1)
    _class_targets(input, target, "cross_entropy")
    C = input.shape[1]
    t = target._data
    ignored = t == ignore_index
    has_ignored = bool(ignored.any())
    safe = xp.where(ignored, 0, t) if has_ignored else t
    # One reduction checks 0 <= y < C: seen as unsigned, a negative index is huge.
    unsigned = safe.view(f"u{safe.dtype.itemsize}") if safe.dtype.kind == "i" else safe
    if safe.size and unsigned.max() >= C:
        bad = safe[(safe < 0) | (safe >= C)][0]
        raise IndexError(f"cross_entropy: target {bad} is out of bounds for {C} classes")
    dtype = input.dtype
    if w is None:
        wb = (~ignored).astype(dtype) if has_ignored else xp.ones(t.shape, dtype=dtype)
    else:
        wd = w._data
        if wd.shape != (C,):
            raise ValueError(f"cross_entropy: weight must have shape ({C},), got {wd.shape}")
        wb = xp.where(ignored, 0, wd[safe]).astype(dtype)
    denom = wb.sum(dtype=dtype)
    out = CrossEntropy.apply(input, index=safe[:, None], wb=wb[:, None], reduction=reduction,
                             denom=denom)
    return out.squeeze(0) if squeeze_batch and reduction == "none" else out


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of logits against class indices or class probabilities.

    loss_i = -log softmax(x_i)[y_i], computed through a stable log-softmax (logits of ±1000
    are fine). With ``label_smoothing`` ε the target mixes (1 - ε) one-hot with ε uniform.

    Args:
        input: logits, (N, C), (N, C, d1, ...) or (C,).
        target: class indices (N,) / (N, d1, ...), or probabilities of ``input``'s shape.
        weight, ignore_index, reduction: as in :func:`nll_loss`.
        label_smoothing: ε in [0, 1].
    """
    input, target = as_tensor(input, op="cross_entropy"), as_tensor(target, op="cross_entropy")
    check_reduction(reduction, "cross_entropy")
    require_float(input, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    w = None if weight is None else as_tensor(weight, op="cross_entropy")
    if not dtypes.is_floating(target.dtype) and label_smoothing == 0.0:
        return _fused_cross_entropy(input, target, w, ignore_index, reduction)
    logp = log_softmax(input, dim=class_dim)
    C = input.shape[class_dim]
    if dtypes.is_floating(target.dtype):
        return _soft_target_loss(logp, target, w, reduction, label_smoothing, class_dim)
    nll = nll_loss(logp, target, w, ignore_index, reduction)
    if label_smoothing == 0.0:
        return nll
    wshape = [1] * logp.ndim
    wshape[class_dim] = C
    weighted = logp if w is None else logp * w.reshape(*wshape)
    smooth = -weighted.sum(class_dim)
    ignored = (target == ignore_index)
    smooth = smooth.masked_fill(ignored, 0.0)
    if reduction == "sum":
        smooth = smooth.sum()
    elif reduction == "mean":
        if w is None:
            smooth = smooth.sum() / max(int((~ignored).sum().item()), 0)
        else:
            t = target._data[~ignored._data]
            smooth = smooth.sum() / w._data[t].sum()
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / C)


def _soft_target_loss(logp, target, w, reduction, eps, class_dim):
    if target.shape != logp.shape:
        raise ValueError(f"cross_entropy: probability targets must have the input's shape "
                         f"{logp.shape}, got {target.shape}")
    C = logp.shape[class_dim]
    if eps:
        target = target * (1 - eps) + eps / C
    if w is not None:
        wshape = [1] * logp.ndim
        wshape[class_dim] = C
        logp = logp * w.reshape(*wshape)
    losses = -(logp * target).sum(class_dim)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / max(1, logp.numel() // C)
