"""Adagrad: per-coordinate step sizes from the running sum of squared gradients."""

from __future__ import annotations

from typing import Any

from fovea.backends import array_module
from fovea.optim.optimizer import (
    Optimizer,
    _bump,
    _check,
    _check_flag,
    _decayed_grad,
    _grad,
    _increment,
    _new_step,
)
from fovea.tensor import Tensor


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), PyTorch's update exactly.

    Coordinates with a history of large gradients take small steps and vice versa. With
    gradient :math:`g_t` (negated when ``maximize``), weight decay :math:`\lambda`, learning
    rate :math:`\gamma` and its decay :math:`\eta`:

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        \tilde\gamma &= \gamma / (1 + (t - 1) \eta) \\
        s_t &= s_{t-1} + g_t^2 \qquad (s_0 = \text{initial\_accumulator\_value}) \\
        \theta_t &= \theta_{t-1} - \tilde\gamma \, \frac{g_t}{\sqrt{s_t} + \epsilon}

    Note that :math:`\epsilon` is added *outside* the square root.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\gamma` (>= 0).
        lr_decay: learning-rate decay :math:`\eta` (>= 0).
        weight_decay: L2 penalty :math:`\lambda` (>= 0).
        initial_accumulator_value: starting value of the sum of squares (>= 0).
        eps: added to the denominator for numerical stability (>= 0).
        maximize: ascend the objective instead of descending it.

    State per parameter (created at construction, as PyTorch): ``step``, ``sum``.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        _check("Adagrad", "lr", group["lr"], ">= 0", "learning rate")
        _check("Adagrad", "lr_decay", group["lr_decay"], ">= 0", "lr_decay value")
        _check("Adagrad", "weight_decay", group["weight_decay"], ">= 0", "weight_decay value")
        _check("Adagrad", "initial_accumulator_value", group["initial_accumulator_value"],
               ">= 0", "initial_accumulator_value")
        _check("Adagrad", "eps", group["eps"], ">= 0", "epsilon value")
        _check_flag("Adagrad", "maximize", group["maximize"])

    def _init_group_state(self, group: dict[str, Any]) -> None:
        for p in group["params"]:
            self._init_state(p, group)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state[p]
        state["step"] = _new_step()
        state["sum"] = Tensor._make(
            array_module(p).full_like(p._data, float(group["initial_accumulator_value"])), None)
        return state

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        lr_decay = float(group["lr_decay"])
        weight_decay = float(group["weight_decay"])
        eps = float(group["eps"])
        for p in group["params"]:
            if p.grad is None:
                continue
            xp = array_module(p)  # the parameter's device
            state = self.state[p]
            if not state:
                state = self._init_state(p, group)
            step = _increment(state["step"])
            g = _grad(p, group["maximize"])
            g = _decayed_grad(p, g, lr, weight_decay)
            clr = lr / (1 + (step - 1) * lr_decay)
            s = state["sum"]._data
            s += g * g
            std = xp.sqrt(s)
            std += eps
            p._data -= clr * (g / std)
            _bump(p)
