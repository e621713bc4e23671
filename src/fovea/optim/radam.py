"""RAdam: Adam whose adaptive step is switched on once its variance is tractable."""

from __future__ import annotations

import math
from typing import Any

from fovea.backends import array_module
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


class RAdam(Optimizer):
    r"""Rectified Adam (Liu et al., 2020), PyTorch's update exactly.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
        \hat m_t = m_t / (1 - \beta_1^t) \\
        \rho_\infty &= \frac{2}{1 - \beta_2} - 1, \quad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t} \\
        \theta_t &= \theta_{t-1} - \gamma \hat m_t \, r_t
            \frac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon}
            \quad \text{if } \rho_t > 5, \text{ with }
            r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}
                             {(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}} \\
        \theta_t &= \theta_{t-1} - \gamma \hat m_t \quad \text{otherwise (SGD with momentum)}

    Weight decay adds :math:`\lambda\theta_{t-1}` to :math:`g_t`, or with
    ``decoupled_weight_decay`` shrinks the weights by :math:`(1 - \gamma\lambda)` first.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\gamma` (>= 0).
        betas: decay rates :math:`(\beta_1, \beta_2)`, each in [0, 1).
        eps: added to the denominator (>= 0).
        weight_decay: weight decay :math:`\lambda` (>= 0).
        decoupled_weight_decay: decay the weights directly (as AdamW).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        name = self._name
        _check_adam_hyperparameters(name, group)
        _check_flag(name, "decoupled_weight_decay", group["decoupled_weight_decay"])
        _check_flag(name, "maximize", group["maximize"])

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        weight_decay = float(group["weight_decay"])
        rho_inf = 2 / (1 - beta2) - 1
        for p in group["params"]:
            if p.grad is None:
                continue
            xp = array_module(p)
            state = self.state[p]
            if not state:
                state["step"] = _new_step()
                state["exp_avg"] = _zeros_like(p)
                state["exp_avg_sq"] = _zeros_like(p)
            step = _increment(state["step"])
            g = _grad(p, group["maximize"])
            g = _decayed_grad(p, g, lr, weight_decay, group["decoupled_weight_decay"])
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            _lerp_(exp_avg, g, 1 - beta1)
            _ema_sq_(exp_avg_sq, g, beta2)
            bias_correction2 = 1 - beta2 ** step
            corrected = exp_avg / (1 - beta1 ** step)
            rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                 / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                adaptive = math.sqrt(bias_correction2) / (xp.sqrt(exp_avg_sq) + eps)
                p._data -= corrected * lr * adaptive * rect
            else:
                p._data -= corrected * lr
            _bump(p)
