"""Stochastic gradient descent, with optional (Nesterov) momentum and weight decay."""

from __future__ import annotations

from typing import Any

from fovea.optim.optimizer import Optimizer, _bump, _check, _check_flag, _grad
from fovea.tensor import Tensor


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), PyTorch's update exactly.

    With gradient :math:`g_t = \nabla f(\theta_{t-1})` (negated when ``maximize``), weight decay
    :math:`\lambda`, momentum :math:`\mu`, dampening :math:`\tau` and learning rate
    :math:`\gamma`, each step computes

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
        b_t &= \begin{cases} g_t & t = 1 \\ \mu b_{t-1} + (1 - \tau) g_t & t > 1 \end{cases} \\
        g_t &\leftarrow \begin{cases} g_t + \mu b_t & \text{nesterov} \\ b_t & \text{otherwise}
              \end{cases} \quad (\text{if } \mu \ne 0) \\
        \theta_t &= \theta_{t-1} - \gamma g_t

    The first momentum buffer is the gradient itself (no dampening), as in PyTorch; the
    velocity form of the lectures (``v = mu * v - lr * g``) gives the same trajectory when
    ``lr`` is constant.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\gamma` (>= 0).
        momentum: momentum factor :math:`\mu` (>= 0).
        dampening: dampening :math:`\tau` of the momentum (>= 0).
        weight_decay: L2 penalty :math:`\lambda` added to the gradient (>= 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``momentum_buffer`` (only when momentum != 0).
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        _check("SGD", "lr", group["lr"], ">= 0", "learning rate")
        _check("SGD", "momentum", group["momentum"], ">= 0", "momentum value")
        _check("SGD", "dampening", group["dampening"], ">= 0", "dampening value")
        _check("SGD", "weight_decay", group["weight_decay"], ">= 0", "weight_decay value")
        _check_flag("SGD", "nesterov", group["nesterov"])
        _check_flag("SGD", "maximize", group["maximize"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: Nesterov momentum requires a momentum > 0 and zero dampening, got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}; set "
                "nesterov=False or choose momentum > 0 with dampening=0"
            )

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        dampening = float(group["dampening"])
        weight_decay = float(group["weight_decay"])
        nesterov = bool(group["nesterov"])
        for p in group["params"]:
            if p.grad is None:
                continue
            g = _grad(p, group["maximize"])
            if weight_decay != 0:
                g = g + weight_decay * p._data
            if momentum != 0:
                state = self.state[p]
                buf_t = state.get("momentum_buffer")
                if buf_t is None:
                    buf = g.copy()
                    state["momentum_buffer"] = Tensor._make(buf, None)
                else:
                    buf = buf_t._data
                    buf *= momentum
                    buf += g if dampening == 0 else (1 - dampening) * g
                g = g + momentum * buf if nesterov else buf
            p._data -= lr * g
            _bump(p)
