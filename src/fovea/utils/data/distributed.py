"""``torch.utils.data.distributed``'s import path for :class:`DistributedSampler`."""

from fovea.data.distributed_sampler import DistributedSampler

__all__ = ["DistributedSampler"]
