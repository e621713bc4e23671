"""Time one optimizer step on ~1M float32 parameters: fovea against PyTorch (CPU, single-tensor).

Run: ``PYTHONPATH=src python benchmarks/optim_step.py``
"""

from __future__ import annotations

import time

import numpy as np

import fovea
from fovea import optim
from fovea.nn import Parameter

SHAPES = [(512, 512), (512,), (512, 512), (512,), (512, 512), (512,), (1000, 512)]
CONFIGS = [
    ("SGD", dict(lr=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    ("Adagrad", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("Adam", dict(lr=1e-3)),
    ("AdamW", dict(lr=1e-3, amsgrad=True)),
]


def best_of(fn, repeats=20):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    n = sum(a.size for a in arrays)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    print(f"{n:,} float32 parameters in {len(SHAPES)} tensors; best of 20 steps, ms")
    print(f"{'optimizer':<76} {'fovea':>8} {'torch':>8}")
    for name, kw in CONFIGS:
        ps = [Parameter(a.copy()) for a in arrays]
        for p, g in zip(ps, grads):
            p.grad = fovea.tensor(g)
        opt = getattr(optim, name)(ps, **kw)
        mine = best_of(opt.step)
        theirs = float("nan")
        if torch is not None:
            tps = [torch.tensor(a, requires_grad=True) for a in arrays]
            for p, g in zip(tps, grads):
                p.grad = torch.tensor(g)
            topt = getattr(torch.optim, name)(tps, foreach=False, **kw)
            theirs = best_of(topt.step)
        print(f"{name + str(kw):<76} {mine:8.2f} {theirs:8.2f}")


if __name__ == "__main__":
    main()
