"""``torch.nn.parallel``: :class:`DistributedDataParallel` (data parallelism over MPI)."""

from fovea.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
