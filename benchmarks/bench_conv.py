"""fovea vs PyTorch on the convolution and pooling shapes of the benchmark models.

Usage::

    python benchmarks/bench_conv.py [--repeat 7] [--threads 2] [--only 3x3]

Both libraries run on the same float32 inputs with ``torch.set_num_threads(threads)`` and
OpenBLAS limited to the same number of threads. For each case the two are timed in
alternation (fovea, torch, fovea, torch, ...) so that load from other processes hits both;
the table gives the median of ``--repeat`` runs of the forward pass and of forward + backward
(with a fixed random upstream gradient), and fovea's time over PyTorch's.
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7, help="timed runs per measurement (>= 5)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default="", help="run only cases whose name contains this")
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
        fx = fovea.tensor(x, requires_grad=x_grad)
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
        fg, tg = fovea.tensor(g), torch.tensor(g)

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
            ff(), tf()  # warm up
            fts, tts = [], []
            for _ in range(max(args.repeat, 5)):
                fts.append(_timeit(ff))
                tts.append(_timeit(tf))
            fm, tm = float(np.median(fts)) * 1e3, float(np.median(tts)) * 1e3
            row += [fm, tm, fm / tm]
        ratios.append(row[5])
        print(f"{name:34s} {row[0]:8.2f}ms {row[1]:8.2f}ms {row[2]:5.2f}x   "
              f"{row[3]:8.2f}ms {row[4]:8.2f}ms {row[5]:5.2f}x")
        sys.stdout.flush()
    if ratios:
        geo = float(np.exp(np.mean(np.log(ratios))))
        print(f"geometric mean of forward+backward ratios: {geo:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
