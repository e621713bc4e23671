"""Categorical distributions over ``{0, ..., K-1}``."""

from __future__ import annotations

import numpy as np

from fovea.distributions import constraints
from fovea.distributions.distribution import Distribution
from fovea.distributions.utils import (
    as_param,
    generator,
    logits_to_probs,
    on_device_of,
    probs_to_logits,
)
from fovea.ops.reduce import logsumexp
from fovea.tensor import Tensor


class Categorical(Distribution):
    r"""Categorical distributions, given ``probs`` (non-negative, normalised along the last
    dimension) or ``logits`` (unnormalised log-probabilities), of shape ``batch_shape +
    (K,)``; exactly one. Values are integer class indices, ``event_shape`` is ``()``.

    .. math::

        \log p(k) = \ell_k - \log\textstyle\sum_j e^{\ell_j}, \quad
        H = -\textstyle\sum_k p_k \log p_k

    Sampling inverts the cumulative probabilities with uniform draws from fovea's generator
    (no ``rsample``). ``log_prob`` and ``entropy`` are differentiable in the parameter.

    Args:
        probs: event probabilities (any non-negative weights; divided by their sum).
        logits: event log-weights (normalised with log-sum-exp).
        validate_args: check the parameter, and that values are valid class indices.
    """

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None):
        if (probs is None) == (logits is None):
            raise ValueError("Categorical: give exactly one of probs or logits")
        name = "probs" if probs is not None else "logits"
        param = as_param(probs if probs is not None else logits, None, name, "Categorical")
        if param.ndim < 1:
            raise ValueError(f"Categorical: {name} must have at least one dimension (the "
                             f"categories), got a 0-d tensor")
        if probs is not None:
            self.probs = param / param.sum(-1, keepdim=True)
        else:
            self.logits = param - logsumexp(param, dim=-1, keepdim=True)
        self._num_events = param.shape[-1]
        super().__init__(param.shape[:-1], (), validate_args)

    def __getattr__(self, name):  # the other parameterisation, computed on first use
        if name == "probs":
            self.__dict__["probs"] = logits_to_probs(self.__dict__["logits"])
            return self.__dict__["probs"]
        if name == "logits":
            self.__dict__["logits"] = probs_to_logits(self.__dict__["probs"])
            return self.__dict__["logits"]
        raise AttributeError(f"'Categorical' object has no attribute {name!r}")

    @property
    def param_shape(self) -> tuple:
        return self._batch_shape + (self._num_events,)

    @property
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def _param(self) -> Tensor:
        return self.__dict__["probs"] if "probs" in self.__dict__ else self.__dict__["logits"]

    @property
    def mean(self) -> Tensor:  # undefined for categories (PyTorch returns NaN)
        return on_device_of(np.full(self._batch_shape, np.nan), self._param)

    @property
    def variance(self) -> Tensor:
        return self.mean

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(dim=-1)

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        probs = np.asarray(self.probs.detach().numpy(), dtype=np.float64)
        cdf = np.cumsum(probs, axis=-1)
        cdf /= cdf[..., -1:]  # exactly 1 at the end despite rounding
        u = generator().random(shape + (1,))
        idx = (np.broadcast_to(cdf, shape + (self._num_events,)) <= u).sum(-1)
        return on_device_of(np.minimum(idx, self._num_events - 1), self._param, np.int64)

    def log_prob(self, value) -> Tensor:
        if not isinstance(value, Tensor):
            value = as_param(value, None, "value", "Categorical.log_prob").to(np.int64)
        if self._validate_args:
            self._validate_sample(value)
        value = value.to(np.int64)
        shape = np.broadcast_shapes(tuple(value.shape), self._batch_shape)
        logits = self.logits.expand(*shape, self._num_events)
        index = value.expand(*shape).unsqueeze(-1)
        return logits.gather(-1, index).squeeze(-1)

    def entropy(self) -> Tensor:
        finite = float(np.finfo(self.logits.dtype).min)  # 0 · log 0 counts as 0
        return -(self.probs * self.logits.clamp(min=finite)).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """Every class index, shape ``(K,) + batch_shape`` (or ``(K, 1, ...)``)."""
        values = on_device_of(np.arange(self._num_events), self._param, np.int64)
        values = values.reshape(self._num_events, *([1] * len(self._batch_shape)))
        return values.expand(self._num_events, *self._batch_shape) if expand else values
