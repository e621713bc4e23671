"""The reference VAE recipe run side by side in PyTorch and in fovea (PyTorch is the oracle).

The recipe of PyTorch's examples/vae (Kingma & Welling's MLP): 784-400-20 encoder
(``fc1``, ``fc21`` μ, ``fc22`` log σ²), 20-400-784 decoder (``fc3``, ``fc4``), ReLU, sigmoid
output; loss = summed binary cross-entropy + KL over the batch; Adam(lr 1e-3), batch 128; the
test loss is the same loss (with a sampled z) summed over the test set and divided by its size.

Both frameworks start from the *same* initial weights (drawn here with NumPy from PyTorch's
default Linear initialisation, U(±1/√fan_in)) and see the *same* batches in the same order
(a NumPy permutation per epoch from ``--seed``); each draws its own ε for the
reparameterisation (``torch.manual_seed`` / ``fovea.manual_seed`` with the same seed), so the
two runs differ by sampling noise and floating-point rounding only. Each framework runs in
its own process, one after the other, with the same number of threads.

Usage::

    python benchmarks/vae_reference.py [--dataset fashion_mnist] [--epochs 10] [--seed 0]
                                       [--threads 1] [--max-train N]

Prints per epoch the test loss per image (nats) of each and fovea's relative difference,
and the verdict at the last epoch (the issue's target: within 1 %).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

SIZES = {"fc1": (400, 784), "fc21": (20, 400), "fc22": (20, 400), "fc3": (400, 20),
         "fc4": (784, 400)}


def initial_weights(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for name, (o, i) in SIZES.items():
        bound = 1 / np.sqrt(i)
        out[f"{name}.weight"] = rng.uniform(-bound, bound, (o, i)).astype(np.float32)
        out[f"{name}.bias"] = rng.uniform(-bound, bound, o).astype(np.float32)
    return out


def _epochs(arrays, args, backend):
    """Train and yield one dict per epoch (runs inside the worker process)."""
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    weights = {k[2:]: arrays[k] for k in arrays.files if k.startswith("w.")}
    if backend == "torch":
        import torch
        from torch import nn
        from torch.nn import functional as F

        torch.set_num_threads(args.threads)

        class VAE(nn.Module):  # the reference recipe, verbatim in structure
            def __init__(self):
                super().__init__()
                self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), \
                    nn.Linear(400, 20)
                self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

            def forward(self, x):
                h = F.relu(self.fc1(x))
                mu, logvar = self.fc21(h), self.fc22(h)
                z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
                return self.fc4(F.relu(self.fc3(z))), mu, logvar

        def loss_fn(model, x):
            logits, mu, logvar = model(x)
            bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
            return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

        torch.manual_seed(args.seed)
        model = VAE()
        model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        as_tensor, no_grad = torch.tensor, torch.no_grad
    else:
        import fovea
        from fovea.generative import VAE

        fovea.manual_seed(args.seed)
        model = VAE((784,), hidden=400, latent=20)
        model.load_state_dict(weights)
        opt = fovea.optim.Adam(model.parameters(), lr=1e-3)

        def loss_fn(model, x):
            return model.loss(x)

        as_tensor, no_grad = fovea.tensor, fovea.no_grad

    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        perm = np.random.default_rng([args.seed, epoch]).permutation(len(x_train))
        total = 0.0
        for s in range(0, len(perm), 128):
            x = as_tensor(x_train[perm[s:s + 128]])
            loss = loss_fn(model, x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        seconds = time.perf_counter() - t0
        with no_grad():
            test = sum(loss_fn(model, as_tensor(x_test[s:s + 1000])).item()
                       for s in range(0, len(x_test), 1000))
        yield {"epoch": epoch + 1, "train_loss": total / len(x_train),
               "test_loss": test / len(x_test), "seconds": seconds}


def worker(args) -> None:
    arrays = np.load(args.data)
    for row in _epochs(arrays, args, args.worker):
        print(json.dumps(row), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-train", type=int, default=None)
    p.add_argument("--worker", choices=("torch", "fovea"), default=None, help=argparse.SUPPRESS)
    p.add_argument("--data", default=None, help=argparse.SUPPRESS)
    p.add_argument("--json", default=None, help="also write the results to this file")
    args = p.parse_args()
    if args.worker:
        return worker(args)

    from fovea.data import load_dataset

    d = load_dataset(args.dataset, seed=args.seed)
    # the published training set (fovea's train + validation splits) and test set, flattened
    x_train = np.concatenate([d.x_train, d.x_val]).reshape(-1, 784)[:args.max_train]
    x_test = d.x_test.reshape(-1, 784)
    w = initial_weights(args.seed)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(path, x_train=x_train, x_test=x_test, **{f"w.{k}": v for k, v in w.items()})
        for backend in ("torch", "fovea"):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, __file__, "--worker", backend, "--data", path,
                                  "--epochs", str(args.epochs), "--seed", str(args.seed),
                                  "--threads", str(args.threads)], env=env, text=True,
                                 capture_output=True)
            if out.returncode:
                sys.exit(f"{backend} worker failed:\n{out.stderr}")
            results[backend] = [json.loads(line) for line in out.stdout.splitlines()]
            results[backend + "_wall"] = time.perf_counter() - t0
    print(f"VAE 784-400-20 on {args.dataset} ({len(x_train)} train / {len(x_test)} test images), "
          f"Adam 1e-3, batch 128, seed {args.seed}, {args.threads} thread(s)")
    print(f"{'epoch':>5} {'torch test':>11} {'fovea test':>11} {'diff':>8} "
          f"{'torch s':>8} {'fovea s':>8}")
    for a, b in zip(results["torch"], results["fovea"]):
        rel = b["test_loss"] / a["test_loss"] - 1
        print(f"{a['epoch']:>5} {a['test_loss']:>11.3f} {b['test_loss']:>11.3f} {rel:>+8.2%} "
              f"{a['seconds']:>8.1f} {b['seconds']:>8.1f}")
    last = results["fovea"][-1]["test_loss"] / results["torch"][-1]["test_loss"] - 1
    print(f"at epoch {args.epochs}: fovea {'within' if abs(last) <= 0.01 else 'NOT within'} 1% "
          f"of PyTorch ({last:+.2%}); wall: torch {results['torch_wall']:.0f}s, fovea "
          f"{results['fovea_wall']:.0f}s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(results, args=vars(args)), f, indent=1)


if __name__ == "__main__":
    main()
