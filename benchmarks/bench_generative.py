"""fovea vs PyTorch: a DCGAN training iteration and a VAE training step (CPU time).

Usage::

    python benchmarks/bench_generative.py [--repeat 5] [--rounds 2] [--threads 1] [--big]

Cases (float32, the same shapes and thread count in both libraries):

* ``dcgan 32x32x1 b64``: one DCGAN iteration — the discriminator step (real and generated
  batches, non-saturating loss, backward, Adam) then the generator step — with nz = 100,
  ngf = ndf = 64 (G: 100→256→128→64→1 transposed convolutions with batch norm; D mirrored);
* ``dcgan 64x64x3 b64`` (with ``--big``): the paper's 64×64 colour network;
* ``vae 784-400-20 b128``: one step of the reference VAE recipe (summed BCE + KL, Adam).

As in ``bench_conv.py``, each library runs in its own process (PyTorch's busy-waiting
worker threads slow NumPy code in the same process), the two alternate for ``--rounds``
rounds, and each round times every case ``--repeat`` times after a warm-up; the table gives
medians and fovea's time over PyTorch's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def _cases(big: bool):
    cases = [("dcgan 32x32x1 b64", dict(kind="dcgan", shape=(1, 32, 32), batch=64)),
             ("vae 784-400-20 b128", dict(kind="vae", batch=128))]
    if big:
        cases.insert(1, ("dcgan 64x64x3 b64", dict(kind="dcgan", shape=(3, 64, 64), batch=64)))
    return cases


def _torch_dcgan(shape):
    import torch
    from torch import nn

    c, h, _ = shape
    n = {32: 3, 64: 4}[h]
    ch = 64 * 2 ** (n - 1)
    g = [nn.ConvTranspose2d(100, ch, 4, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU()]
    for _ in range(n - 1):
        g += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2),
              nn.ReLU()]
        ch //= 2
    g += [nn.ConvTranspose2d(ch, c, 4, 2, 1), nn.Tanh()]
    d, ch = [nn.Conv2d(c, 64, 4, 2, 1), nn.LeakyReLU(0.2)], 64
    for _ in range(n - 1):
        d += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2),
              nn.LeakyReLU(0.2)]
        ch *= 2
    d += [nn.Conv2d(ch, 1, 4, 1, 0), nn.Flatten()]
    return nn.Sequential(*g), nn.Sequential(*d), torch


def _step_fn(lib: str, case: dict):
    """A zero-argument function doing one training iteration of ``case`` in ``lib``."""
    rng = np.random.default_rng(0)
    b = case["batch"]
    if lib == "torch":
        import torch
        from torch.nn import functional as F

        T, randn = torch.tensor, torch.randn
        optim = torch.optim
    else:
        import fovea as torch  # noqa: F811
        from fovea.nn import functional as F

        T, randn, optim = torch.tensor, torch.randn, torch.optim
    if case["kind"] == "vae":
        x = T(rng.random((b, 784), dtype=np.float32))
        if lib == "torch":
            from torch import nn

            class VAE(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), \
                        nn.Linear(400, 20)
                    self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

                def loss(self, x):
                    h = F.relu(self.fc1(x))
                    mu, logvar = self.fc21(h), self.fc22(h)
                    z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
                    logits = self.fc4(F.relu(self.fc3(z)))
                    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") \
                        - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

            model = VAE()
        else:
            from fovea.generative import VAE

            model = VAE((784,), 400, 20)
        opt = optim.Adam(model.parameters(), lr=1e-3)

        def step():
            loss = model.loss(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return step
    shape = case["shape"]
    if lib == "torch":
        G, D, _ = _torch_dcgan(shape)
    else:
        from fovea.generative import DCGANDiscriminator, DCGANGenerator

        G, D = DCGANGenerator(100, shape, 64), DCGANDiscriminator(shape, 64)
    real = T(rng.uniform(-1, 1, (b, *shape)).astype(np.float32))
    opt_g = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step():
        fake = G(randn(b, 100, 1, 1) if lib == "torch" else randn(b, 100))
        d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = F.softplus(-D(fake)).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    return step


def worker(lib: str, repeat: int, threads: int, big: bool) -> None:
    if lib == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.manual_seed(0)
    else:
        import fovea

        fovea.manual_seed(0)
    out = {}
    for name, case in _cases(big):
        step = _step_fn(lib, case)
        step()  # warm-up (kernel selection, allocations)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        out[name] = times
    print(json.dumps(out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--big", action="store_true", help="add the 64x64x3 DCGAN")
    p.add_argument("--worker", choices=("torch", "fovea"), default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.worker, args.repeat, args.threads, args.big)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    times: dict = {"torch": {}, "fovea": {}}
    for _ in range(args.rounds):
        for lib in ("fovea", "torch"):
            cmd = [sys.executable, __file__, "--worker", lib, "--repeat", str(args.repeat),
                   "--threads", str(args.threads)] + (["--big"] if args.big else [])
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{lib} worker failed:\n{out.stderr}")
            for name, ts in json.loads(out.stdout.splitlines()[-1]).items():
                times[lib].setdefault(name, []).extend(ts)
    print(f"{'case':<22} {'torch ms':>9} {'fovea ms':>9} {'fovea/torch':>12}   "
          f"({args.threads} thread(s), median of {args.rounds}x{args.repeat})")
    for name, _ in _cases(args.big):
        a, b = np.median(times["torch"][name]) * 1e3, np.median(times["fovea"][name]) * 1e3
        print(f"{name:<22} {a:>9.1f} {b:>9.1f} {b / a:>11.2f}x")


if __name__ == "__main__":
    main()
