"""``torch.distributed`` for fovea, over MPI: processes started by ``mpiexec`` join one group
and combine tensors with collectives (see docs/distributed.md).

    import fovea.distributed as dist
    dist.init_process_group("mpi")
    t = fovea.tensor([float(dist.get_rank())])
    dist.all_reduce(t)                    # every process: 0 + 1 + ... + (N - 1)

Layers built on it: ``fovea.nn.parallel.DistributedDataParallel``, ``fovea.nn.SyncBatchNorm``;
data: ``fovea.utils.data.DistributedSampler``.
"""

from fovea.distributed.collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_gather_object,
    all_reduce,
    broadcast,
    broadcast_object_list,
)
from fovea.distributed.process_group import (
    DistributedError,
    barrier,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
)

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available",
           "is_mpi_available", "get_rank", "get_world_size", "get_backend", "barrier",
           "all_reduce", "broadcast", "all_gather", "broadcast_object_list",
           "all_gather_object", "ReduceOp", "Work", "DistributedError"]
