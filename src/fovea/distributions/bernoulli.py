"""Bernoulli distributions: 1 with probability p, 0 otherwise."""

from __future__ import annotations

from fovea.creation import full_like
from fovea.distributions import constraints
from fovea.distributions.distribution import Distribution
from fovea.distributions.utils import (
    as_param,
    broadcast_all,
    logits_to_probs,
    probs_to_logits,
    uniform,
)
from fovea.nn import functional as F
from fovea.ops.arithmetic import where
from fovea.tensor import Tensor


class Bernoulli(Distribution):
    r"""Bernoulli distributions, given ``probs`` :math:`p` or ``logits``
    :math:`\ell = \log\frac{p}{1 - p}` (exactly one).

    .. math::

        \log p(x) = x\ell - \operatorname{softplus}(\ell), \quad
        H = \operatorname{softplus}(\ell) - p\ell

    computed from the logits, so large logits stay exact. Samples are 0.0 / 1.0 in the
    parameter's dtype; there is no ``rsample`` (draws are not differentiable).

    Args:
        probs: probabilities in [0, 1].
        logits: log-odds (any real).
        validate_args: check the parameter, and that values are 0 or 1.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None):
        if (probs is None) == (logits is None):
            raise ValueError("Bernoulli: give exactly one of probs or logits")
        if probs is not None:
            (self.probs,) = broadcast_all({"probs": probs}, "Bernoulli")
            shape = self.probs.shape
        else:
            (self.logits,) = broadcast_all({"logits": logits}, "Bernoulli")
            shape = self.logits.shape
        super().__init__(shape, (), validate_args)

    def __getattr__(self, name):  # the other parameterisation, computed on first use
        if name == "probs":
            self.__dict__["probs"] = logits_to_probs(self.__dict__["logits"], is_binary=True)
            return self.__dict__["probs"]
        if name == "logits":
            self.__dict__["logits"] = probs_to_logits(self.__dict__["probs"], is_binary=True)
            return self.__dict__["logits"]
        raise AttributeError(f"'Bernoulli' object has no attribute {name!r}")

    @property
    def _param(self) -> Tensor:
        return self.__dict__["probs"] if "probs" in self.__dict__ else self.__dict__["logits"]

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return where(self.probs == 0.5, full_like(mode, float("nan")), mode)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        probs = self.probs.detach()
        u = uniform(shape, probs)
        return (u < probs.expand(*shape)).to(probs.dtype)

    def log_prob(self, value) -> Tensor:
        value = as_param(value, self._param, "value", "Bernoulli.log_prob")
        if self._validate_args:
            self._validate_sample(value)
        return value * self.logits - F.softplus(self.logits)

    def entropy(self) -> Tensor:
        return F.softplus(self.logits) - self.probs * self.logits

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """The values 0 and 1, shape ``(2,) + batch_shape`` (or ``(2, 1, ...)``)."""
        values = as_param([0.0, 1.0], self._param, "values", "Bernoulli")
        values = values.reshape(2, *([1] * len(self._batch_shape)))
        return values.expand(2, *self._batch_shape) if expand else values
