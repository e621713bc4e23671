"""The processes of the distributed tests (run under mpiexec by test_*.py; not a test).

Each case checks its results itself against an oracle every process can compute locally
(NumPy, or fovea's single-process layers on the whole batch) and exits non-zero on a
mismatch, printing ``OK <case> rank <r>`` on success.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

import fovea
import fovea.distributed as dist
from fovea import nn
from fovea.nn.parallel import DistributedDataParallel as DDP


def collectives(rank: int, size: int) -> None:
    """all_reduce (every op), broadcast, all_gather, objects and barrier against NumPy."""
    data = [np.random.default_rng(r).standard_normal((3, 4)) for r in range(size)]
    ops = {dist.ReduceOp.SUM: np.sum, dist.ReduceOp.AVG: np.mean,
           dist.ReduceOp.MAX: np.max, dist.ReduceOp.MIN: np.min,
           dist.ReduceOp.PRODUCT: np.prod}
    for op, ref in ops.items():
        t = fovea.tensor(data[rank].copy())
        version = t._version[0]
        dist.all_reduce(t, op=op)
        np.testing.assert_allclose(t.numpy(), ref(np.stack(data), axis=0), rtol=1e-14)
        assert t._version[0] == version + 1
    # float32, integers, float16 (staged as float32), a non-contiguous view, async
    t = fovea.tensor(data[rank].astype(np.float32))
    dist.all_reduce(t)
    assert t.dtype == fovea.float32
    np.testing.assert_allclose(t.numpy(), np.sum(np.stack(data), 0).astype(np.float32),
                               rtol=1e-5)
    t = fovea.tensor(np.arange(6) * (rank + 1))
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    assert t.dtype == fovea.int64 and (t.numpy() == np.arange(6) * size).all()
    t = fovea.tensor(np.full(5, rank + 1.0, dtype=np.float16))
    dist.all_reduce(t)
    assert t.dtype == fovea.float16 and (t.numpy() == size * (size + 1) / 2).all()
    base = fovea.tensor(data[rank].copy())
    view = base.t()
    work = dist.all_reduce(view, async_op=True)
    assert isinstance(work, dist.Work)
    work.wait()
    assert work.is_completed()
    np.testing.assert_allclose(base.numpy(), np.sum(np.stack(data), 0), rtol=1e-14)
    # broadcast from the last rank
    t = fovea.tensor(data[rank].copy())
    dist.broadcast(t, src=size - 1)
    np.testing.assert_array_equal(t.numpy(), data[size - 1])
    # all_gather
    out = [fovea.zeros(3, 4, dtype=fovea.float64) for _ in range(size)]
    dist.all_gather(out, fovea.tensor(data[rank]))
    for r in range(size):
        np.testing.assert_array_equal(out[r].numpy(), data[r])
    objs = [{"rank": rank}] if rank == 0 else [None]
    dist.broadcast_object_list(objs)
    assert objs == [{"rank": 0}]
    gathered = [None] * size
    dist.all_gather_object(gathered, ("r", rank, "x" * rank))
    assert gathered == [("r", r, "x" * r) for r in range(size)]
    dist.barrier()
    try:
        dist.all_reduce(fovea.tensor([1, 2]), op=dist.ReduceOp.AVG)
    except ValueError as exc:
        assert "AVG" in str(exc)
    else:
        raise AssertionError("AVG on integers was not refused")


class Net(nn.Module):
    """conv → BatchNorm → ReLU → linear: the gradient-equality model."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 5 * 5, 3)

    def forward(self, x):
        return self.fc(nn.functional.relu(self.bn(self.conv(x))).flatten(1))


def gradients(rank: int, size: int, bucket_mb: str = "25") -> None:
    """DDP + SyncBatchNorm on shards == one process on the concatenated batch (float64)."""
    fovea.set_default_dtype(fovea.float64)
    per = 3
    rng = np.random.default_rng(0)
    # shards with different means: SyncBatchNorm must combine the processes' moments
    x = rng.standard_normal((per * size, 2, 5, 5)) + np.arange(per * size)[:, None, None, None]
    y = rng.integers(0, 3, per * size)
    fovea.manual_seed(rank)  # different initial weights: DDP must broadcast rank 0's
    model = nn.SyncBatchNorm.convert_sync_batchnorm(Net())
    assert isinstance(model.bn, nn.SyncBatchNorm)
    ddp = DDP(model, bucket_cap_mb=float(bucket_mb))
    assert len(ddp._buckets) >= (2 if float(bucket_mb) < 0.001 else 1)
    assert list(ddp.state_dict())[0].startswith("module.")
    # the reference: rank 0's initial weights, plain BatchNorm2d, the whole batch
    ref = Net()
    ref.load_state_dict(model.state_dict())
    local = slice(rank * per, (rank + 1) * per)
    # Overlap: with several buckets, the first all-reduce starts while backward has not yet
    # produced the gradients of the first layers (their .grad is still None then).
    missing_at_start = []
    start = ddp._start

    def recording_start(bucket):
        missing_at_start.append(sum(p.grad is None for p in model.parameters()))
        start(bucket)

    ddp._start = recording_start
    for _step in range(2):  # two steps: the second checks the state was reset
        for m in (ddp, ref):
            m.zero_grad()
        loss = nn.functional.cross_entropy(ddp(fovea.tensor(x[local])), fovea.tensor(y[local]))
        loss.backward()
        ref_loss = nn.functional.cross_entropy(ref(fovea.tensor(x)), fovea.tensor(y))
        ref_loss.backward()
        for (name, p), q in zip(model.named_parameters(), ref.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=1e-12,
                                       err_msg=name)
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(getattr(model.bn, name).numpy(),
                                       getattr(ref.bn, name).numpy(), rtol=0, atol=1e-12)
        if len(ddp._buckets) > 1 and _step == 0:
            assert missing_at_start[0] > 0, missing_at_start
            assert len(missing_at_start) == len(ddp._buckets)
        with fovea.no_grad():
            for p, q in zip(model.parameters(), ref.parameters()):
                p -= 0.1 * p.grad
                q -= 0.1 * q.grad
    # no_sync: two local backwards accumulate, the third (synced) averages the sum
    for m in (ddp, ref):
        m.zero_grad()
    with ddp.no_sync():
        nn.functional.cross_entropy(ddp(fovea.tensor(x[local])), fovea.tensor(y[local])).backward()
    nn.functional.cross_entropy(ddp(fovea.tensor(x[local])), fovea.tensor(y[local])).backward()
    for _ in range(2):
        nn.functional.cross_entropy(ref(fovea.tensor(x)), fovea.tensor(y)).backward()
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=1e-12)


def local_bn(rank: int, size: int) -> None:
    """``fovea train --no-sync-bn`` (World.wrap(model, sync_bn=False)): each process
    normalises with its own shard's statistics; the gradients are the mean of what each
    process would compute alone on its shard, and every forward starts from rank 0's running
    statistics (float64, two steps)."""
    from fovea.train.distributed_run import World

    fovea.set_default_dtype(fovea.float64)
    per = 3
    rng = np.random.default_rng(0)
    x = rng.standard_normal((per * size, 2, 5, 5)) + np.arange(per * size)[:, None, None, None]
    y = rng.integers(0, 3, per * size)
    fovea.manual_seed(rank)
    world = World(rank, size)
    model = world.wrap(Net(), sync_bn=False)
    assert type(model.bn) is nn.BatchNorm2d
    refs = [Net() for _ in range(size)]  # one plain replica per shard, rank 0's weights
    for ref in refs:
        ref.load_state_dict(model.state_dict())
    for _step in range(2):
        model.zero_grad()
        xs = [fovea.tensor(x[r * per:(r + 1) * per]) for r in range(size)]
        ys = [fovea.tensor(y[r * per:(r + 1) * per]) for r in range(size)]
        nn.functional.cross_entropy(model(xs[rank]), ys[rank]).backward()
        # every replica starts the step from rank 0's running statistics
        start = {k: v.numpy().copy() for k, v in refs[0].bn.state_dict().items()}
        for ref in refs:
            ref.zero_grad()
            ref.bn.load_state_dict({k: fovea.tensor(v) for k, v in start.items()})
        for r, ref in enumerate(refs):
            nn.functional.cross_entropy(ref(xs[r]), ys[r]).backward()
        for (name, p), *qs in zip(model.named_parameters(), *(r.parameters() for r in refs)):
            want = np.mean([q.grad.numpy() for q in qs], axis=0)
            np.testing.assert_allclose(p.grad.numpy(), want, rtol=0, atol=1e-12, err_msg=name)
        # this process's running statistics: rank 0's before the step, then its own shard's
        np.testing.assert_allclose(model.bn.running_mean.numpy(),
                                   refs[rank].bn.running_mean.numpy(), rtol=0, atol=1e-12)
        if size > 1 and rank == 1:
            assert not np.allclose(model.bn.running_mean.numpy(),
                                   refs[0].bn.running_mean.numpy())  # the shards differ
        with fovea.no_grad():
            for p, *qs in zip(model.parameters(), *(r.parameters() for r in refs)):
                p -= 0.1 * p.grad
                for q in qs:
                    q -= 0.1 * p.grad
    # evaluation forwards do not synchronise (rank 0 evaluates the test set alone) ...
    model.eval()
    if rank == 0:
        model(fovea.tensor(x[:1]))
    # ... World.accuracy does, first: every process then holds rank 0's buffers
    xs_, ys_ = world.shard(x, y)
    world.accuracy(model, [(fovea.tensor(xs_), fovea.tensor(ys_))])  # one float64 batch
    np.testing.assert_allclose(model.bn.running_var.numpy(), refs[0].bn.running_var.numpy(),
                               rtol=0, atol=1e-12)


def sharded_accuracy(rank: int, size: int) -> None:
    """World.accuracy over World.shard's shares == accuracy over the whole set, on every
    process (an odd set size: the shares differ in length)."""
    from fovea.data import ArrayDataset, DataLoader
    from fovea.train.distributed_run import World
    from fovea.train.trainer import accuracy

    fovea.manual_seed(0)  # the same weights everywhere
    model = Net()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((37, 2, 5, 5)).astype(np.float32)
    y = rng.integers(0, 3, 37)
    world = World(rank, size)
    xs, ys = world.shard(x, y)
    assert len(ys) in (37 // size, 37 // size + 1)
    got, pred, labels = world.accuracy(model, DataLoader(ArrayDataset(xs, ys), batch_size=8))
    want, all_pred, _ = accuracy(model, DataLoader(ArrayDataset(x, y), batch_size=8))
    assert got == want, (got, want)
    np.testing.assert_array_equal(pred, all_pred[rank::size])
    assert 0 < want < 1  # some right, some wrong: a wrong count would show


def unused(rank: int, size: int) -> None:
    """find_unused_parameters: a branch used only on rank 0 still reduces correctly."""
    fovea.set_default_dtype(fovea.float64)
    fovea.manual_seed(0)
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    model = nn.ModuleList([a, b])
    ddp = DDP(model, find_unused_parameters=True)
    x = fovea.tensor(np.full((2, 3), rank + 1.0))
    out = a(x).sum() + (b(x).sum() if rank == 0 else 0)
    ddp._mark_unused(out)  # (ModuleList has no forward: mark as DDP's forward does)
    out.backward()
    # a: every rank used it: mean of 2·(r + 1) per weight entry; b: only rank 0 (2·1 / size)
    np.testing.assert_allclose(a.weight.grad.numpy(),
                               np.full((2, 3), 2 * np.mean(np.arange(1, size + 1))))
    np.testing.assert_allclose(b.weight.grad.numpy(), np.full((2, 3), 2.0 / size))


def die(rank: int, size: int) -> None:
    """Rank 1 dies in the middle of the job; the others are in a collective."""
    if rank == 1:
        os._exit(3)
    dist.all_reduce(fovea.ones(4))
    print("UNREACHABLE", flush=True)


def silent(rank: int, size: int) -> None:
    """Rank 1 never joins the collective: the others time out with a clear error."""
    if rank == 1:
        time.sleep(20)
        return
    dist.all_reduce(fovea.ones(4))
    print("UNREACHABLE", flush=True)


CASES = {"collectives": collectives, "gradients": gradients, "unused": unused, "die": die,
         "silent": silent, "local_bn": local_bn, "sharded_accuracy": sharded_accuracy}

if __name__ == "__main__":
    dist.init_process_group("mpi")
    r, n = dist.get_rank(), dist.get_world_size()
    CASES[sys.argv[1]](r, n, *sys.argv[2:])
    print(f"OK {sys.argv[1]} rank {r}", flush=True)
    dist.barrier()
    dist.destroy_process_group()
