"""``Distribution``: the interface every distribution follows (PyTorch's).

A distribution holds a batch of independent distributions of the same family: parameters
broadcast to ``batch_shape``, and each draw is a value of ``event_shape`` (``()`` for a
scalar distribution, ``(k,)`` for a k-dimensional one). ``sample(sample_shape)`` returns
``sample_shape + batch_shape + event_shape``; ``log_prob(value)`` returns the log-density of
each value, of shape ``broadcast(value's batch part, batch_shape)``.
"""

from __future__ import annotations

import numpy as np

from fovea.autograd import no_grad
from fovea.distributions import constraints
from fovea.distributions.utils import shape_of
from fovea.tensor import Tensor

_validate_default = True  # as PyTorch (``__debug__``): parameters and values are checked


class Distribution:
    """Base class. Subclasses set ``arg_constraints`` (parameter name -> constraint),
    ``support`` and ``has_rsample``, and implement what they can of ``rsample`` /
    ``sample``, ``log_prob``, ``entropy``, ``mean``, ``variance``, ``cdf``.

    Args:
        batch_shape, event_shape: see the module docstring.
        validate_args: check the parameters now and every value given to ``log_prob``
            (``None``: the default, see :meth:`set_default_validate_args`).
    """

    has_rsample = False
    has_enumerate_support = False
    arg_constraints: dict[str, constraints.Constraint] = {}
    support: constraints.Constraint | None = None

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument validation on or off for distributions created afterwards."""
        global _validate_default
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: expected True or False, got {value!r}")
        _validate_default = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args: bool | None = None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        self._validate_args = _validate_default if validate_args is None else validate_args
        if self._validate_args:
            self._check_parameters()

    def _check_parameters(self) -> None:
        for name, constraint in self.arg_constraints.items():
            value = self.__dict__.get(name)  # the parameters given (not derived ones)
            if constraint is constraints.dependent or not isinstance(value, Tensor):
                continue
            if not constraint.check(value).all():
                raise ValueError(
                    f"{type(self).__name__}: expected parameter {name} (a tensor of shape "
                    f"{tuple(value.shape)}) to satisfy the constraint {constraint!r}, but "
                    "found invalid values")

    # --- shapes -------------------------------------------------------------------------
    @property
    def batch_shape(self) -> tuple:
        return self._batch_shape

    @property
    def event_shape(self) -> tuple:
        return self._event_shape

    def _extended_shape(self, sample_shape=()) -> tuple:
        return shape_of(sample_shape, f"{type(self).__name__}.sample") + \
            self._batch_shape + self._event_shape

    # --- sampling -----------------------------------------------------------------------
    def sample(self, sample_shape=()) -> Tensor:
        """Draws of shape ``sample_shape + batch_shape + event_shape``, outside the graph."""
        with no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()) -> Tensor:
        """Reparameterised draws: differentiable with respect to the parameters."""
        raise NotImplementedError(f"{type(self).__name__} has no rsample (its draws are not "
                                  "differentiable in its parameters); use sample()")

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    # --- densities and moments ----------------------------------------------------------
    def log_prob(self, value) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.log_prob")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.entropy")

    def cdf(self, value) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.cdf")

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.mean")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.variance")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    # --- checks -------------------------------------------------------------------------
    def _validate_sample(self, value: Tensor) -> None:
        """Refuse a ``value`` whose shape does not fit or that lies outside the support."""
        name = f"{type(self).__name__}.log_prob"
        if not isinstance(value, Tensor):
            raise TypeError(f"{name}: the value must be a Tensor, got {type(value).__name__}")
        event_dim = len(self._event_shape)
        if tuple(value.shape[value.ndim - event_dim:]) != self._event_shape or \
                value.ndim < event_dim:
            raise ValueError(f"{name}: the value's rightmost dimensions {tuple(value.shape)} "
                             f"must be the event shape {self._event_shape}")
        batch = tuple(value.shape[:value.ndim - event_dim])
        try:
            np.broadcast_shapes(batch, self._batch_shape)
        except ValueError:
            raise ValueError(f"{name}: a value of shape {tuple(value.shape)} does not broadcast "
                             f"with batch_shape {self._batch_shape}") from None
        support = self.support
        if support is not None and not support.check(value).all():
            raise ValueError(f"{name}: expected every value to be in the support "
                             f"{support!r} of the distribution, but found values outside it")

    def __repr__(self) -> str:
        args = []
        for k in self.arg_constraints:
            v = self.__dict__.get(k)
            if isinstance(v, Tensor):
                args.append(f"{k}: {v.item() if v.numel() == 1 else tuple(v.shape)}")
        return f"{type(self).__name__}({', '.join(args)})"
