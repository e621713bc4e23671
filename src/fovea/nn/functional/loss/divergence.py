"""The Kullback-Leibler divergence, ``kl_div`` (PyTorch's argument order and reductions)."""

from __future__ import annotations

from fovea.nn.functional.loss.reduction import pair
from fovea.ops.arithmetic import where
from fovea.tensor import Tensor

_REDUCTIONS = ("mean", "batchmean", "sum", "none")


def kl_div(input: Tensor, target: Tensor, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target ‖ exp(input)) pointwise: ℓ = t (log t - x), with 0 where t = 0.

    Args:
        input: log-probabilities x, (N, *) (e.g. from ``log_softmax``).
        target: probabilities t of the input's shape, or log-probabilities with
            ``log_target=True`` (then ℓ = e^t (t - x)).
        reduction: 'batchmean' (sum / N: the mathematical KL divergence per example),
            'sum', 'mean' (over all elements, as PyTorch's default) or 'none' (elementwise).
        log_target: whether ``target`` holds log-probabilities.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"kl_div: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    input, target = pair(input, target, "none", "kl_div")
    if log_target:
        losses = target.exp() * (target - input)
    else:
        pos = target > 0
        safe = where(pos, target, 1.0)
        losses = where(pos, target * safe.log(), 0.0) - target * input
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if reduction == "batchmean":
        return losses.sum() / (input.shape[0] if input.ndim else 1)
    return losses.mean()
