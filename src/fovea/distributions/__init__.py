"""Probability distributions, as ``torch.distributions``: ``Normal``, ``Bernoulli``,
``Categorical``, ``Uniform``, ``MultivariateNormal``, ``Independent``, with ``sample``,
``rsample`` (reparameterised: gradients reach the parameters), ``log_prob``, ``entropy``,
moments, and ``kl_divergence`` (extend it with ``register_kl``). Random draws come from
fovea's generator (``fovea.manual_seed``). See docs/distributions.md.
"""

from fovea.distributions import constraints
from fovea.distributions.bernoulli import Bernoulli
from fovea.distributions.categorical import Categorical
from fovea.distributions.distribution import Distribution
from fovea.distributions.independent import Independent
from fovea.distributions.kl import kl_divergence, register_kl
from fovea.distributions.multivariate_normal import MultivariateNormal
from fovea.distributions.normal import Normal
from fovea.distributions.uniform import Uniform

__all__ = [
    "Bernoulli",
    "Categorical",
    "Distribution",
    "Independent",
    "MultivariateNormal",
    "Normal",
    "Uniform",
    "constraints",
    "kl_divergence",
    "register_kl",
]
