"""DataLoader throughput (images/s) on the bundled digits, with and without augmentation.

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_dataloader.py [--epochs 20] [--batch-size 128]

Each configuration iterates the training split for ``--epochs`` epochs (after one warm-up
epoch) and reports images per second, best of ``--repeats``. ``--cifar-like`` adds the same
measurements on random (N, 3, 32, 32) data of CIFAR-10's size per image. ``--compute``
adds a stand-in training step per batch (matrix products on the batch, which release the
GIL like the real forward/backward), to show how much loading the prefetch threads hide.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fovea.data import ArrayDataset, DataLoader, load_dataset
from fovea.data import transforms as T


def augmentation(channels: int, size: int) -> T.Compose:
    return T.Compose([
        T.RandomCrop(size, padding=size // 8),
        T.RandomHorizontalFlip(),
        T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1)),
        T.Cutout(max(1, size // 4)),
        T.Normalize([0.5] * channels, [0.25] * channels),
    ])


def fake_step(x: np.ndarray, weights: tuple[np.ndarray, np.ndarray]) -> float:
    """A stand-in for forward/backward: a few matrix products on the flattened batch."""
    w1, w2 = weights
    h = np.tanh(x.reshape(len(x), -1) @ w1)
    for _ in range(4):
        h = np.tanh(h @ w2)
    return float(h[0, 0])


def measure(images: np.ndarray, labels: np.ndarray, transform, batch_size: int,
            num_workers: int, epochs: int, repeats: int, compute: bool = False) -> float:
    ds = ArrayDataset(images, labels, transform=transform)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, seed=0,
                        num_workers=num_workers)
    d = int(np.prod(images.shape[1:]))
    rng = np.random.default_rng(0)
    weights = ((rng.standard_normal((d, 1024)) / np.sqrt(d)).astype(np.float32),
               (rng.standard_normal((1024, 1024)) / 32.0).astype(np.float32))
    for _ in loader:            # warm-up epoch
        pass
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        seen = 0
        for _ in range(epochs):
            for x, _y in loader:
                seen += x.shape[0]
                if compute:
                    fake_step(x.numpy(), weights)
        best = max(best, seen / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cifar-like", action="store_true")
    parser.add_argument("--compute", action="store_true")
    args = parser.parse_args()

    sets = []
    d = load_dataset("digits")
    sets.append(("digits (1, 8, 8)", d.x_train, d.y_train, args.epochs))
    if args.cifar_like:
        rng = np.random.default_rng(0)
        x = rng.random((10000, 3, 32, 32), dtype=np.float32)
        sets.append(("random (3, 32, 32)", x, rng.integers(0, 10, 10000), 2))
    print(f"batch_size={args.batch_size}, shuffle=True, best of {args.repeats}, "
          f"stand-in training step: {'yes' if args.compute else 'no'}")
    print(f"{'data':20s} {'augmentation':12s} {'workers':>7s} {'images/s':>12s}")
    for name, x, y, epochs in sets:
        for aug in (False, True):
            t = augmentation(x.shape[1], x.shape[2]) if aug else None
            for workers in (0, 2):
                ips = measure(x, y, t, args.batch_size, workers, epochs, args.repeats,
                              args.compute)
                print(f"{name:20s} {'yes' if aug else 'no':12s} {workers:7d} {ips:12,.0f}")


if __name__ == "__main__":
    main()
