"""Adam: momentum on the gradient plus RMSprop's scaling, with bias correction."""

from __future__ import annotations

import math
from typing import Any

from fovea.backends import array_module, for_array
from fovea.optim.optimizer import (
    Optimizer,
    _bump,
    _check_adam_hyperparameters,
    _check_flag,
    _decayed_grad,
    _ema_sq_,
    _grad,
    _increment,
    _lerp_,
    _new_step,
    _zeros_like,
)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), PyTorch's update exactly.

    With gradient :math:`g_t` (negated when ``maximize``), weight decay :math:`\lambda`,
    betas :math:`(\beta_1, \beta_2)` and learning rate :math:`\gamma`:

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1}
            \quad \text{(or } \theta_{t-1} \leftarrow (1 - \gamma\lambda)\,\theta_{t-1}
            \text{ when the decay is decoupled, see AdamW)} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \text{ if amsgrad, else } v_t \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \,
            \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    :math:`m_0 = v_0 = 0`; the bias corrections :math:`1 - \beta^t` undo their pull towards
    zero in the first steps. :math:`\epsilon` is added after the square root and after the
    second moment's bias correction, as in PyTorch.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\gamma` (>= 0).
        betas: decay rates :math:`(\beta_1, \beta_2)` of the moment estimates, each in [0, 1).
        eps: added to the denominator (>= 0).
        weight_decay: L2 penalty :math:`\lambda` (>= 0).
        amsgrad: use the running maximum of the second moment (AMSGrad).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: shrink the weights directly instead of adding the penalty's
            gradient (what :class:`AdamW` does).

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq`` (amsgrad).
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        name = self._name
        _check_adam_hyperparameters(name, group)
        _check_flag(name, "amsgrad", group["amsgrad"])
        _check_flag(name, "maximize", group["maximize"])
        _check_flag(name, "decoupled_weight_decay", group["decoupled_weight_decay"])

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        amsgrad = bool(group["amsgrad"])
        decoupled = bool(group["decoupled_weight_decay"])
        for p in group["params"]:
            if p.grad is None:
                continue
            xp = array_module(p)  # the parameter's device
            state = self.state[p]
            if not state:
                state["step"] = _new_step()
                state["exp_avg"] = _zeros_like(p)
                state["exp_avg_sq"] = _zeros_like(p)
            if amsgrad and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = _zeros_like(p)
            step = _increment(state["step"])
            g = _grad(p, group["maximize"])
            g = _decayed_grad(p, g, lr, weight_decay, decoupled)
            exp_avg = state["exp_avg"]._data
            exp_avg_sq = state["exp_avg_sq"]._data
            fused = None if amsgrad else _fused_optim(p._data)
            if fused is not None:  # a device whose kernels fuse the whole step (the GPU)
                fused.adam_step_(p._data, g, exp_avg, exp_avg_sq, lr / (1 - beta1 ** step),
                                 beta1, beta2, eps, math.sqrt(1 - beta2 ** step))
                _bump(p)
                continue
            _lerp_(exp_avg, g, 1 - beta1)
            _ema_sq_(exp_avg_sq, g, beta2)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = math.sqrt(bias_correction2)
            if amsgrad:
                max_sq = state["max_exp_avg_sq"]._data
                xp.maximum(max_sq, exp_avg_sq, out=max_sq)
                denom = xp.sqrt(max_sq)
            else:
                denom = xp.sqrt(exp_avg_sq)
            denom /= bias_correction2_sqrt
            denom += eps
            p._data -= step_size * exp_avg / denom
            _bump(p)


def _fused_optim(a):
    """The ``optim`` kernel family of ``a``'s device, if its kernel package has one (only
    :mod:`fovea.backends.cuda` does: Adam's step as one fused kernel)."""
    return vars(for_array(a).kernels).get("optim")


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's update exactly.

    The weights shrink directly, :math:`\theta_{t-1} \leftarrow (1 - \gamma\lambda)\,
    \theta_{t-1}`, before the Adam step (which then sees the plain gradient); the decay is not
    rescaled by Adam's per-coordinate step sizes, unlike L2 regularisation in :class:`Adam`:

    .. math::

        \theta_{t-1} &\leftarrow (1 - \gamma\lambda)\,\theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \,
            \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\gamma` (>= 0).
        betas: decay rates of the moment estimates, each in [0, 1).
        eps: added to the denominator (>= 0).
        weight_decay: decoupled decay :math:`\lambda` (>= 0, default 1e-2).
        amsgrad: use the running maximum of the second moment (AMSGrad).
        maximize: ascend the objective instead of descending it.

    State per parameter: as :class:`Adam`.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
