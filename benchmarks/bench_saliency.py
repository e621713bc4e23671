"""Saliency (the input gradient of the class scores) for a batch through ResNet-20: fovea vs
PyTorch, and against one training step.

Usage::

    python benchmarks/bench_saliency.py [--batch 64] [--repeat 5] [--rounds 2] [--threads 2]

Each library runs in its own process (fovea's never imports torch; PyTorch's spinning
OpenMP threads would slow NumPy in the same process), alternating for ``--rounds`` rounds
so both see the same machine load. Times are medians of ``--repeat`` runs after a warm-up,
on the same architecture (CIFAR ResNet-20, option-A shortcuts, eval mode for saliency),
the same float32 (N, 3, 32, 32) input and ``--threads`` threads. Printed: fovea's
saliency, PyTorch's saliency, their ratio, and fovea's saliency over fovea's training
step (forward + backward of the loss with parameter gradients, train mode).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def _median_time(fn, repeat: int) -> float:
    fn()  # warm-up: plans, caches, allocations
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _fovea(batch: int, repeat: int) -> dict:
    import numpy as np

    import fovea
    from fovea import viz
    from fovea.models import resnet20
    from fovea.nn import functional as F

    model = resnet20()
    x = np.random.default_rng(0).standard_normal((batch, 3, 32, 32)).astype(np.float32)
    y = fovea.tensor(np.arange(batch) % 10)

    def step():
        model.train()
        for p in model.parameters():
            p.grad = None
        F.cross_entropy(model(fovea.tensor(x)), y).backward()

    model.eval()
    sal = _median_time(lambda: viz.saliency(model, x), repeat)
    return {"saliency": sal, "train_step": _median_time(step, repeat)}


def _torch(batch: int, repeat: int, threads: int) -> dict:
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(threads)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.pad = cout - cin if (stride != 1 or cin != cout) else 0
            self.stride = stride

        def forward(self, x):
            out = torch.relu(self.b1(self.c1(x)))
            out = self.b2(self.c2(out))
            sc = x
            if self.pad or self.stride != 1:  # option A: subsample and zero-pad channels
                sc = nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad // 2,
                                                            self.pad - self.pad // 2))
            return torch.relu(out + sc)

    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(3):
            layers.append(Block(cin, cout, stride if i == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    model = nn.Sequential(*layers).eval()
    x = torch.tensor(np.random.default_rng(0).standard_normal((batch, 3, 32, 32)),
                     dtype=torch.float32)

    def saliency():
        xt = x.clone().requires_grad_(True)
        s = model(xt)
        (g,) = torch.autograd.grad(s.gather(1, s.argmax(1, keepdim=True)).sum(), xt)
        return g.abs().amax(1)

    return {"saliency": _median_time(saliency, repeat)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--worker", choices=("fovea", "torch"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker == "fovea":
        print(json.dumps(_fovea(a.batch, a.repeat)))
        return
    if a.worker == "torch":
        print(json.dumps(_torch(a.batch, a.repeat, a.threads)))
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads))
    runs: dict[str, list[dict]] = {"fovea": [], "torch": []}
    for _ in range(a.rounds):
        for lib in ("fovea", "torch"):
            out = subprocess.run([sys.executable, __file__, "--worker", lib, "--batch",
                                  str(a.batch), "--repeat", str(a.repeat), "--threads",
                                  str(a.threads)], env=env, capture_output=True, text=True,
                                 check=True).stdout
            runs[lib].append(json.loads(out.strip().splitlines()[-1]))
    med = {lib: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
           for lib, rs in runs.items()}
    fv, th = med["fovea"], med["torch"]
    print(f"ResNet-20, batch {a.batch}, {a.threads} threads, median of {a.rounds} rounds x "
          f"{a.repeat} repeats")
    print(f"  saliency  fovea {fv['saliency'] * 1e3:8.1f} ms   PyTorch {th['saliency'] * 1e3:8.1f}"
          f" ms   fovea/PyTorch {fv['saliency'] / th['saliency']:.2f}x")
    print(f"  fovea training step {fv['train_step'] * 1e3:8.1f} ms   saliency/step "
          f"{fv['saliency'] / fv['train_step']:.2f}")


if __name__ == "__main__":
    main()
