"""Traced vs eager fovea vs PyTorch: training steps, and peak memory of ResNet-20's step.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_jit.py [--repeat 15] [--quick] [--memory]
        [--models mlp,three_layer_convnet] [--no-torch] [--cpu-time]

For each model of :mod:`fovea.bench.cases` (the MLP 3072-100-10 at batch 128, the three-layer
ConvNet at batch 64, ResNet-20 at batch 128; ``--quick``: their small batches) it builds
three steps on the same data and weights: eager fovea (``zero_grad``, ``cross_entropy``,
``backward``, SGD with momentum), the same step traced once with
``fovea.jit.trace_train_step``, and PyTorch's eager step. The steps run interleaved (eager,
traced, torch, eager, ...) so all three see the same machine load; the table gives medians
and the ratios eager/traced and traced/torch (``--cpu-time``: the process's CPU time
instead of wall time, steadier on a loaded machine). One thread each (``OPENBLAS_NUM_THREADS=1``,
``torch.set_num_threads(1)``). ``--memory`` adds the peak resident memory of ResNet-20's
eager and traced steps, each in a fresh process (:mod:`fovea.bench.memory`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _steps(name: str, quick: bool, with_torch: bool) -> dict:
    from fovea.bench import cases as C

    batch, quick_batch, (c, h, w), _ = C.MODEL_SPECS[name]
    x, y = C._images(name, quick_batch if quick else batch, c, h, w)
    steps = {"eager": C.fovea_train_step(C.build_fovea_model(name), x, y),
             "traced": C.fovea_traced_train_step(C.build_fovea_model(name), x, y)}
    if with_torch:
        steps["torch"] = C.torch_train_step(C.build_torch_twin(name, C.build_fovea_model(name)),
                                            x, y)
    return steps


clock = time.perf_counter


def time_model(name: str, repeat: int, quick: bool, with_torch: bool) -> dict:
    steps = _steps(name, quick, with_torch)
    for fn in steps.values():  # warm-up: kernels chosen, optimizer state made
        fn()
        fn()
    times = {k: [] for k in steps}
    for _ in range(repeat):
        for k, fn in steps.items():
            t0 = clock()
            fn()
            times[k].append(clock() - t0)
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--models", default="mlp,three_layer_convnet")
    ap.add_argument("--quick", action="store_true", help="the cases' small batches")
    ap.add_argument("--memory", action="store_true", help="peak memory of ResNet-20's step")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time the process's CPU time instead of wall time (a loaded machine)")
    args = ap.parse_args(argv)
    global clock
    if args.cpu_time:
        clock = time.process_time
    with_torch = not args.no_torch
    if with_torch:
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            with_torch = False
    print(f"load average {os.getloadavg()[0]:.2f}; medians of {args.repeat} steps, 1 thread"
          + (", quick batches" if args.quick else "")
          + (", CPU time" if args.cpu_time else ", wall time"))
    print(f"{'model':22s} {'eager ms':>9s} {'traced ms':>10s} {'torch ms':>9s} "
          f"{'eager/traced':>13s} {'traced/torch':>13s}")
    for name in args.models.split(","):
        r = time_model(name, args.repeat, args.quick, with_torch)
        t = r.get("torch")
        print(f"{name:22s} {r['eager']:9.2f} {r['traced']:10.2f} "
              f"{t if t else float('nan'):9.2f} {r['eager'] / r['traced']:13.2f} "
              f"{(r['traced'] / t) if t else float('nan'):13.2f}", flush=True)
    if args.memory:
        from fovea.bench import memory

        for case in ("resnet20", "resnet20_traced"):
            m = memory.measure(case, "fovea", 1, quick=args.quick)
            print(f"peak memory of the {case} step: {m.get('peak_mib') or float('nan'):.1f} MiB"
                  + (f" ({m['error']})" if m.get("error") else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
