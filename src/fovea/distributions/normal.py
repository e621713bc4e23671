"""Normal (Gaussian) distributions with a location and a scale."""

from __future__ import annotations

import math

from fovea.distributions import constraints
from fovea.distributions.distribution import Distribution
from fovea.distributions.utils import as_param, broadcast_all, standard_normal
from fovea.nn import functional as F
from fovea.tensor import Tensor


class Normal(Distribution):
    r"""Normal distributions :math:`\mathcal N(\mu, \sigma^2)`, batched over the broadcast
    shape of ``loc`` and ``scale``.

    .. math::

        \log p(x) = -\frac{(x - \mu)^2}{2\sigma^2} - \log\sigma - \tfrac12 \log 2\pi, \quad
        H = \tfrac12 + \tfrac12 \log 2\pi + \log\sigma

    ``rsample`` returns :math:`\mu + \sigma\epsilon` with :math:`\epsilon \sim \mathcal N(0,
    1)` from fovea's generator, so gradients reach ``loc`` and ``scale``.

    Args:
        loc: the mean :math:`\mu` (a Tensor or a number).
        scale: the standard deviation :math:`\sigma > 0`.
        validate_args: check that ``scale`` is positive and values are real.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None):
        self.loc, self.scale = broadcast_all({"loc": loc, "scale": scale}, "Normal")
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2

    def rsample(self, sample_shape=()) -> Tensor:
        eps = standard_normal(self._extended_shape(sample_shape), self.loc)
        return self.loc + eps * self.scale

    def log_prob(self, value) -> Tensor:
        value = as_param(value, self.loc, "value", "Normal.log_prob")
        if self._validate_args:
            self._validate_sample(value)
        return -((value - self.loc) ** 2) / (2 * self.variance) - self.scale.log() \
            - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value) -> Tensor:
        value = as_param(value, self.loc, "value", "Normal.cdf")
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + F.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
