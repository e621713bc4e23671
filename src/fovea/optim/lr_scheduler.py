"""Learning-rate schedules: change each parameter group's ``lr`` as training goes on.

Call ``scheduler.step()`` once per epoch (or per iteration for ``OneCycleLR`` and warm-ups),
after ``optimizer.step()``. The schedules follow PyTorch's recursive ("chainable") formulas, so
the learning rates are the same floats as PyTorch's, and two schedulers can act on one
optimizer one after the other::

    opt = fovea.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = fovea.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    for epoch in range(100):
        train_one_epoch(model, opt)
        sched.step()

``ReduceLROnPlateau`` is different: ``step(metric)`` takes the validation loss (or accuracy).
"""

from __future__ import annotations

import copy
import math
import numbers
import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fovea.optim.optimizer import Optimizer

__all__ = [
    "LRScheduler",
    "LambdaLR",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "InverseTimeLR",
    "CosineAnnealingLR",
    "LinearLR",
    "OneCycleLR",
    "SequentialLR",
    "ChainedScheduler",
    "ReduceLROnPlateau",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
]


def _real(owner: str, name: str, value, condition: str | None = None) -> float:
    """Check that ``value`` is a real number (not bool) satisfying ``condition``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {type(value).__name__} "
                        f"({value!r})")
    v = float(value)
    ok = {None: True, ">= 0": v >= 0, "> 0": v > 0, "(0, 1]": 0 < v <= 1,
          "[0, 1]": 0 <= v <= 1, "[0, 1)": 0 <= v < 1}[condition]
    if not ok or math.isnan(v):
        rule = condition if condition in (">= 0", "> 0") else f"in {condition}"
        raise ValueError(f"{owner}: invalid {name} {value!r}: {name} must be {rule}")
    return value


def _int(owner: str, name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {type(value).__name__} "
                        f"({value!r})")
    if value < minimum:
        raise ValueError(f"{owner}: invalid {name} {value!r}: {name} must be >= {minimum}")
    return int(value)


def _check_optimizer(owner: str, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: expected a fovea.optim.Optimizer, got "
                        f"{type(optimizer).__module__}.{type(optimizer).__name__}")


def _per_group(owner: str, name: str, optimizer: Optimizer, value) -> list:
    """One value per parameter group: a list/tuple of that length, or one value repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{owner}: {name} must have one value per parameter group: got "
                             f"{len(value)} values for {n} group(s)")
        return list(value)
    return [value] * n


class LRScheduler:
    """Base class of the schedules.

    Subclasses implement ``get_lr()``, the new learning rate of each group computed when
    ``last_epoch`` has just been incremented (from the groups' current ``lr`` for the chainable
    forms, or from ``base_lrs``). Construction performs the first step (``last_epoch`` 0).

    Args:
        optimizer: the optimizer whose groups' ``lr`` are set.
        last_epoch: the index of the last epoch when resuming (-1 to start; otherwise every
            group must already hold ``'initial_lr'``, as a loaded optimizer state does).

    Attributes:
        base_lrs: each group's ``initial_lr``. last_epoch: number of ``step()`` calls so far.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        owner = type(self).__name__
        _check_optimizer(owner, optimizer)
        _int(owner, "last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{owner}: param_groups[{i}] has no 'initial_lr', needed to "
                                   f"resume at last_epoch={last_epoch}; load the optimizer's "
                                   "state dict first, or start with last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr()")

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group after the last ``step()``."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one epoch (or iteration) and set each group's ``lr``."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:  # jump (SequentialLR restarts a schedule at 0): closed form where there is one
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise ValueError(f"{type(self).__name__}: the optimizer has {len(groups)} parameter "
                             f"group(s) but the schedule was built for {len(values)}")
        for group, lr in zip(groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (copied)."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes saved by :meth:`state_dict`."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict, got "
                            f"{type(state_dict).__name__}")
        self.__dict__.update(copy.deepcopy(state_dict))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


class LambdaLR(LRScheduler):
    r"""``lr = base_lr * lr_lambda(epoch)``.

    Args:
        optimizer: the optimizer.
        lr_lambda: a function of the epoch index, or a list with one per group.
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]
                 | Sequence[Callable[[int], float]], last_epoch: int = -1):
        _check_optimizer("LambdaLR", optimizer)
        self.lr_lambdas = _per_group("LambdaLR", "lr_lambda", optimizer, lr_lambda)
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type(f).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * f(self.last_epoch) for f, base_lr in zip(self.lr_lambdas,
                                                                   self.base_lrs)]

    def state_dict(self) -> dict[str, Any]:
        """As the base class; plain functions are not saved, callable objects' attributes are."""
        out = {k: copy.deepcopy(v) for k, v in self.__dict__.items()
               if k not in ("optimizer", "lr_lambdas")}
        out["lr_lambdas"] = [None if isinstance(f, types.FunctionType) or
                             not hasattr(f, "__dict__") else copy.deepcopy(f.__dict__)
                             for f in self.lr_lambdas]
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        lambdas = state_dict.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        super().load_state_dict(state_dict)
        for f, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                f.__dict__.update(saved)


class StepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs (step decay).

    .. math:: \gamma_t = \gamma_0 \cdot \text{gamma}^{\lfloor t / \text{step\_size} \rfloor}

    Args:
        optimizer: the optimizer.
        step_size: period of the decay (> 0 epochs).
        gamma: multiplicative factor (> 0, default 0.1).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        self.step_size = _int("StepLR", "step_size", step_size, 1)
        self.gamma = _real("StepLR", "gamma", gamma, "> 0")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` at each milestone epoch.

    .. math:: \gamma_t = \gamma_0 \cdot \text{gamma}^{|\{m \in \text{milestones} : m \le t\}|}

    Args:
        optimizer: the optimizer.
        milestones: epoch indices (integers >= 0; a repeated one applies gamma twice).
        gamma: multiplicative factor (> 0, default 0.1).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1):
        milestones = list(milestones)
        for m in milestones:
            _int("MultiStepLR", "milestones entry", m, 0)
        self.milestones = Counter(milestones)
        self.gamma = _real("MultiStepLR", "gamma", gamma, "> 0")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every epoch (exponential decay).

    .. math:: \gamma_t = \gamma_0 \cdot \text{gamma}^t \quad (= \gamma_0 e^{-kt},\ k = -\ln
        \text{gamma})

    Args:
        optimizer: the optimizer.
        gamma: multiplicative factor per epoch (> 0).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = _real("ExponentialLR", "gamma", gamma, "> 0")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class InverseTimeLR(LRScheduler):
    r"""1/t decay (the lectures' third schedule; PyTorch has no twin).

    .. math:: \gamma_t = \frac{\gamma_0}{1 + \text{decay\_rate} \cdot t / \text{decay\_steps}}

    with :math:`t / \text{decay\_steps}` floored when ``staircase`` is set (as TensorFlow's
    ``InverseTimeDecay``). Computed in closed form from ``base_lrs``, so it overrides any other
    scheduler acting on the same optimizer.

    Args:
        optimizer: the optimizer.
        decay_rate: :math:`k` in :math:`\gamma_0 / (1 + k t)` (>= 0).
        decay_steps: number of steps over which ``decay_rate`` applies (> 0, default 1).
        staircase: decay in discrete jumps every ``decay_steps`` steps.
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, decay_rate: float, decay_steps: float = 1,
                 staircase: bool = False, last_epoch: int = -1):
        self.decay_rate = _real("InverseTimeLR", "decay_rate", decay_rate, ">= 0")
        self.decay_steps = _real("InverseTimeLR", "decay_steps", decay_steps, "> 0")
        if not isinstance(staircase, bool):
            raise TypeError(f"InverseTimeLR: staircase must be True or False, got {staircase!r}")
        self.staircase = staircase
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return self._get_closed_form_lr()

    def _get_closed_form_lr(self) -> list[float]:
        t = self.last_epoch / self.decay_steps
        if self.staircase:
            t = math.floor(t)
        return [base_lr / (1 + self.decay_rate * t) for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the learning rate along half a cosine from ``base_lr`` to ``eta_min``.

    .. math:: \gamma_t = \eta_{min} + \tfrac12 (\gamma_0 - \eta_{min})
        \left(1 + \cos\left(\frac{t\pi}{T_{max}}\right)\right)

    computed, as PyTorch does, by the equivalent recursion
    :math:`\gamma_t = \eta_{min} + (\gamma_{t-1} - \eta_{min})
    \frac{1 + \cos(t\pi/T_{max})}{1 + \cos((t-1)\pi/T_{max})}` (so it chains with other
    schedules). Past ``T_max`` the rate rises again (a cosine of period ``2 T_max``).

    Args:
        optimizer: the optimizer.
        T_max: number of epochs of the half period (> 0).
        eta_min: the smallest learning rate (>= 0, default 0).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,  # noqa: N803
                 last_epoch: int = -1):
        self.T_max = _real("CosineAnnealingLR", "T_max", T_max, "> 0")
        self.eta_min = _real("CosineAnnealingLR", "eta_min", eta_min, ">= 0")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min  # noqa: N806
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:  # resuming: closed form once
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(t * math.pi / T)) / 2
                    for base_lr in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:  # at the bottom: the recursion's ratio is 0/0
            return [lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, lr in zip(self.base_lrs, self._current_lrs())]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Linear warm-up (or decay) of a multiplicative factor over ``total_iters`` steps.

    .. math:: \gamma_t = \gamma_0 \left(s + (e - s) \frac{\min(t, T)}{T}\right)

    with :math:`s` = ``start_factor``, :math:`e` = ``end_factor``, :math:`T` = ``total_iters``
    (computed by PyTorch's recursion).

    Args:
        optimizer: the optimizer.
        start_factor: factor at step 0 (in (0, 1], default 1/3).
        end_factor: factor from step ``total_iters`` on (in [0, 1], default 1).
        total_iters: length of the ramp (> 0, default 5).
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1):
        self.start_factor = _real("LinearLR", "start_factor", start_factor, "(0, 1]")
        self.end_factor = _real("LinearLR", "end_factor", end_factor, "[0, 1]")
        self.total_iters = _int("LinearLR", "total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        s, e, T, t = self.start_factor, self.end_factor, self.total_iters, self.last_epoch  # noqa: N806
        if t == 0:
            return [lr * s for lr in self._current_lrs()]
        if self._is_initial or t > T:
            return self._current_lrs()
        factor = 1.0 + (e - s) / (T * s + (t - 1) * (e - s))
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        s, e, T = self.start_factor, self.end_factor, self.total_iters  # noqa: N806
        return [base_lr * (s + (e - s) * min(T, self.last_epoch) / T)
                for base_lr in self.base_lrs]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin, 2018): warm up to ``max_lr``, then anneal far below.

    Stepped once per batch. Phase 1 (``pct_start`` of ``total_steps``) goes from
    ``max_lr / div_factor`` up to ``max_lr``; phase 2 goes down to
    ``max_lr / (div_factor * final_div_factor)``; with ``three_phase`` it first comes back to the
    initial rate symmetrically and then goes down. Annealing is cosine,
    :math:`e + (s - e)(1 + \cos(\pi p))/2`, or linear, :math:`s + (e - s) p`, for the fraction
    :math:`p` of the phase done. The momentum (SGD's ``momentum`` or Adam's ``beta1``) cycles the
    opposite way between ``max_momentum`` and ``base_momentum`` when ``cycle_momentum``.

    Args:
        optimizer: the optimizer.
        max_lr: peak learning rate (or one per group).
        total_steps: number of steps of the cycle; or give ``epochs`` and ``steps_per_epoch``.
        epochs, steps_per_epoch: ``total_steps = epochs * steps_per_epoch``.
        pct_start: fraction of the cycle spent increasing the rate (float in [0, 1]).
        anneal_strategy: ``'cos'`` or ``'linear'``.
        cycle_momentum: cycle the momentum inversely to the learning rate.
        base_momentum, max_momentum: the momentum's bounds (or one per group).
        div_factor: ``initial_lr = max_lr / div_factor``.
        final_div_factor: ``min_lr = initial_lr / final_div_factor``.
        three_phase: use the three-phase variant (fast.ai's).
        last_epoch: see :class:`LRScheduler` (here it counts batches).
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85,
                 max_momentum: float | list[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1):
        owner = "OneCycleLR"
        _check_optimizer(owner, optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            self.total_steps = _int(owner, "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_int(owner, "epochs", epochs, 1)
                                * _int(owner, "steps_per_epoch", steps_per_epoch, 1))
        else:
            raise ValueError("OneCycleLR: give either total_steps, or both epochs and "
                             "steps_per_epoch")
        if isinstance(pct_start, bool) or not isinstance(pct_start, float) or \
                not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: invalid pct_start {pct_start!r}: pct_start must be "
                             "a float in [0, 1]")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: invalid anneal_strategy {anneal_strategy!r}: use "
                             "'cos' or 'linear'")
        self._anneal_func_type = anneal_strategy
        _real(owner, "div_factor", div_factor, "> 0")
        _real(owner, "final_div_factor", final_div_factor, "> 0")
        n = self.total_steps
        if three_phase:
            self._schedule_phases = [
                dict(end_step=float(pct_start * n) - 1, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * n) - 2, start_lr="max_lr",
                     end_lr="initial_lr", start_momentum="base_momentum",
                     end_momentum="max_momentum"),
                dict(end_step=n - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum"),
            ]
        else:
            self._schedule_phases = [
                dict(end_step=float(pct_start * n) - 1, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=n - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
            ]
        max_lrs = _per_group(owner, "max_lr", optimizer, max_lr)
        for v in max_lrs:
            _real(owner, "max_lr", v, "> 0")
        if last_epoch == -1:
            for group, m in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"OneCycleLR: {type(optimizer).__name__} has neither momentum "
                                 "nor betas; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            max_ms = _per_group(owner, "max_momentum", optimizer, max_momentum)
            base_ms = _per_group(owner, "base_momentum", optimizer, base_momentum)
            for v in max_ms + base_ms:
                _real(owner, "momentum bound", v, "[0, 1]")
            if last_epoch == -1:
                for m_max, m_base, group in zip(max_ms, base_ms, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (m_max, *group["betas"][1:])
                    else:
                        group["momentum"] = m_max
                    group["max_momentum"] = m_max
                    group["base_momentum"] = m_base
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step_num} times, but the cycle has "
                             f"total_steps={self.total_steps}; build the scheduler with more "
                             "steps (epochs * steps_per_epoch)")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step_num <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step_num - start_step) / (end_step - start_step)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]],
                                                group[phase["end_momentum"]], pct)
                    break
                start_step = phase["end_step"]
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs


class SequentialLR(LRScheduler):
    """Run schedulers one after another, switching at the milestone epochs (e.g. warm-up, then
    cosine).

    Args:
        optimizer: the optimizer all the schedulers act on.
        schedulers: the schedulers, in order.
        milestones: the epochs at which the next scheduler takes over (one fewer than
            schedulers); each new scheduler restarts at its own epoch 0.
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1):
        owner = "SequentialLR"
        _check_optimizer(owner, optimizer)
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("SequentialLR: expected at least one scheduler")
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"SequentialLR: schedulers[{i}] is a ReduceLROnPlateau, which "
                                 "needs a metric in step() and cannot be sequenced")
            if not isinstance(s, LRScheduler):
                raise TypeError(f"SequentialLR: schedulers[{i}] is not an LRScheduler")
            if s.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: schedulers[{i}] ({type(s).__name__}) acts on "
                                 "another optimizer")
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestone(s) for "
                             f"{len(schedulers)} schedulers, got {len(milestones)}")
        for m in milestones:
            _int(owner, "milestones entry", m, 0)
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # Undo the steps the schedulers took when they were built and restart the first one.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for s in schedulers:
            _undo_step(s)
        idx = bisect_right(milestones, 0)
        schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in self.__dict__.items()
               if k not in ("optimizer", "_schedulers")}
        out["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        subs = state_dict.pop("_schedulers")
        super().load_state_dict(state_dict)
        for s, sd in zip(self._schedulers, subs):
            s.load_state_dict(sd)


def _undo_step(s) -> None:
    if hasattr(s, "_schedulers"):
        for sub in s._schedulers:
            _undo_step(sub)
    elif hasattr(s, "last_epoch"):
        s.last_epoch -= 1


class ChainedScheduler(LRScheduler):
    """Step several schedulers together each epoch (their multiplicative effects compose).

    Args:
        schedulers: the schedulers (chainable ones, all on the same optimizer).
        optimizer: optional; defaults to the first scheduler's.
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None):
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("ChainedScheduler: expected at least one scheduler")
        optimizer = optimizer or schedulers[0].optimizer
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"ChainedScheduler: schedulers[{i}] is a ReduceLROnPlateau, "
                                 "which needs a metric in step() and cannot be chained")
            if s.optimizer is not optimizer:
                raise ValueError(f"ChainedScheduler: schedulers[{i}] acts on another optimizer")
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def step(self) -> None:
        for s in self._schedulers:
            s.step()
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    state_dict = SequentialLR.state_dict
    load_state_dict = SequentialLR.load_state_dict


class ReduceLROnPlateau(LRScheduler):
    r"""Divide the learning rate when a metric has stopped improving.

    ``step(metric)`` once per epoch with the validation loss (``mode='min'``) or accuracy
    (``mode='max'``). A value is an improvement when it beats the best so far by the threshold
    (``best * (1 - threshold)`` in ``'rel'`` mode, ``best - threshold`` in ``'abs'`` mode, for
    'min'). After more than ``patience`` epochs without improvement every group's rate becomes
    ``max(lr * factor, min_lr)`` (unless that changes it by less than ``eps``), and the next
    ``cooldown`` epochs do not count as bad.

    Args:
        optimizer: the optimizer.
        mode: ``'min'`` or ``'max'``.
        factor: multiplier of the rate (in [0, 1), default 0.1).
        patience: number of bad epochs tolerated (>= 0, default 10).
        threshold: minimal improvement (>= 0, default 1e-4).
        threshold_mode: ``'rel'`` or ``'abs'``.
        cooldown: epochs to wait after a reduction (>= 0).
        min_lr: lower bound of the rate (or one per group).
        eps: smallest change applied.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | list[float] = 0, eps: float = 1e-8):
        owner = "ReduceLROnPlateau"
        _check_optimizer(owner, optimizer)
        self.factor = _real(owner, "factor", factor, "[0, 1)")
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            self.min_lrs = _per_group(owner, "min_lr", optimizer, min_lr)
            self.default_min_lr = None
        else:
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
            self.default_min_lr = min_lr
        for v in self.min_lrs:
            _real(owner, "min_lr", v, ">= 0")
        self.patience = _int(owner, "patience", patience, 0)
        self.cooldown = _int(owner, "cooldown", cooldown, 0)
        self.eps = _real(owner, "eps", eps, ">= 0")
        _real(owner, "threshold", threshold, ">= 0")
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: invalid mode {mode!r}: use 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: invalid threshold_mode {threshold_mode!r}: "
                             "use 'rel' or 'abs'")
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics) -> None:  # type: ignore[override]
        """Record this epoch's metric (a number or one-element Tensor) and maybe reduce."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number, got "
                            f"{type(metrics).__name__}") from None
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown don't count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} "
                                   f"parameter groups but min_lr has {len(self.min_lrs)} "
                                   "values; set scheduler.min_lrs to match")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter, 2017).

    .. math::

        \eta_t = \eta_{min} + \tfrac12 (\eta_{base} - \eta_{min})
            \left(1 + \cos\left(\pi \frac{T_{cur}}{T_i}\right)\right)

    :math:`T_{cur}` counts the epochs since the last restart; a restart happens when it
    reaches :math:`T_i`, which starts at ``T_0`` and is multiplied by ``T_mult`` at each
    restart. ``step(epoch)`` accepts a fractional epoch (``epoch + i / iters_per_epoch``), to
    anneal within an epoch, and jumps there; ``step()`` advances by one.

    Args:
        optimizer: the optimizer.
        T_0: epochs until the first restart (a positive integer).
        T_mult: growth factor of the period after each restart (an integer >= 1).
        eta_min: the lowest learning rate.
        last_epoch: see :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1,  # noqa: N803
                 eta_min: float = 0.0, last_epoch: int = -1):
        owner = "CosineAnnealingWarmRestarts"
        self.T_0 = _int(owner, "T_0", T_0, 1)  # noqa: N815 - PyTorch's attribute names
        self.T_i = self.T_0  # noqa: N815
        self.T_mult = _int(owner, "T_mult", T_mult, 1)  # noqa: N815
        self.eta_min = _real(owner, "eta_min", eta_min)
        self.T_cur = last_epoch  # noqa: N815
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base_lr in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:  # type: ignore[override]
        """Advance one epoch, or jump to ``epoch`` (an int or a fractional epoch >= 0)."""
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            _real("CosineAnnealingWarmRestarts.step", "epoch", epoch, ">= 0")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:  # the restart that epoch falls after: T_0 (T_mult^n - 1)/(T_mult - 1)
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._current_lrs()


class CyclicLR(LRScheduler):
    r"""Cyclical learning rates (Smith, 2017): the rate goes back and forth between
    ``base_lr`` and ``max_lr``; stepped once per batch.

    One cycle lasts ``step_size_up + step_size_down`` iterations; with :math:`c` the cycle
    number (from 1) and :math:`x \in [0, 1)` the position in it,

    .. math::

        s = x / r \ \text{ if } x \le r \text{ else } (x - 1)/(r - 1), \quad
        r = \frac{\text{step\_size\_up}}{\text{step\_size\_up} + \text{step\_size\_down}} \\
        \eta = \eta_{base} + (\eta_{max} - \eta_{base}) \, s \, f(\cdot)

    where the amplitude scale :math:`f` is ``1`` (``'triangular'``), :math:`1/2^{c-1}`
    (``'triangular2'``) or :math:`\gamma^{\text{iteration}}` (``'exp_range'``), or your
    ``scale_fn`` applied to the cycle number (``scale_mode='cycle'``) or to the iteration
    (``'iterations'``). With ``cycle_momentum`` the momentum (SGD's ``momentum``, Adam's
    ``beta1``) moves the opposite way, :math:`m = m_{max} - (m_{max} - m_{base}) s f`.

    Args:
        optimizer: the optimizer.
        base_lr, max_lr: the cycle's bounds (one value, or one per group).
        step_size_up: iterations from ``base_lr`` up to ``max_lr``.
        step_size_down: iterations back down (default: ``step_size_up``).
        mode: ``'triangular'``, ``'triangular2'`` or ``'exp_range'`` (ignored with
            ``scale_fn``).
        gamma: the base of ``'exp_range'``'s decay.
        scale_fn: a custom amplitude scale, a function of one number into [0, 1].
        scale_mode: ``'cycle'`` or ``'iterations'``: what ``scale_fn`` receives.
        cycle_momentum: cycle the momentum too (the optimizer needs ``momentum`` or
            ``betas``).
        base_momentum, max_momentum: the momentum's bounds (one value, or one per group).
        last_epoch: see :class:`LRScheduler` (here it counts batches).
    """

    _MODES = ("triangular", "triangular2", "exp_range")

    def __init__(self, optimizer: Optimizer, base_lr: float | list[float],
                 max_lr: float | list[float], step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None,
                 scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.8,
                 max_momentum: float | list[float] = 0.9, last_epoch: int = -1):
        owner = "CyclicLR"
        _check_optimizer(owner, optimizer)
        self.optimizer = optimizer
        base_lrs = _per_group(owner, "base_lr", optimizer, base_lr)
        for v in base_lrs:
            _real(owner, "base_lr", v, ">= 0")
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group(owner, "max_lr", optimizer, max_lr)
        for v in self.max_lrs:
            _real(owner, "max_lr", v, ">= 0")
        up = float(_real(owner, "step_size_up", step_size_up, "> 0"))
        down = up if step_size_down is None else \
            float(_real(owner, "step_size_down", step_size_down, ">= 0"))
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if scale_fn is None and mode not in self._MODES:
            raise ValueError(f"CyclicLR: invalid mode {mode!r}: use 'triangular', "
                             "'triangular2' or 'exp_range', or pass scale_fn")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"CyclicLR: scale_fn must be callable, got {scale_fn!r}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: invalid scale_mode {scale_mode!r}: use 'cycle' or "
                             "'iterations'")
        self.mode = mode
        self.gamma = _real(owner, "gamma", gamma)
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else \
            ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"CyclicLR: {type(optimizer).__name__} has neither momentum "
                                 "nor betas; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group(owner, "base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group(owner, "max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for m_max, m_base, group in zip(self.max_momentums, self.base_momentums,
                                                optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (m_max, *group["betas"][1:])
                    else:
                        group["momentum"] = m_max
                    group["max_momentum"] = m_max
                    group["base_momentum"] = m_base
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The amplitude scale at cycle (or iteration) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * scale_factor * scale
               for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, m_base, m_max in zip(self.optimizer.param_groups, self.base_momentums,
                                            self.max_momentums):
                momentum = m_max - (m_max - m_base) * scale_factor * scale
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """As :meth:`LRScheduler.state_dict`; a custom ``scale_fn`` is kept only when it is a
        callable object (its attributes), not a function or lambda, as in PyTorch."""
        state = {k: copy.deepcopy(v) for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_scale_fn_custom")}
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = None
        if fn is not None and not isinstance(fn, types.FunctionType):
            state["_scale_fn_custom"] = copy.deepcopy(fn.__dict__)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        fn_state = state.pop("_scale_fn_custom", None)
        super().load_state_dict(state)
        if fn_state is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn_state)
