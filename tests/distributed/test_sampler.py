"""DistributedSampler against PyTorch's (num_replicas and rank given: no MPI needed).

PyTorch's shuffled order comes from its own generator; to compare index lists exactly the
oracle's ``torch.randperm`` is replaced by fovea's permutation of the same seed, so that
what is compared is the sharding rule (padding, drop_last, strides, set_epoch's seed)."""

import math

import numpy as np
import pytest

import fovea
from fovea.utils.data import DataLoader, DistributedSampler, TensorDataset
from oracle import needs_torch, torch

CASES = [(n, k, drop, shuffle) for n in (0, 1, 7, 10, 12) for k in (1, 2, 3, 4)
         for drop in (False, True) for shuffle in (False, True)]


def _fovea_perm(seed: int, n: int):
    return fovea.Generator().manual_seed(seed).permutation(n)


@needs_torch
@pytest.mark.parametrize("n,k,drop,shuffle", CASES)
def test_index_lists_equal_pytorchs(monkeypatch, n, k, drop, shuffle):
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    def randperm(m, generator=None):
        return torch.tensor(_fovea_perm(generator.initial_seed(), m), dtype=torch.int64)

    monkeypatch.setattr(torch, "randperm", randperm)
    data = list(range(n))
    for epoch in (0, 3):
        for rank in range(k):
            ours = DistributedSampler(data, num_replicas=k, rank=rank, shuffle=shuffle,
                                      seed=5, drop_last=drop)
            theirs = TorchSampler(data, num_replicas=k, rank=rank, shuffle=shuffle, seed=5,
                                  drop_last=drop)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert len(ours) == len(theirs)
            assert list(ours) == list(theirs)


@pytest.mark.parametrize("n,k,drop", [(10, 3, False), (10, 3, True), (12, 4, False)])
def test_shards_by_hand(n, k, drop):
    # The worked rule: pad with the first indices (or cut) to a multiple of k, take every k-th.
    perm = _fovea_perm(2 + 1, n)
    total = k * (math.ceil((n - k) / k) if drop and n % k else math.ceil(n / k))
    full = list(perm) + list(perm)[:max(0, total - n)]
    shards = []
    for rank in range(k):
        s = DistributedSampler(range(n), num_replicas=k, rank=rank, seed=2, drop_last=drop)
        s.set_epoch(1)
        assert list(s) == full[:total][rank::k]
        shards.append(list(s))
    if drop or n % k == 0:  # disjoint
        assert len(set(sum(shards, []))) == sum(map(len, shards))
    else:  # together they cover everything
        assert set(sum(shards, [])) == set(range(n))


def test_epochs_reshuffle_the_same_way_everywhere():
    a = DistributedSampler(range(50), num_replicas=2, rank=0, seed=1)
    b = DistributedSampler(range(50), num_replicas=2, rank=1, seed=1)
    first = list(a)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) != first
    assert sorted(list(a) + list(b)) == list(range(50))
    assert list(DistributedSampler(range(5), 2, 1, shuffle=False)) == [1, 3, 0]


def test_with_a_dataloader():
    ds = TensorDataset(fovea.arange(10))
    s = DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False)
    batches = [b[0].numpy().tolist() for b in DataLoader(ds, batch_size=2, sampler=s)]
    assert batches == [[1, 3], [5, 7], [9]]


def test_errors():
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
    import fovea.distributed as dist

    if not dist.is_initialized():
        with pytest.raises(RuntimeError, match="process group"):
            DistributedSampler(range(4))
    assert np.asarray(DistributedSampler(range(4), 2, 0).indices()).dtype == np.int64
