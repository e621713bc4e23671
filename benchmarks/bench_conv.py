"""fovea vs PyTorch on the convolution and pooling shapes of the benchmark models.

Usage::

    python benchmarks/bench_conv.py [--repeat 5] [--rounds 3] [--threads 2] [--only 3x3]
                                    [--resnet] [--convnet] [--channels-last] [--quiet 0.1]

Each library runs in its own process (fovea's never imports torch): PyTorch's OpenMP/MKL
worker threads keep busy-waiting long after a call (measured: NumPy code in the same
process ran 3-6x slower for a second after a PyTorch call), and OpenBLAS's do the same to
PyTorch. The two processes alternate for ``--rounds`` rounds so that both see the same
machine load; each round times every case ``--repeat`` times after a warm-up. The table
gives the median over all runs of the forward pass (no graph) and of forward + backward
(with a fixed random upstream gradient), and fovea's time over PyTorch's. Both get
``--threads`` threads (``torch.set_num_threads``; ``OPENBLAS_NUM_THREADS``) and the same
float32 values in contiguous NCHW (a convolution's output follows its input's memory
format, so in a network fed NCHW images every layer sees NCHW); ``--channels-last``
gives fovea channels-last tensors instead, the format its kernels work in. ``--quiet 0.1``
waits before each case until other processes leave the CPUs idle (for shared machines).

``--resnet`` and ``--convnet`` add whole training steps (forward + backward, no optimizer
update) of ResNet-20 (batch 128, 1x1-conv shortcuts, batch norm) and of the three-layer
ConvNet (conv 32x7x7 pad 3 on 64x3x32x32, ReLU, 2x2 max pool, affine 100, ReLU, affine 10).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CASES = [
    # name, input shape, weight shape (None: max pool), kwargs, input needs grad
    ("conv3x3 16->16 32x32 b128", (128, 16, 32, 32), (16, 16, 3, 3), dict(padding=1), True),
    ("conv3x3 32->32 16x16 b128", (128, 32, 16, 16), (32, 32, 3, 3), dict(padding=1), True),
    ("conv3x3 64->64 8x8 b128", (128, 64, 8, 8), (64, 64, 3, 3), dict(padding=1), True),
    ("conv3x3 s2 16->32 32x32 b128", (128, 16, 32, 32), (32, 16, 3, 3),
     dict(stride=2, padding=1), True),
    ("conv7x7 3->32 pad3 32x32 b64", (64, 3, 32, 32), (32, 3, 7, 7), dict(padding=3), False),
    ("conv1x1 64->64 8x8 b128", (128, 64, 8, 8), (64, 64, 1, 1), {}, True),
    ("conv1x1 s2 16->32 32x32 b128", (128, 16, 32, 32), (32, 16, 1, 1), dict(stride=2), True),
    ("depthwise3x3 32 16x16 b128", (128, 32, 16, 16), (32, 1, 3, 3),
     dict(padding=1, groups=32), True),
    ("maxpool2x2 32ch 32x32 b64", (64, 32, 32, 32), None, dict(kernel_size=2), True),
    ("maxpool3x3 s2 32ch 32x32 b64", (64, 32, 32, 32), None,
     dict(kernel_size=3, stride=2, padding=1), True),
]


def _cpu_busy(window: float = 0.1) -> float:
    """Fraction of all CPUs busy over ``window`` seconds (Linux /proc/stat), 0 elsewhere."""
    def read():
        with open("/proc/stat") as f:
            v = [int(t) for t in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait

    try:
        t0, i0 = read()
        time.sleep(window)
        t1, i1 = read()
    except OSError:
        return 0.0
    return 1.0 - (i1 - i0) / max(t1 - t0, 1)


def _wait_quiet(max_busy: float, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and _cpu_busy() > max_busy:
        pass


def _channels_last(a, np):
    """The same (N, C, H, W) values with channels innermost in memory (a strided view)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


# --- the worker: one library, all cases -------------------------------------------------

class _Lib:
    """The handful of calls the cases need, for fovea or PyTorch."""

    def __init__(self, name: str, threads: int, channels_last: bool):
        import numpy as np

        self.np, self.name, self.cl = np, name, channels_last
        if name == "torch":
            import torch

            torch.set_num_threads(threads)
            self.t = torch
            self.F = torch.nn.functional
            self.nn = torch.nn
        else:
            import fovea

            self.t = fovea
            self.F = fovea.nn.functional
            self.nn = fovea.nn

    def tensor(self, a, grad=False, activation=True):
        if self.name == "torch":
            return self.t.tensor(a, requires_grad=grad)
        if self.cl and activation and a.ndim == 4:
            a = _channels_last(a, self.np)
        return self.t.tensor(a, requires_grad=grad)

    def no_grad(self):
        return self.t.no_grad()


def _case_fns(lib: _Lib, xs, ws, kw, x_grad, rng):
    np = lib.np
    x = rng.standard_normal(xs, dtype=np.float32)
    tx = lib.tensor(x, x_grad)
    if ws is None:
        def fwd():
            return lib.F.max_pool2d(tx, **kw)
    else:
        w = (rng.standard_normal(ws, dtype=np.float32) * 0.1).astype(np.float32)
        b = rng.standard_normal(ws[0], dtype=np.float32)
        tw, tb = lib.tensor(w, True, False), lib.tensor(b, True, False)

        def fwd():
            return lib.F.conv2d(tx, tw, tb, **kw)
    with lib.no_grad():
        shape = tuple(fwd().shape)
    tg = lib.tensor(rng.standard_normal(shape, dtype=np.float32))

    def nograd():
        with lib.no_grad():
            fwd()

    def both():
        y = fwd()
        assert str(y.dtype).endswith("float32")
        y.backward(tg)
        tx.grad = None

    return nograd, both


def _resnet(lib: _Lib, rng):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.short = None
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                           nn.BatchNorm2d(cout))

        def forward(self, x):
            h = self.b2(self.c2(self.relu(self.b1(self.c1(x)))))
            return self.relu(h + (x if self.short is None else self.short(x)))

    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(3):
            layers.append(Block(cin, cout, stride if i == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    model = nn.Sequential(*layers)
    x = lib.tensor(rng.standard_normal((128, 3, 32, 32), dtype=lib.np.float32))
    y = lib.tensor(rng.integers(0, 10, 128), activation=False)

    def step():
        lib.F.cross_entropy(model(x), y).backward()
        model.zero_grad()

    return step


def _convnet(lib: _Lib, rng):
    np = lib.np
    shapes = [(32, 3, 7, 7), (32,), (32 * 16 * 16, 100), (100,), (100, 10), (10,)]
    p = [lib.tensor((rng.standard_normal(s, dtype=np.float32) * 0.01).astype(np.float32),
                    True, False) for s in shapes]
    x = lib.tensor(rng.random((64, 3, 32, 32), dtype=np.float32))
    y = lib.tensor(rng.integers(0, 10, 64), activation=False)
    F = lib.F

    def step():
        h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1], padding=3)), 2)
        h = F.relu(h.reshape(64, -1) @ p[2] + p[3])
        F.cross_entropy(h @ p[4] + p[5], y).backward()
        for t in p:
            t.grad = None

    return step


def _worker(args) -> None:
    import numpy as np

    lib = _Lib(args.worker, args.threads, args.channels_last)
    out = {}
    for name, xs, ws, kw, x_grad in CASES:
        if args.only not in name:
            continue
        rng = np.random.default_rng(0)
        fns = _case_fns(lib, xs, ws, kw, x_grad, rng)
        out[name] = [_time(fn, args) for fn in fns]
    for flag, name, build in ((args.convnet, "three-layer ConvNet step (b64)", _convnet),
                              (args.resnet, "ResNet-20 step (b128)", _resnet)):
        if flag:
            out[name] = [None, _time(build(lib, np.random.default_rng(1)), args)]
    print(json.dumps(out))


def _time(fn, args) -> list[float]:
    if args.quiet is not None:
        _wait_quiet(args.quiet)
    fn()  # warm up
    times = []
    for _ in range(max(args.repeat, 1)):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


# --- the driver ---------------------------------------------------------------------------

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5, help="timed runs per case and round")
    p.add_argument("--rounds", type=int, default=3, help="alternating processes per library")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default="", help="run only cases whose name contains this")
    p.add_argument("--channels-last", action="store_true",
                   help="give fovea channels-last inputs and gradients (PyTorch stays NCHW)")
    p.add_argument("--resnet", action="store_true", help="also time a ResNet-20 training step")
    p.add_argument("--convnet", action="store_true",
                   help="also time a three-layer ConvNet training step")
    p.add_argument("--quiet", type=float, default=None, metavar="BUSY",
                   help="wait until the CPUs are at most this busy before each case")
    p.add_argument("--worker", choices=["fovea", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    results: dict[str, dict[str, list]] = {"fovea": {}, "torch": {}}
    for _ in range(max(args.rounds, 1)):
        for lib in ("fovea", "torch"):
            time.sleep(0.5)
            run = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", lib,
                                  *passthrough], env=env, capture_output=True, text=True)
            if run.returncode:
                sys.stderr.write(run.stderr)
                return run.returncode
            for name, timings in json.loads(run.stdout.strip().splitlines()[-1]).items():
                acc = results[lib].setdefault(name, [[], []])
                for k, ts in enumerate(timings):
                    if ts is not None:
                        acc[k] += ts
    _report(args, results)
    return 0


def _report(args, results) -> None:
    import numpy as np

    layout = "channels-last" if args.channels_last else "NCHW"
    print(f"threads={args.threads} repeat={args.repeat} rounds={args.rounds} "
          f"numpy={np.__version__} fovea input={layout}")
    head = (f"{'case':34s} {'fwd fovea':>10s} {'fwd torch':>10s} {'ratio':>6s}   "
            f"{'f+b fovea':>10s} {'f+b torch':>10s} {'ratio':>6s}")
    print(head)
    print("-" * len(head))
    ratios = []
    for name, (f_fwd, f_both) in results["fovea"].items():
        t_fwd, t_both = results["torch"][name]
        cells = []
        for f, t in ((f_fwd, t_fwd), (f_both, t_both)):
            if not f:
                cells.append(f"{'':>10s} {'':>10s} {'':>6s}")
                continue
            fm, tm = float(np.median(f)) * 1e3, float(np.median(t)) * 1e3
            cells.append(f"{fm:8.2f}ms {tm:8.2f}ms {fm / tm:5.2f}x")
            if f is f_both and "step" not in name:
                ratios.append(fm / tm)
        print(f"{name:34s} {cells[0]}   {cells[1]}")
    if ratios:
        print(f"geometric mean of the layers' forward+backward ratios: "
              f"{float(np.exp(np.mean(np.log(ratios)))):.2f}x")


if __name__ == "__main__":
    sys.exit(main())
