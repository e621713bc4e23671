"""Adadelta: step sizes from the ratio of running RMS of updates and of gradients."""

from __future__ import annotations

from typing import Any

from fovea.backends import array_module
from fovea.optim.optimizer import (
    Optimizer,
    _bump,
    _check,
    _check_flag,
    _decayed_grad,
    _ema_sq_,
    _grad,
    _increment,
    _new_step,
    _zeros_like,
)


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), PyTorch's update exactly.

    With gradient :math:`g_t` (negated when ``maximize``), weight decay :math:`\lambda`,
    decay :math:`\rho` and learning rate :math:`\gamma`:

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        v_t &= \rho v_{t-1} + (1 - \rho) g_t^2 \\
        \Delta x_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}} \, g_t \\
        u_t &= \rho u_{t-1} + (1 - \rho) \Delta x_t^2 \\
        \theta_t &= \theta_{t-1} - \gamma \Delta x_t

    with :math:`v_0 = u_0 = 0`: the step is in the parameter's own units, so ``lr=1`` works.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: scales the update :math:`\gamma` (>= 0, default 1.0).
        rho: decay of the running averages, in [0, 1].
        eps: added inside both square roots (>= 0).
        weight_decay: L2 penalty :math:`\lambda` (>= 0).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``square_avg`` (:math:`v`), ``acc_delta`` (:math:`u`).
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        name = self._name
        _check(name, "lr", group["lr"], ">= 0", "learning rate")
        _check(name, "rho", group["rho"], "[0, 1]", "rho value")
        _check(name, "eps", group["eps"], ">= 0", "epsilon value")
        _check(name, "weight_decay", group["weight_decay"], ">= 0", "weight_decay value")
        _check_flag(name, "maximize", group["maximize"])

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, rho = float(group["lr"]), float(group["rho"])
        eps, weight_decay = float(group["eps"]), float(group["weight_decay"])
        for p in group["params"]:
            if p.grad is None:
                continue
            xp = array_module(p)
            state = self.state[p]
            if not state:
                state["step"] = _new_step()
                state["square_avg"] = _zeros_like(p)
                state["acc_delta"] = _zeros_like(p)
            _increment(state["step"])
            g = _grad(p, group["maximize"])
            g = _decayed_grad(p, g, lr, weight_decay)
            square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
            _ema_sq_(square_avg, g, rho)
            delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * g
            acc_delta *= rho
            acc_delta += (1 - rho) * delta * delta
            p._data -= lr * delta
            _bump(p)
