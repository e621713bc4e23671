"""What ``fovea train`` does differently when it is one process of an MPI launch.

Every process runs the same ``train()``: the same data splits, the same model (rank 0's
initial weights broadcast), its own shard of each epoch (``DistributedSampler``, the
``--batch-size`` divided among the processes: it is the *global* batch), batch norm as
``SyncBatchNorm`` (or, with ``--no-sync-bn``, each process's own batch statistics and rank
0's running statistics) and gradients averaged by ``DistributedDataParallel``'s hooks, so the
replicas stay identical and every process takes the same decisions (best epoch, early
stopping). Only rank 0 writes: the run directory, checkpoints, run.json, metrics, the
report, TensorBoard, logs and progress bars. Resuming needs the run directory readable by
every process (a shared file system on a cluster) and works with another process count,
since the checkpoint holds the global state and the batch size is global.
"""

from __future__ import annotations

from dataclasses import dataclass

from fovea.distributed import _mpi
from fovea.nn.parallel.distributed import broadcast_from_rank_0


@dataclass
class World:
    """This process's place in the launch (rank 0 of 1 outside MPI)."""

    rank: int = 0
    size: int = 1
    ddp: object = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, model, sync_bn: bool = True):
        """SyncBatchNorm for every batch norm (``sync_bn``), and DDP's gradient averaging
        attached to the model's parameters; returns the model itself (whose ``state_dict``
        keys stay those of a single-process run: checkpoints do not depend on the process
        count).

        ``sync_bn=False`` keeps each process's batch statistics (PyTorch DDP's default, and
        no collective per layer); rank 0's buffers (running statistics) are then copied to
        every process before each training forward, as DDP's ``broadcast_buffers`` does, and
        before each :meth:`accuracy`, so that the replicas evaluate alike and take the same
        decisions, and a resumed run (whose processes all read rank 0's checkpoint)
        continues as the uninterrupted one. Evaluation forwards do not synchronise: rank 0
        evaluates the test set alone."""
        if self.size == 1:
            return model
        from fovea import nn
        from fovea.nn.parallel import DistributedDataParallel

        if sync_bn:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        else:
            # a plain function, not a method: AveragedModel (--ema) deep-copies the hooks
            model.register_forward_pre_hook(_buffers_from_rank_0_in_training)
        # Forward runs through the model itself: the averaging happens in the parameters'
        # post-accumulate hooks, and SyncBatchNorm (or the hook above) keeps the buffers
        # equal everywhere; ``broadcast_buffers`` records which (read by :meth:`accuracy`).
        self.ddp = DistributedDataParallel(model, broadcast_buffers=not sync_bn)
        return model

    def shard(self, x, y):
        """This process's share of an evaluation set (every ``size``-th example from
        ``rank``): the shares are disjoint and cover the set, with no padding."""
        if self.size == 1:
            return x, y
        return x[self.rank::self.size], y[self.rank::self.size]

    def accuracy(self, model, loader, tta: str = "none"):
        """:func:`fovea.train.trainer.accuracy` over every process's shard (``loader``
        holds this process's, from :meth:`shard`): the correct and total counts are summed
        over the processes, so each gets the accuracy of the whole set. Predictions and
        labels returned are this process's."""
        from fovea.train.trainer import accuracy

        if self.ddp is not None and self.ddp.broadcast_buffers:
            broadcast_from_rank_0(self.ddp.module.buffers())
        acc, pred, labels = accuracy(model, loader, tta)
        if self.size == 1:
            return acc, pred, labels
        import numpy as np

        import fovea
        from fovea import distributed as dist

        counts = fovea.tensor(np.array([(pred == labels).sum(), len(labels)], dtype=np.float64))
        dist.all_reduce(counts)
        right, total = counts.numpy()
        return (float(right / total) if total else 0.0), pred, labels

    def local_batch(self, batch_size: int) -> int:
        if batch_size % self.size:
            raise ValueError(f"train: invalid --batch-size {batch_size}: it is the global "
                             f"batch, so it must be divisible by the {self.size} processes")
        return batch_size // self.size

    def share(self, value):
        """Rank 0's ``value`` (a picklable object) on every process."""
        if self.size == 1:
            return value
        from fovea import distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.size > 1:
            from fovea import distributed as dist

            dist.barrier()

    def abort(self, code: int) -> None:
        """Stop every process of the launch (after rank ``rank`` failed)."""
        if self.size > 1:
            from fovea.distributed.process_group import _group

            if _group.comm is not None:
                _group.comm.Abort(int(code) or 1)


def _buffers_from_rank_0_in_training(module, inputs) -> None:
    """Forward pre-hook: in training mode, ``module``'s buffers become rank 0's."""
    if module.training:
        broadcast_from_rank_0(module.buffers())


def world() -> World:
    """Join the process group when launched by MPI with several processes."""
    if _mpi.launched_world_size() <= 1:
        return World()
    from fovea import distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("mpi")
    return World(dist.get_rank(), dist.get_world_size())
