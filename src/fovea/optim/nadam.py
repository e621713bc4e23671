"""NAdam: Adam with Nesterov momentum and a momentum warm-up schedule."""

from __future__ import annotations

from typing import Any

from fovea import backends
from fovea.backends import array_module
from fovea.optim.optimizer import (
    Optimizer,
    _bump,
    _check,
    _check_adam_hyperparameters,
    _check_flag,
    _decayed_grad,
    _ema_sq_,
    _grad,
    _increment,
    _lerp_,
    _new_step,
    _scalar_dtype,
    _zeros_like,
)
from fovea.tensor import Tensor


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), PyTorch's update exactly.

    The momentum coefficient warms up, :math:`\mu_t = \beta_1 (1 - \tfrac12 \cdot
    0.96^{t\psi})` for momentum decay :math:`\psi`, and the step looks one momentum step ahead:

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1}
            \quad \text{(or } \theta_{t-1} \leftarrow (1 - \gamma\lambda)\theta_{t-1}
            \text{ when decoupled)} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        d_t &= \sqrt{v_t / (1 - \beta_2^t)} + \epsilon \\
        \theta_t &= \theta_{t-1}
            - \gamma \frac{1 - \mu_t}{1 - \prod_{i \le t} \mu_i} \frac{g_t}{d_t}
            - \gamma \frac{\mu_{t+1}}{1 - \prod_{i \le t+1} \mu_i} \frac{m_t}{d_t}

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\gamma` (>= 0, default 2e-3).
        betas: decay rates :math:`(\beta_1, \beta_2)`, each in [0, 1).
        eps: added to the denominator (>= 0).
        weight_decay: weight decay :math:`\lambda` (>= 0).
        momentum_decay: :math:`\psi` (>= 0, default 4e-3).
        decoupled_weight_decay: shrink the weights directly (NAdamW) instead of adding the
            penalty's gradient.
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``mu_product`` (:math:`\prod \mu_i`, a 0-d tensor),
    ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        name = self._name
        _check_adam_hyperparameters(name, group)
        _check(name, "momentum_decay", group["momentum_decay"], ">= 0", "momentum_decay")
        _check_flag(name, "decoupled_weight_decay", group["decoupled_weight_decay"])
        _check_flag(name, "maximize", group["maximize"])

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        weight_decay, psi = float(group["weight_decay"]), float(group["momentum_decay"])
        for p in group["params"]:
            if p.grad is None:
                continue
            xp = array_module(p)
            state = self.state[p]
            if not state:
                state["step"] = _new_step()
                state["mu_product"] = _ones_scalar()
                state["exp_avg"] = _zeros_like(p)
                state["exp_avg_sq"] = _zeros_like(p)
            step = _increment(state["step"])
            g = _grad(p, group["maximize"])
            g = _decayed_grad(p, g, lr, weight_decay, group["decoupled_weight_decay"])
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
            mu_product = state["mu_product"]._data
            mu_product *= mu  # in the counter's dtype, as PyTorch rounds it
            mu_prod = float(mu_product)
            exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
            _lerp_(exp_avg, g, 1 - beta1)
            _ema_sq_(exp_avg_sq, g, beta2)
            denom = xp.sqrt(exp_avg_sq / (1 - beta2 ** step)) + eps
            p._data -= lr * (1.0 - mu) / (1.0 - mu_prod) * g / denom
            p._data -= lr * mu_next / (1.0 - mu_prod * mu_next) * exp_avg / denom
            _bump(p)

    def _load_value(self, name: str, p: Tensor, key: str, value):
        if key == "mu_product":  # a scalar like ``step``: not cast to the parameter's dtype
            return super()._load_value(name, p, "step", value)
        return super()._load_value(name, p, key, value)


def _ones_scalar() -> Tensor:
    return Tensor._make(backends.default().xp.ones((), dtype=_scalar_dtype()), None)
