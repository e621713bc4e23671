"""Multivariate normal distributions, parameterised through a Cholesky factor."""

from __future__ import annotations

import math

import numpy as np

from fovea.creation import eye
from fovea.distributions import _linalg, constraints
from fovea.distributions.distribution import Distribution
from fovea.distributions.utils import as_param, standard_normal
from fovea.tensor import Tensor


def _diagonal(m: Tensor) -> Tensor:
    """The diagonal of each matrix of m (..., k, k) -> (..., k), differentiably."""
    return (m * eye(m.shape[-1], dtype=m.dtype)).sum(-1)


def _identity_like(m: Tensor) -> Tensor:
    return as_param(np.eye(m.shape[-1]), m, "identity", "MultivariateNormal")


class MultivariateNormal(Distribution):
    r"""Multivariate normal distributions :math:`\mathcal N(\mu, \Sigma)` of dimension
    :math:`k`, given ``loc`` ``(..., k)`` and exactly one of ``covariance_matrix``
    :math:`\Sigma`, ``precision_matrix`` :math:`\Sigma^{-1}` or ``scale_tril`` :math:`L`
    (lower triangular, positive diagonal, :math:`\Sigma = LL^\top`), each ``(..., k, k)``;
    batch dimensions broadcast. Everything goes through :math:`L` (the Cholesky factor of
    :math:`\Sigma`, computed once):

    .. math::

        \log p(x) = -\tfrac12 \lVert L^{-1}(x - \mu) \rVert^2 - \textstyle\sum_i \log L_{ii}
            - \tfrac k2 \log 2\pi, \quad
        H = \tfrac k2 (1 + \log 2\pi) + \textstyle\sum_i \log L_{ii}

    ``rsample`` returns :math:`\mu + L\epsilon`, differentiable in every parameter (the
    Cholesky factorisation and the triangular solves have gradients). A diagonal covariance
    is ``scale_tril=diag(σ)`` (or ``Independent(Normal(μ, σ), 1)``, which skips the matrices).

    Args:
        loc: the mean, at least one-dimensional.
        covariance_matrix, precision_matrix, scale_tril: the spread (one of them).
        validate_args: check that the matrix is positive definite (or lower triangular with a
            positive diagonal) and that values are real vectors.
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args: bool | None = None):
        owner = "MultivariateNormal"
        given = {k: v for k, v in (("covariance_matrix", covariance_matrix),
                                   ("precision_matrix", precision_matrix),
                                   ("scale_tril", scale_tril)) if v is not None}
        if len(given) != 1:
            raise ValueError(f"{owner}: give exactly one of covariance_matrix, "
                             f"precision_matrix or scale_tril (got {len(given)})")
        loc = as_param(loc, None, "loc", owner)
        ((name, matrix),) = given.items()
        matrix = as_param(matrix, loc, name, owner)
        if loc.ndim < 1:
            raise ValueError(f"{owner}: loc must be at least one-dimensional, got a 0-d tensor")
        k = loc.shape[-1]
        if matrix.ndim < 2 or matrix.shape[-2:] != (k, k):
            raise ValueError(f"{owner}: {name} must have shape (..., {k}, {k}) to match loc of "
                             f"shape {tuple(loc.shape)}, got {tuple(matrix.shape)}")
        try:
            batch = np.broadcast_shapes(tuple(loc.shape[:-1]), tuple(matrix.shape[:-2]))
        except ValueError:
            raise ValueError(f"{owner}: the batch shapes of loc {tuple(loc.shape)} and {name} "
                             f"{tuple(matrix.shape)} do not broadcast") from None
        self.loc = loc.expand(*batch, k)
        self.__dict__[name] = matrix.expand(*batch, k, k)
        super().__init__(batch, (k,), validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        else:
            if name == "precision_matrix":  # Σ = P⁻¹, symmetrised against rounding
                cov = _linalg.solve(matrix, _identity_like(matrix), kind="general")
                matrix = (cov + cov.transpose(-2, -1)) * 0.5
            try:
                self._unbroadcasted_scale_tril = _linalg.cholesky(matrix)
            except np.linalg.LinAlgError:
                raise ValueError(f"{owner}: {name} is not positive definite (its Cholesky "
                                 "factorisation failed)") from None

    def __getattr__(self, name):  # the parameterisations not given, computed on first use
        if name in ("scale_tril", "covariance_matrix", "precision_matrix"):
            low = self.__dict__["_unbroadcasted_scale_tril"]
            shape = self._batch_shape + self._event_shape * 2
            if name == "scale_tril":
                value = low
            elif name == "covariance_matrix":
                value = low @ low.transpose(-2, -1)
            else:  # (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹
                inv = _linalg.solve(low, _identity_like(low), kind="lower")
                value = inv.transpose(-2, -1) @ inv
            self.__dict__[name] = value.expand(*shape)
            return self.__dict__[name]
        raise AttributeError(f"'MultivariateNormal' object has no attribute {name!r}")

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        low = self._unbroadcasted_scale_tril
        return (low ** 2).sum(-1).expand(*self._batch_shape, *self._event_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        eps = standard_normal(self._extended_shape(sample_shape), self.loc)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self) -> Tensor:
        return _diagonal(self._unbroadcasted_scale_tril).log().sum(-1)

    def log_prob(self, value) -> Tensor:
        value = as_param(value, self.loc, "value", "MultivariateNormal.log_prob")
        if self._validate_args:
            self._validate_sample(value)
        diff = (value - self.loc).unsqueeze(-1)
        white = _linalg.solve(self._unbroadcasted_scale_tril, diff, kind="lower")
        maha = (white ** 2).sum((-2, -1))
        k = self._event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + maha) - self._half_log_det()

    def entropy(self) -> Tensor:
        k = self._event_shape[0]
        h = 0.5 * k * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h.expand(*self._batch_shape) if self._batch_shape else h
