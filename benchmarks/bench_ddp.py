"""Data-parallel training throughput: ResNet-20 on CIFAR shapes, one process vs several.

Usage::

    python benchmarks/bench_ddp.py [--nproc 1,2] [--batch 128] [--steps 6] [--sync-bn]
                                   [--model resnet20]

For each process count N the script starts itself under ``mpiexec -n N`` with one BLAS
thread per process. Every process builds the same model (float32, (N_local, 3, 32, 32)
random images, 10 classes) and times full SGD steps (zero_grad, forward, cross-entropy,
backward with DistributedDataParallel's bucketed all-reduce, optimizer step) on its share
``--batch / N`` of the global batch: the median of ``--steps`` steps after two warm-ups.
It prints the global images/s, the speed-up over the first process count, and how much of
each step was spent waiting for all-reduces after backward (communication not hidden
behind the backward pass). ``--sync-bn`` converts batch norm to SyncBatchNorm.

With PyTorch installed, the same processes then time ``torch.nn.parallel.
DistributedDataParallel`` (gloo backend, 1 thread, the same ResNet-20 layout: 1x1-conv
shortcuts, batch norm) on the same shapes, after fovea (PyTorch's worker threads would
slow NumPy code that ran after them), and the table adds its images/s and fovea's step
time over PyTorch's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def worker(args) -> None:
    import fovea
    import fovea.distributed as dist
    from fovea import nn
    from fovea.models import build_model
    from fovea.nn.parallel import DistributedDataParallel

    dist.init_process_group("mpi")
    rank, p = dist.get_rank(), dist.get_world_size()
    local = args.batch // p
    fovea.manual_seed(0)
    model = build_model(args.model, 3, (32, 32), 10)
    if args.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = DistributedDataParallel(model)
    waited = [0.0]
    finish = ddp._finish

    def timed_finish():
        t0 = time.perf_counter()
        finish()
        waited[0] += time.perf_counter() - t0

    ddp._finish = timed_finish
    opt = fovea.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(rank)
    x = fovea.tensor(rng.standard_normal((local, 3, 32, 32)).astype(np.float32))
    y = fovea.tensor(rng.integers(0, 10, local))
    times, waits = [], []
    for step in range(args.steps + 2):
        dist.barrier()
        waited[0] = 0.0
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(ddp(x), y)
        loss.backward()
        opt.step()
        if step >= 2:
            times.append(time.perf_counter() - t0)
            waits.append(waited[0])
    step_s = max(float(np.median(times)), 1e-9)  # (every process's; rank 0 reports)
    torch_s = _torch_step(args, rank, p, local, dist.barrier)
    if rank == 0:
        params = sum(q.numel() for q in model.parameters())
        print(json.dumps({"nproc": p, "local_batch": local, "step_s": step_s,
                          "images_per_s": args.batch / step_s,
                          "wait_s": float(np.median(waits)), "buckets": len(ddp._buckets),
                          "params": params, "torch_step_s": torch_s}), flush=True)
    dist.destroy_process_group()


def _torch_resnet20(torch):
    """ResNet-20 for 32x32 images as fovea.models builds it (1x1-conv shortcuts)."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.short = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = torch.relu(self.b1(self.c1(x)))
            return torch.relu(self.b2(self.c2(y)) + self.short(x))

    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(3):
            layers.append(Block(cin, cout, stride if i == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def _torch_step(args, rank: int, p: int, local: int, barrier) -> float | None:
    """PyTorch DDP's median step time on the same shapes (None without PyTorch, or for a
    model other than resnet20)."""
    try:
        import torch
        import torch.distributed as tdist
    except ImportError:
        return None
    if args.model != "resnet20":
        return None
    torch.set_num_threads(1)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29534")
    tdist.init_process_group("gloo", rank=rank, world_size=p)
    torch.manual_seed(0)
    model = _torch_resnet20(torch)
    if args.sync_bn:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(rank)
    x = torch.randn(local, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (local,), generator=g)
    times = []
    for step in range(args.steps + 2):
        barrier()
        t0 = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(ddp(x), y).backward()
        opt.step()
        if step >= 2:
            times.append(time.perf_counter() - t0)
    tdist.destroy_process_group()
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nproc", default="1,2")
    ap.add_argument("--batch", type=int, default=128, help="the global batch")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--model", default="resnet20")
    ap.add_argument("--sync-bn", action="store_true")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    from fovea.distributed import launch

    results = []
    for n in (int(v) for v in args.nproc.split(",")):
        cmd = launch.mpiexec_command(n, [])[:3] + [
            sys.executable, os.path.abspath(__file__), "--worker", "--batch", str(args.batch),
            "--steps", str(args.steps), "--model", args.model] + (
            ["--sync-bn"] if args.sync_bn else [])
        env = launch.launch_environment(n)
        for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[v] = "1"
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode:
            sys.exit(out.stdout + out.stderr)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = results[0]["images_per_s"]
    print(f"{args.model}, global batch {args.batch}, 1 thread per process, median of "
          f"{args.steps} steps{' (SyncBatchNorm)' if args.sync_bn else ''}")
    print(f"{'procs':>5} {'local':>5} {'step s':>7} {'img/s':>7} {'speed-up':>8} "
          f"{'wait ms':>8} {'buckets':>7} {'torch img/s':>11} {'torch x':>8} "
          f"{'fovea/torch':>11}")
    tbase = results[0].get("torch_step_s")
    for r in results:
        ts = r.get("torch_step_s")
        torch_cols = (f"{args.batch / ts:11.1f} {tbase / ts:8.2f} {r['step_s'] / ts:11.2f}"
                      if ts else f"{'-':>11} {'-':>8} {'-':>11}")
        print(f"{r['nproc']:5d} {r['local_batch']:5d} {r['step_s']:7.3f} "
              f"{r['images_per_s']:7.1f} {r['images_per_s'] / base:8.2f} "
              f"{r['wait_s'] * 1e3:8.1f} {r['buckets']:7d} {torch_cols}")


if __name__ == "__main__":
    main()
