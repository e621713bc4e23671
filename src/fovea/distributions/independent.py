"""``Independent``: reinterpret batch dimensions of a distribution as event dimensions."""

from __future__ import annotations

from fovea.distributions import constraints
from fovea.distributions.distribution import Distribution
from fovea.distributions.utils import sum_rightmost
from fovea.tensor import Tensor


class Independent(Distribution):
    r"""The product of a distribution's rightmost ``reinterpreted_batch_ndims`` batch
    dimensions: they become part of one event, so ``log_prob`` and ``entropy`` sum over them.

    ``Independent(Normal(loc, scale), 1)`` with ``loc`` of shape ``(B, D)`` is a batch of
    ``B`` diagonal Gaussians of dimension ``D`` (``batch_shape (B,)``, ``event_shape (D,)``)
    with the log-density of a ``MultivariateNormal`` with covariance ``diag(scale²)``.

    Args:
        base_distribution: the distribution whose batch dimensions are reinterpreted.
        reinterpreted_batch_ndims: how many rightmost batch dimensions join the event.
        validate_args: as for the base distribution.
    """

    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, reinterpreted_batch_ndims: int,
                 validate_args: bool | None = None):
        if not isinstance(base_distribution, Distribution):
            raise TypeError("Independent: base_distribution must be a Distribution, got "
                            f"{type(base_distribution).__name__}")
        n = reinterpreted_batch_ndims
        batch = base_distribution.batch_shape
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= len(batch):
            raise ValueError(f"Independent: reinterpreted_batch_ndims must be an integer in "
                             f"[0, {len(batch)}] (the base's batch dimensions {batch}), got "
                             f"{n!r}")
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = n
        split = len(batch) - n
        super().__init__(batch[:split], batch[split:] + base_distribution.event_shape,
                         validate_args)

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self) -> bool:  # type: ignore[override]
        return False

    @property
    def support(self) -> constraints.Constraint:
        base = self.base_dist.support
        return constraints.independent(base, self.reinterpreted_batch_ndims) if base else None

    @property
    def mean(self) -> Tensor:
        return self.base_dist.mean

    @property
    def mode(self) -> Tensor:
        return self.base_dist.mode

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    @property
    def stddev(self) -> Tensor:
        return self.base_dist.stddev

    def sample(self, sample_shape=()) -> Tensor:
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value) -> Tensor:
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self) -> Tensor:
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
