"""Uniform distributions on a half-open interval [low, high)."""

from __future__ import annotations

import math

import numpy as np

from fovea.creation import full_like
from fovea.distributions import constraints
from fovea.distributions.distribution import Distribution
from fovea.distributions.utils import as_param, broadcast_all, uniform
from fovea.ops.arithmetic import where
from fovea.tensor import Tensor


class Uniform(Distribution):
    r"""Uniform distributions on :math:`[a, b)`, batched over the broadcast shape of ``low``
    and ``high``: :math:`\log p(x) = -\log(b - a)` inside, :math:`-\infty` outside;
    entropy :math:`\log(b - a)`. ``rsample`` is :math:`a + (b - a) u`, :math:`u \sim U[0, 1)`,
    differentiable in ``low`` and ``high``.

    Args:
        low, high: the bounds, ``low < high`` (checked with ``validate_args``).
        validate_args: check the bounds, and that values given to ``log_prob`` lie in
            ``[low, high]``.
    """

    arg_constraints = {"low": constraints.dependent, "high": constraints.dependent}
    has_rsample = True

    def __init__(self, low, high, validate_args: bool | None = None):
        self.low, self.high = broadcast_all({"low": low, "high": high}, "Uniform")
        super().__init__(self.low.shape, (), validate_args)
        if self._validate_args and not (self.low.detach().numpy()
                                        < self.high.detach().numpy()).all():
            raise ValueError("Uniform: expected low < high everywhere, but found low >= high")

    @property
    def support(self) -> constraints.Constraint:
        return constraints.interval(self.low, self.high)

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return self.low * float("nan")  # every point of the interval is a mode (as PyTorch)

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()) -> Tensor:
        u = uniform(self._extended_shape(sample_shape), self.low)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value) -> Tensor:
        value = as_param(value, self.low, "value", "Uniform.log_prob")
        if self._validate_args:
            self._validate_sample(value)
        lp = -(self.high - self.low).log()
        lp = lp.expand(*np.broadcast_shapes(lp.shape, value.shape))
        inside = (self.low <= value) & (value < self.high)
        return where(inside, lp, full_like(lp, -math.inf))  # no log(0) of the indicator

    def cdf(self, value) -> Tensor:
        value = as_param(value, self.low, "value", "Uniform.cdf")
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()
