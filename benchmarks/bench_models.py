"""fovea vs PyTorch: a training step of the zoo's models on the CPU.

Usage::

    python benchmarks/bench_models.py [--repeat 3] [--rounds 2] [--threads 2] [--only NAME]
                                      [--batch 32]

A step is forward + cross-entropy + backward (no optimizer update) in training mode, float32
NCHW, on the same random images and labels for both libraries:

* ``resnet18``: batch 32, 3×64×64, 1000 classes (torchvision's network);
* ``mobilenet_v2``: batch 32, 3×64×64 (depthwise convolutions);
* ``densenet_bc_100``: batch 32, 3×32×32 (CIFAR DenseNet-BC, k = 12: concatenations).

As ``bench_conv.py``, each library runs in its own process (fovea's never imports torch) and
the two alternate for ``--rounds`` rounds, ``--repeat`` timed steps each after a warm-up;
both get ``--threads`` threads. PyTorch's models are the twins of
``tests/models/torch_zoo.py`` (torchvision's architecture rebuilt in torch.nn).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = [  # name, input shape (without the batch), classes
    ("resnet18", (3, 64, 64), 1000),
    ("mobilenet_v2", (3, 64, 64), 1000),
    ("densenet_bc_100", (3, 32, 32), 10),
]


def _torch_model(name: str, classes: int):
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "models"))
    import torch_zoo

    if name == "resnet18":
        return torch_zoo.ResNet(torch_zoo.BasicBlock, [2, 2, 2, 2], classes)
    if name == "mobilenet_v2":
        return torch_zoo.MobileNetV2(classes)
    return torch_zoo.DenseNet(12, (16, 16, 16), 24, num_classes=classes, cifar=True)


def _worker(args) -> None:
    import numpy as np

    if args.worker == "torch":
        import torch

        torch.set_num_threads(args.threads)
        lib, F = torch, torch.nn.functional
    else:
        import fovea
        from fovea.models import get_model

        lib, F = fovea, fovea.nn.functional
    out = {}
    for name, shape, classes in CASES:
        if args.only not in name:
            continue
        rng = np.random.default_rng(0)
        x = lib.tensor(rng.standard_normal((args.batch, *shape), dtype=np.float32))
        y = lib.tensor(rng.integers(0, classes, args.batch))
        model = _torch_model(name, classes) if args.worker == "torch" else \
            get_model(name, num_classes=classes)
        model.train()

        def step(model=model, x=x, y=y):
            F.cross_entropy(model(x), y).backward()
            model.zero_grad()

        step()  # warm up (plans, caches)
        times = []
        for _ in range(max(args.repeat, 1)):
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
        out[name] = times
    print(json.dumps(out))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="timed steps per model and round")
    p.add_argument("--rounds", type=int, default=2, help="alternating processes per library")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--only", default="", help="run only models whose name contains this")
    p.add_argument("--worker", choices=["fovea", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(HERE, "..", "src"),
                                         env.get("PYTHONPATH", "")])
    passthrough = list(argv if argv is not None else sys.argv[1:])
    results: dict[str, dict[str, list]] = {"fovea": {}, "torch": {}}
    for _ in range(max(args.rounds, 1)):
        for lib in ("fovea", "torch"):
            run = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", lib,
                                  *passthrough], env=env, capture_output=True, text=True)
            if run.returncode:
                sys.stderr.write(run.stderr)
                return run.returncode
            for name, ts in json.loads(run.stdout.strip().splitlines()[-1]).items():
                results[lib].setdefault(name, []).extend(ts)
    import numpy as np

    print(f"threads={args.threads} batch={args.batch} repeat={args.repeat} "
          f"rounds={args.rounds} (training step: forward + loss + backward)")
    print(f"{'model':18s} {'fovea':>10s} {'torch':>10s} {'ratio':>6s}")
    for name, ts in results["fovea"].items():
        f, t = float(np.median(ts)) * 1e3, float(np.median(results["torch"][name])) * 1e3
        print(f"{name:18s} {f:8.0f}ms {t:8.0f}ms {f / t:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
