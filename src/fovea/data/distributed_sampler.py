"""``DistributedSampler``: each process of a data-parallel job gets its own shard of the
data set (``torch.utils.data.distributed.DistributedSampler``'s semantics)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from fovea.data.sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """The indices of shard ``rank`` of ``num_replicas``: disjoint shards of equal length.

    The ``len(dataset)`` indices (a permutation drawn from seed ``seed + epoch`` when
    ``shuffle``, else in order) are padded by repeating the first ones up to a multiple of
    ``num_replicas`` (or cut to one with ``drop_last``), and process ``rank`` takes every
    ``num_replicas``-th of them starting at ``rank``. Every process must call
    ``set_epoch(e)`` before each epoch to get a new order (the same one on every process).

    Args:
        dataset: anything with ``len``.
        num_replicas: the number of processes (default: ``fovea.distributed``'s world size).
        rank: this process's shard (default: its rank).
        shuffle: permute the indices (per epoch).
        seed: the shuffle's seed; the same on every process.
        drop_last: drop the tail instead of padding, so that no example is seen twice.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            from fovea import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas and rank are needed when "
                                   "the default process group is not initialized")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if int(num_replicas) < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be >= 1, got {num_replicas}")
        if not 0 <= int(rank) < int(num_replicas):
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {int(num_replicas) - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, bool(drop_last), shuffle, seed
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def indices(self) -> np.ndarray:
        """This shard's indices for the current epoch: int64 (num_samples,)."""
        from fovea.random import Generator

        n = len(self.dataset)
        if self.shuffle:
            order = Generator().manual_seed(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        order = order.astype(np.int64)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:
                order = np.concatenate([order, np.resize(order, pad)])  # repeats the start
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch ``epoch`` (call it on every process before each epoch)."""
        self.epoch = int(epoch)
