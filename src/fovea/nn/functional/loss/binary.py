"""Binary cross-entropy on probabilities and (stably) on logits."""

from __future__ import annotations

import math

from fovea.autograd import Function
from fovea.nn.functional.activation import Softplus
from fovea.nn.functional.loss.reduction import pair, reduce_loss
from fovea.ops._util import as_tensor, xp_of
from fovea.ops.arithmetic import Sigmoid
from fovea.tensor import Tensor

_LOG_FLOOR = -100.0  # PyTorch clamps log(p) and log(1 - p) at -100
_GRAD_EPS = 1e-12  # and divides the gradient by max(p (1 - p), 1e-12)
_TINY = 3.720075976020836e-44  # e^-100: log(max(p, e^-100)) = max(log p, -100) in float64


def _clamped_logs(xp, p):
    """(log p, log(1 - p)) clamped below at -100, as log(max(·, e^-100)): differentiable
    (zero slope where clamped), for a recorded backward."""
    return xp.log(xp.maximum(p, _TINY)), xp.log(xp.maximum(1 - p, _TINY))


class BinaryCrossEntropy(Function):
    """ℓ = -(t log p + (1 - t) log(1 - p)), both logs clamped at -100.

    Backward: dp = (p - t) / max(p (1 - p), 1e-12), dt = log(1 - p) - log p (PyTorch's),
    with the clamped logs of forward (recomputed from p when the backward is recorded).
    """

    @staticmethod
    def forward(ctx, p, t):
        xp = ctx.xp
        with xp.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), _LOG_FLOOR)
            log_q = xp.maximum(xp.log1p(-p), _LOG_FLOOR)
        ctx.logs = (log_p, log_q)
        ctx.save_for_backward(p, t)
        return -(t * log_p + (1 - t) * log_q)

    @staticmethod
    def backward(ctx, g):
        p, t = ctx.saved_tensors
        xp = ctx.xp
        gp = gt = None
        if ctx.needs_input_grad[0]:
            gp = g * (p - t) / xp.maximum(p * (1 - p), _GRAD_EPS)
        if ctx.needs_input_grad[1]:
            log_p, log_q = ctx.logs if not ctx.recording else _clamped_logs(xp, p)
            gt = g * (log_q - log_p)
        return gp, gt


class BinaryCrossEntropyWithLogits(Function):
    """ℓ = (1 - t) x + w_t · softplus(-x), w_t = 1 + (pos_weight - 1) t, computed stably as
    softplus(-x) = log(1 + e^{-|x|}) + max(-x, 0).

    Backward: dx = (1 - t) - w_t σ(-x), dt = -x + (pos_weight - 1) softplus(-x), with σ and
    softplus as nodes (so that a recorded backward has their derivatives, also at x = 0,
    where the stable formulas have the kink of |x|); softplus(-x) is forward's when the
    backward is not recorded.
    """

    @staticmethod
    def forward(ctx, x, t, pos_weight):
        xp = ctx.xp
        sp = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0)
        lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
        ctx.sp, ctx.pos_weight = sp, pos_weight
        ctx.save_for_backward(x, t)
        return (1 - t) * x + lw * sp

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        pw = ctx.pos_weight
        gx = gt = None
        if ctx.needs_input_grad[0]:
            lw = 1 if pw is None else 1 + (pw - 1) * t
            gx = g * ((1 - t) - lw * ctx.run(Sigmoid, -x))
        if ctx.needs_input_grad[1]:
            gt = -x
            if pw is not None:
                sp = ctx.sp if not ctx.recording else ctx.run(Softplus, -x, beta=1.0,
                                                               threshold=math.inf)
                gt = gt + (pw - 1) * sp
            gt = g * gt
        return gx, gt


def _apply_weight(losses, weight, op):
    if weight is None:
        return losses
    weight = as_tensor(weight, op=op)
    try:
        xp_of(losses).broadcast_shapes(weight.shape, losses.shape)
    except ValueError:
        raise ValueError(f"{op}: weight of shape {weight.shape} cannot be broadcast to the "
                         f"input's shape {losses.shape}") from None
    return losses * weight


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities and targets.

    ℓ = -w (t log p + (1 - t) log(1 - p)), each log clamped at -100 as in PyTorch (so p = 0
    or 1 gives a finite loss).

    Args:
        input: probabilities p in [0, 1], any shape (*).
        target: targets t in [0, 1], the input's shape.
        weight: rescaling weights, broadcastable to the input's shape, or None.
        reduction: 'mean', 'sum' or 'none' ((*) elementwise).
    """
    input, target = pair(input, target, reduction, "binary_cross_entropy")
    data = input._data
    if data.size and not ((data >= 0).all() and (data <= 1).all()):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1 "
                         "(pass logits to binary_cross_entropy_with_logits instead)")
    losses = BinaryCrossEntropy.apply(input, target)
    return reduce_loss(_apply_weight(losses, weight, "binary_cross_entropy"), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid followed by binary cross-entropy, in one numerically stable node.

    ℓ = -w [p_w t log σ(x) + (1 - t) log(1 - σ(x))]: logits of ±1000 give finite losses and
    gradients.

    Args:
        input: logits x, any shape (*).
        target: targets t in [0, 1], the input's shape.
        weight: rescaling weights, broadcastable to the input's shape, or None.
        reduction: 'mean', 'sum' or 'none' ((*) elementwise).
        pos_weight: weight p_w of the positive term, broadcastable to the input's shape (e.g.
            (C,) for (N, C) multi-label logits); a constant (it gets no gradient).
    """
    op = "binary_cross_entropy_with_logits"
    input, target = pair(input, target, reduction, op)
    pw = None
    if pos_weight is not None:
        pw_t = as_tensor(pos_weight, op=op)
        try:
            xp_of(input).broadcast_shapes(pw_t.shape, input.shape)
        except ValueError:
            raise ValueError(f"{op}: pos_weight of shape {pw_t.shape} cannot be broadcast to the "
                             f"input's shape {input.shape}") from None
        pw = pw_t._data.astype(input.dtype, copy=False)
    losses = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight=pw)
    return reduce_loss(_apply_weight(losses, weight, op), reduction)
