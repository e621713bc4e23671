"""fovea vs PyTorch on the convolution and pooling shapes of the benchmark models.

Usage::

    python benchmarks/bench_conv.py [--repeat 7] [--threads 2] [--only 3x3]

Both libraries run on the same float32 values with ``torch.set_num_threads(threads)`` and
OpenBLAS limited to the same number of threads, on contiguous NCHW tensors (a convolution's
output follows its input's memory format, so in a network fed with NCHW images every
layer sees NCHW). ``--channels-last`` feeds fovea channels-last tensors instead (the
format its kernels work in, which saves the transposes).

Each library is timed in its own block after a pause: the worker threads of OpenBLAS and
of PyTorch's OpenMP busy-wait for a while after each call, so strictly alternating the two
would make each compete with the other's spinning threads. Blocks alternate for
``--rounds`` rounds so that both see the same machine load; the table gives the median over
all runs of the forward pass (no graph) and of forward + backward (with a fixed random
upstream gradient), and fovea's time over PyTorch's. ``--quiet 0.1`` waits for other
processes to leave the CPUs idle before each block (useful on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _cases():
    # name, input shape, weight shape, kwargs, input needs grad
    return [
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


def _timeit(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _channels_last(a, np):
    """The same (N, C, H, W) values with channels innermost in memory (a strided view)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


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
    """Wait (up to ``timeout``) until other processes leave the CPUs nearly idle."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and _cpu_busy() > max_busy:
        pass


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5, help="timed runs per block")
    p.add_argument("--rounds", type=int, default=3, help="alternating blocks per library")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default="", help="run only cases whose name contains this")
    p.add_argument("--channels-last", action="store_true",
                   help="give fovea channels-last inputs and gradients (PyTorch stays NCHW)")
    p.add_argument("--resnet", action="store_true",
                   help="also time a ResNet-20 training step (forward + backward, batch 128, "
                        "CIFAR-size input, 1x1-conv shortcuts, batch norm)")
    p.add_argument("--convnet", action="store_true",
                   help="also time a three-layer ConvNet training step (forward + backward): "
                        "conv 32x7x7 pad 3 on 64x3x32x32, ReLU, 2x2 max pool, affine 100, "
                        "ReLU, affine 10, cross-entropy")
    p.add_argument("--quiet", type=float, default=None, metavar="BUSY",
                   help="before each timed pair, wait until the CPUs are at most this busy "
                        "(e.g. 0.1) so that other processes do not skew the timings")
    args = p.parse_args(argv)
    # BLAS reads its thread count at load time: set it before NumPy is imported.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import numpy as np
    import torch

    import fovea
    import fovea.nn.functional as F

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"threads={args.threads} repeat={args.repeat} torch={torch.__version__} "
          f"numpy={np.__version__}")
    head = f"{'case':34s} {'fwd fovea':>10s} {'fwd torch':>10s} {'ratio':>6s}   " \
           f"{'f+b fovea':>10s} {'f+b torch':>10s} {'ratio':>6s}"
    print(head)
    print("-" * len(head))
    ratios = []
    for name, xs, ws, kw, x_grad in _cases():
        if args.only not in name:
            continue
        x = rng.standard_normal(xs, dtype=np.float32)
        cl = args.channels_last
        fx = fovea.tensor(_channels_last(x, np) if cl else x, requires_grad=x_grad)
        tx = torch.tensor(x, requires_grad=x_grad)
        if ws is None:
            def f_fwd(fx=fx, kw=kw):
                return F.max_pool2d(fx, **kw)

            def t_fwd(tx=tx, kw=kw):
                return torch.nn.functional.max_pool2d(tx, **kw)
        else:
            w = (rng.standard_normal(ws, dtype=np.float32) * 0.1).astype(np.float32)
            b = rng.standard_normal(ws[0], dtype=np.float32)
            fw, fb = fovea.tensor(w, requires_grad=True), fovea.tensor(b, requires_grad=True)
            tw, tb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)

            def f_fwd(fx=fx, fw=fw, fb=fb, kw=kw):
                return F.conv2d(fx, fw, fb, **kw)

            def t_fwd(tx=tx, tw=tw, tb=tb, kw=kw):
                return torch.nn.functional.conv2d(tx, tw, tb, **kw)
        gshape = tuple(t_fwd().shape)
        g = rng.standard_normal(gshape, dtype=np.float32)
        fg, tg = fovea.tensor(_channels_last(g, np) if cl else g), torch.tensor(g)

        def f_both(f_fwd=f_fwd, fg=fg, fx=fx):
            y = f_fwd()
            assert y.dtype == np.float32
            y.backward(fg)
            fx.grad = None

        def t_both(t_fwd=t_fwd, tg=tg):
            t_fwd().backward(tg)

        def f_nograd(f_fwd=f_fwd):
            with fovea.no_grad():
                f_fwd()

        def t_nograd(t_fwd=t_fwd):
            with torch.no_grad():
                t_fwd()

        row = []
        for ff, tf in ((f_nograd, t_nograd), (f_both, t_both)):
            times = ([], [])
            for _ in range(max(args.rounds, 1)):
                for fn, ts in zip((ff, tf), times):
                    time.sleep(0.3)  # let the other library's worker threads go to sleep
                    if args.quiet is not None:
                        _wait_quiet(args.quiet)
                    fn()  # warm up
                    ts.extend(_timeit(fn) for _ in range(max(args.repeat, 1)))
            medians = [float(np.median(ts)) * 1e3 for ts in times]
            row += [medians[0], medians[1], medians[0] / medians[1]]
        ratios.append(row[5])
        print(f"{name:34s} {row[0]:8.2f}ms {row[1]:8.2f}ms {row[2]:5.2f}x   "
              f"{row[3]:8.2f}ms {row[4]:8.2f}ms {row[5]:5.2f}x")
        sys.stdout.flush()
    if ratios:
        geo = float(np.exp(np.mean(np.log(ratios))))
        print(f"geometric mean of forward+backward ratios: {geo:.2f}x")
    if args.convnet:
        _convnet(args, np, torch, fovea, F)
    if args.resnet:
        _resnet(args, np, torch, fovea)
    return 0


def _time_blocks(args, f_step, t_step, np):
    times = ([], [])
    for _ in range(max(args.rounds, 1)):
        for fn, ts in zip((f_step, t_step), times):
            time.sleep(0.3)
            if args.quiet is not None:
                _wait_quiet(args.quiet)
            fn()
            ts.extend(_timeit(fn) for _ in range(max(args.repeat, 1)))
    return tuple(float(np.median(ts)) * 1e3 for ts in times)


def _resnet(args, np, torch, fovea) -> None:
    """ResNet-20 (3 stages of 3 basic blocks, 16/32/64 channels) step in both libraries."""
    def build(nn):
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
        return nn.Sequential(*layers)

    fm, tm = build(fovea.nn), build(torch.nn)
    fm.load_state_dict(tm.state_dict())
    rng = np.random.default_rng(2)
    x = rng.standard_normal((128, 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, 128)
    fx = fovea.tensor(_channels_last(x, np) if args.channels_last else x)
    fy, tx, ty = fovea.tensor(y), torch.tensor(x), torch.tensor(y)

    def f_step():
        fovea.nn.functional.cross_entropy(fm(fx), fy).backward()
        fm.zero_grad()

    def t_step():
        torch.nn.functional.cross_entropy(tm(tx), ty).backward()
        tm.zero_grad()

    fm_, tm_ = _time_blocks(args, f_step, t_step, np)
    print(f"ResNet-20 step (b128)            fovea {fm_:8.2f}ms  torch {tm_:8.2f}ms  "
          f"ratio {fm_ / tm_:5.2f}x")


def _convnet(args, np, torch, fovea, F) -> None:
    """A three-layer ConvNet step (no optimizer update) in both libraries, same weights."""
    rng = np.random.default_rng(1)
    x = rng.random((64, 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    shapes = [(32, 3, 7, 7), (32,), (32 * 16 * 16, 100), (100,), (100, 10), (10,)]
    params = [(rng.standard_normal(s, dtype=np.float32) * 0.01).astype(np.float32)
              for s in shapes]
    fp = [fovea.tensor(p, requires_grad=True) for p in params]
    tp = [torch.tensor(p, requires_grad=True) for p in params]
    fx, fy, tx, ty = fovea.tensor(x), fovea.tensor(y), torch.tensor(x), torch.tensor(y)

    def f_step():
        h = F.max_pool2d(F.relu(F.conv2d(fx, fp[0], fp[1], padding=3)), 2)
        h = F.relu(h.reshape(64, -1) @ fp[2] + fp[3])
        F.cross_entropy(h @ fp[4] + fp[5], fy).backward()
        for p in fp:
            p.grad = None

    def t_step():
        tf = torch.nn.functional
        h = tf.max_pool2d(tf.relu(tf.conv2d(tx, tp[0], tp[1], padding=3)), 2)
        h = tf.relu(h.reshape(64, -1) @ tp[2] + tp[3])
        tf.cross_entropy(h @ tp[4] + tp[5], ty).backward()
        for p in tp:
            p.grad = None

    fm, tm = _time_blocks(args, f_step, t_step, np)
    print(f"three-layer ConvNet step (b64)   fovea {fm:8.2f}ms  torch {tm:8.2f}ms  "
          f"ratio {fm / tm:5.2f}x")


if __name__ == "__main__":
    sys.exit(main())
