"""RMSprop: Adagrad with a leaky (exponentially decaying) sum of squared gradients."""

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
    _lerp_,
    _new_step,
    _zeros_like,
)


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Lecture 6e of his Coursera class), PyTorch's update exactly.

    With gradient :math:`g_t` (negated when ``maximize``), weight decay :math:`\lambda`,
    smoothing constant :math:`\alpha`, momentum :math:`\mu` and learning rate :math:`\gamma`:

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        v_t &= \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
        \tilde v_t &= \begin{cases} v_t - \bar g_t^2, \quad
            \bar g_t = \alpha \bar g_{t-1} + (1 - \alpha) g_t & \text{centered} \\
            v_t & \text{otherwise} \end{cases} \\
        d_t &= \sqrt{\tilde v_t} + \epsilon \\
        b_t &= \mu b_{t-1} + g_t / d_t, \quad \theta_t = \theta_{t-1} - \gamma b_t
            \qquad (\mu > 0) \\
        \theta_t &= \theta_{t-1} - \gamma g_t / d_t \qquad (\mu = 0)

    All running quantities start at zero; :math:`\epsilon` is added outside the square root.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\gamma` (>= 0).
        alpha: smoothing constant :math:`\alpha` (the lectures' decay_rate, in [0, 1]).
        eps: added to the denominator (>= 0).
        weight_decay: L2 penalty :math:`\lambda` (>= 0).
        momentum: momentum factor :math:`\mu` (>= 0).
        centered: normalise by an estimate of the gradient's variance instead of its second
            moment.
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0),
    ``grad_avg`` (centered).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False):
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        _check("RMSprop", "lr", group["lr"], ">= 0", "learning rate")
        _check("RMSprop", "alpha", group["alpha"], "[0, 1]", "alpha value")
        _check("RMSprop", "eps", group["eps"], ">= 0", "epsilon value")
        _check("RMSprop", "weight_decay", group["weight_decay"], ">= 0", "weight_decay value")
        _check("RMSprop", "momentum", group["momentum"], ">= 0", "momentum value")
        _check_flag("RMSprop", "centered", group["centered"])
        _check_flag("RMSprop", "maximize", group["maximize"])

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        alpha = float(group["alpha"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        momentum = float(group["momentum"])
        centered = bool(group["centered"])
        for p in group["params"]:
            if p.grad is None:
                continue
            xp = array_module(p)  # the parameter's device
            state = self.state[p]
            if not state:
                state["step"] = _new_step()
                state["square_avg"] = _zeros_like(p)
            # Created on first use, so that momentum or centering switched on later works.
            if momentum > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = _zeros_like(p)
            if centered and "grad_avg" not in state:
                state["grad_avg"] = _zeros_like(p)
            _increment(state["step"])
            g = _grad(p, group["maximize"])
            g = _decayed_grad(p, g, lr, weight_decay)
            square_avg = state["square_avg"]._data
            _ema_sq_(square_avg, g, alpha)
            if centered:
                grad_avg = state["grad_avg"]._data
                _lerp_(grad_avg, g, 1 - alpha)
                avg = xp.sqrt(square_avg - grad_avg * grad_avg)
            else:
                avg = xp.sqrt(square_avg)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]._data
                buf *= momentum
                buf += g / avg
                p._data -= lr * buf
            else:
                p._data -= lr * g / avg
            _bump(p)
