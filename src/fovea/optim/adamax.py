"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Any

from fovea.backends import array_module
from fovea.optim.optimizer import (
    Optimizer,
    _bump,
    _check_adam_hyperparameters,
    _check_flag,
    _decayed_grad,
    _grad,
    _increment,
    _lerp_,
    _new_step,
    _zeros_like,
)


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7.1), PyTorch's update exactly.

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        u_t &= \max(\beta_2 u_{t-1}, |g_t| + \epsilon) \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \frac{m_t}{u_t}

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\gamma` (>= 0, default 2e-3).
        betas: decay rates of the first moment and of the infinity norm, each in [0, 1).
        eps: added to :math:`|g_t|` (>= 0).
        weight_decay: L2 penalty :math:`\lambda` (>= 0).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_inf`` (:math:`u`).
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, *, maximize: bool = False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        name = self._name
        _check_adam_hyperparameters(name, group)
        _check_flag(name, "maximize", group["maximize"])

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        weight_decay = float(group["weight_decay"])
        for p in group["params"]:
            if p.grad is None:
                continue
            xp = array_module(p)
            state = self.state[p]
            if not state:
                state["step"] = _new_step()
                state["exp_avg"] = _zeros_like(p)
                state["exp_inf"] = _zeros_like(p)
            step = _increment(state["step"])
            g = _grad(p, group["maximize"])
            g = _decayed_grad(p, g, lr, weight_decay)
            exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
            _lerp_(exp_avg, g, 1 - beta1)
            exp_inf *= beta2
            xp.maximum(exp_inf, xp.abs(g) + eps, out=exp_inf)
            p._data -= lr / (1 - beta1 ** step) * exp_avg / exp_inf
            _bump(p)
