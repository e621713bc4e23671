"""``Optimizer``: the base class of every optimizer (param groups, per-parameter state, saving).

An optimizer holds ``param_groups``, a list of dicts, each with the ``'params'`` it updates and
its own hyperparameters (the constructor's defaults fill in whatever a group leaves out), and
``state``, a dict from parameter to that parameter's running quantities (momentum buffers,
moment estimates, step counts). ``state_dict()`` names parameters by their position across the
groups, exactly as PyTorch does, so a checkpoint resumes the same trajectory::

    {'state': {0: {'momentum_buffer': Tensor}, ...},
     'param_groups': [{'lr': 0.1, 'momentum': 0.9, ..., 'params': [0, 1, 2]}]}

Updates act on the raw arrays (``p._data``) in place, in the parameter's own dtype, and bump
the parameter's version counter so the engine notices the change if a graph saved it.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from fovea import backends, dtypes
from fovea.autograd import enable_grad, no_grad
from fovea.backends import array_module
from fovea.tensor import Tensor


class _RequiredParameter:
    """Marks a hyperparameter that has no default and must be given (in a group or default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class for optimizers.

    Subclasses pass their hyperparameter defaults to ``__init__``, check them in
    ``_validate(group)`` and update one group in ``_update_group(group)``; the base class runs
    the closure with gradients enabled and the updates with them disabled.

    Args:
        params: an iterable of Tensors (e.g. ``model.parameters()``), of ``(name, Tensor)``
            pairs (``model.named_parameters()``) or of dicts (parameter groups), each dict with
            a ``'params'`` entry and optionally its own hyperparameters.
        defaults: the hyperparameters a group gets when it does not set them.
    """

    #: whether every array in a parameter's state has that parameter's shape (checked when a
    #: state dict is loaded); LBFGS keeps flat vectors and turns this off.
    _state_shaped_like_params = True

    def __init__(self, params, defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self._validate(self.defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = self._as_group_list(params)
        for group in groups:
            self.add_param_group(group)

    # --- construction -----------------------------------------------------------------------
    @property
    def _name(self) -> str:
        return type(self).__name__

    def _as_group_list(self, params) -> list[dict]:
        name = self._name
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params must be an iterable of Tensors or of dicts (parameter "
                f"groups), but got a single Tensor of shape {params.shape}; wrap it in a list: "
                f"{name}([tensor], ...)"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: params must be an ordered collection (a list), not a set: the order "
                "of a set changes between runs, and saved optimizer state is matched by order"
            )
        if isinstance(params, dict):
            raise TypeError(
                f"{name}: params is a dict; pass a list of parameter groups ([{{'params': ...}}]) "
                "or model.parameters()"
            )
        try:
            items = list(params)
        except TypeError:
            raise TypeError(
                f"{name}: params must be an iterable of Tensors or of dicts (parameter groups), "
                f"got {type(params).__name__}"
            ) from None
        if not items:
            raise ValueError(
                f"{name}: got an empty parameter list; pass model.parameters() of a model that "
                "has parameters (or a non-empty list of Tensors)"
            )
        n_dicts = sum(isinstance(x, dict) for x in items)
        if n_dicts == 0:
            return [{"params": items}]
        if n_dicts != len(items):
            raise TypeError(
                f"{name}: params mixes dicts (parameter groups) and other objects; pass either "
                "a list of Tensors or a list of dicts"
            )
        return [dict(g) for g in items]

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. to unfreeze a layer).

        Args:
            param_group: a dict with ``'params'`` (a Tensor or an iterable of Tensors or of
                ``(name, Tensor)`` pairs) and any hyperparameters that differ from the defaults.

        Raises:
            TypeError: a parameter is not a fovea Tensor, or is not floating point.
            ValueError: a hyperparameter is invalid, a parameter is not a leaf, or a parameter
                is already in this or another group.
        """
        name = self._name
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: param_group must be a dict, got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}.add_param_group: param_group has no 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be an ordered collection (a list), not a "
                            "set, so that saved state can be matched by order")
        else:
            params = list(params)
        if not params:
            raise ValueError(f"{name}: a parameter group has an empty 'params' list")
        names = [p[0] for p in params if isinstance(p, tuple) and len(p) == 2]
        if names:
            if len(names) != len(params):
                raise ValueError(f"{name}: either all parameters come with names "
                                 "((name, Tensor) pairs) or none does")
            params = [p[1] for p in params]
            group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize fovea Tensors, but one of the params "
                                f"is {type(p).__module__}.{type(p).__name__}")
            if not dtypes.is_floating(p.dtype):
                raise TypeError(f"{name} can only optimize floating-point Tensors, but one of "
                                f"the params has dtype {p.dtype}")
            if p.grad_fn is not None:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (it was computed by "
                                 f"{p.grad_fn.name}); optimize the leaves it came from")
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            group.setdefault(key, default)
        self._validate(group)
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{name}: a parameter group lists the same parameter twice")
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing.intersection(ids):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)
        self._init_group_state(group)

    def _validate(self, group: dict[str, Any]) -> None:
        """Check a group's (or the defaults') hyperparameters; subclasses raise ValueError."""

    def _init_group_state(self, group: dict[str, Any]) -> None:
        """Create state eagerly for a new group (only optimizers that PyTorch does so, Adagrad)."""

    # --- the update ---------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters (to None by default, as PyTorch)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.grad_fn = None
                    p.grad.requires_grad = False
                    p.grad._data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; return the closure's loss (or None).

        Args:
            closure: optional; re-evaluates the model and returns the loss (it runs with
                gradients enabled, e.g. ``zero_grad(); loss = f(); loss.backward(); return loss``).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{self._name} does not implement _update_group() or step()")

    # --- saving and loading -------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as ``{'state': {index: {...}}, 'param_groups': [...]}``.

        Parameters are named by their position across the groups (PyTorch's layout). The state
        is deep-copied: later steps do not change a saved dict.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: {k: _copy_value(v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state saved by :meth:`state_dict`.

        The saved groups must match this optimizer's groups in number and sizes; parameters
        are matched by position. Arrays are copied and cast to each parameter's dtype (the
        ``step`` counters keep theirs). PyTorch optimizer state dicts load too.

        Raises:
            ValueError: the groups do not match, or a state array has the wrong shape.
        """
        name = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, dict) or "state" not in state_dict or \
                "param_groups" not in state_dict:
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups' entries "
                             "(as returned by state_dict())")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: the saved state has {len(saved_groups)} parameter "
                             f"group(s) but this optimizer has {len(self.param_groups)}")
        id_map: dict[Any, Tensor] = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}: parameter group {i} has {len(saved['params'])} "
                                 f"parameters in the saved state but {len(group['params'])} "
                                 "in this optimizer")
            id_map.update(zip(saved["params"], group["params"]))
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, values in state_dict["state"].items():
            if key not in id_map:
                raise ValueError(f"{name}: the saved state refers to parameter {key!r}, which "
                                 "no saved parameter group lists")
            p = id_map[key]
            new_state[p] = {k: self._load_value(name, p, k, v) for k, v in values.items()}
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            g = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            g["params"] = group["params"]
            for k, v in group.items():
                g.setdefault(k, v)
            new_groups.append(g)
        self.param_groups = new_groups
        self.state = new_state

    def _load_value(self, name: str, p: Tensor, key: str, value):
        if isinstance(value, (list, tuple)):
            return type(value)(self._load_value(name, p, key, v) for v in value)
        if isinstance(value, dict):
            return {k: self._load_value(name, p, k, v) for k, v in value.items()}
        arr = _as_array(value)
        if arr is None:
            return copy.deepcopy(value)
        if key == "step":
            return Tensor._make(backends.default().xp.array(arr, copy=True), None)
        if dtypes.is_floating(arr.dtype):
            arr = arr.astype(p.dtype)
        if self._state_shaped_like_params and arr.ndim > 0 and arr.shape != p.shape:
            raise ValueError(f"{name}: state {key!r} has shape {arr.shape} but its parameter "
                             f"has shape {p.shape}")
        return Tensor._make(array_module(p).array(arr, copy=True), None)  # to p's device

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)


# --- helpers shared by the optimizers ---------------------------------------------------------
def _copy_value(value):
    """A deep copy of a state value (Tensors get their own array, outside any graph)."""
    if isinstance(value, Tensor):
        return Tensor._make(value._data.copy(), None)
    if isinstance(value, list):
        return [_copy_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy_value(v) for v in value)
    if isinstance(value, dict):
        return {k: _copy_value(v) for k, v in value.items()}
    return copy.deepcopy(value)


def _as_array(value):
    """The array behind a fovea Tensor, a NumPy array or a PyTorch tensor; None otherwise."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()  # a torch.Tensor, duck-typed (no torch import)
    return None


def _scalar_dtype():
    """The dtype of the ``step`` counters: float64 if that is the default dtype, else float32."""
    return np.float64 if dtypes.get_default_dtype() == np.float64 else np.float32


def _new_step() -> Tensor:
    return Tensor._make(backends.default().xp.zeros((), dtype=_scalar_dtype()), None)


def _increment(step: Tensor) -> float:
    """Add one to a step counter in place and return the new count as a Python float."""
    step._data += 1
    return float(step._data)


def _zeros_like(p: Tensor) -> Tensor:
    return Tensor._make(array_module(p).zeros_like(p._data), None)


def _lerp_(a, b, weight: float) -> None:
    """``a += weight * (b - a)`` in place, with PyTorch's two-sided formula (exact at 0 and 1)."""
    if weight < 0.5:
        a += weight * (b - a)
    else:
        a[...] = b - (b - a) * (1 - weight)


def _grad(p: Tensor, maximize: bool):
    """The gradient array to descend (negated when maximizing); never modify it in place."""
    g = p.grad._data
    if g.dtype != p._data.dtype:
        g = g.astype(p._data.dtype)
    return -g if maximize else g


def _decayed_grad(p: Tensor, g, lr: float, weight_decay: float, decoupled: bool = False):
    """``g`` with weight decay applied, as PyTorch's optimizers apply it.

    L2 (the default) returns ``g + weight_decay * p``; decoupled (AdamW's) shrinks ``p`` in
    place by ``1 - lr * weight_decay`` and returns ``g`` unchanged.
    """
    if weight_decay == 0:
        return g
    if decoupled:
        p._data *= 1 - lr * weight_decay
        return g
    return g + weight_decay * p._data


def _ema_sq_(avg, g, decay: float) -> None:
    """In place: ``avg = decay * avg + (1 - decay) * g * g`` (the running mean of g²)."""
    avg *= decay
    avg += (1 - decay) * g * g


def _bump(p: Tensor) -> None:
    p._version[0] += 1


def _check(opt: str, name: str, value, condition: str, what: str | None = None,
           *, integer: bool = False) -> None:
    """Raise a clear TypeError/ValueError unless ``value`` is a real number meeting ``condition``.

    ``condition`` is one of ``'>= 0'``, ``'> 0'``, ``'[0, 1)'``, ``'[0, 1]'``.
    """
    what = what or name
    kinds = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "an integer" if integer else "a real number"
        raise TypeError(f"{opt}: {name} must be {kind}, got {type(value).__name__} "
                        f"({value!r})")
    v = float(value)
    ok = {
        ">= 0": v >= 0,
        "> 0": v > 0,
        "[0, 1)": 0 <= v < 1,
        "[0, 1]": 0 <= v <= 1,
    }[condition]
    if not ok or math.isnan(v):
        rule = {"[0, 1)": "in [0, 1)", "[0, 1]": "in [0, 1]"}.get(condition, condition)
        raise ValueError(f"{opt}: invalid {what} {value!r}: {name} must be {rule}")


def _check_adam_hyperparameters(opt: str, group: dict) -> None:
    """The checks of the Adam family (Adam, AdamW, Adamax, NAdam, RAdam), in PyTorch's
    order: ``lr`` and ``eps`` >= 0, ``betas`` a pair in [0, 1), ``weight_decay`` >= 0."""
    _check(opt, "lr", group["lr"], ">= 0", "learning rate")
    _check(opt, "eps", group["eps"], ">= 0", "epsilon value")
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{opt}: betas must be a pair (beta1, beta2), got {betas!r}")
    _check(opt, "betas[0]", betas[0], "[0, 1)", "beta parameter at index 0")
    _check(opt, "betas[1]", betas[1], "[0, 1)", "beta parameter at index 1")
    _check(opt, "weight_decay", group["weight_decay"], ">= 0", "weight_decay value")


def _check_flag(opt: str, name: str, value) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{opt}: {name} must be True or False, got {value!r}")


