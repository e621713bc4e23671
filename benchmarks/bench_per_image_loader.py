"""DataLoader throughput (images/s) on an augmentation-heavy per-image pipeline, by workers.

Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_per_image_loader.py [--images 2000] [--repeats 5]

The data are Fashion-MNIST training images (from the Debian package's IDX file when present,
else generated noise of the same shape) upscaled to 64×64 RGB PIL images. A PyTorch-style
Dataset applies, per image, RandomResizedCrop(56) + ColorJitter(0.4, 0.4, 0.4, 0.1) +
RandomRotation(15) + ToTensor + Normalize; a DataLoader (batch 64, shuffled) loads one epoch
per run. Each configuration reports the median of ``--repeats`` epochs in images per second
(worker start-up included for non-persistent workers, as a training loop sees it).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from fovea.data import transforms as T
from fovea.utils.data import DataLoader, Dataset

FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def gray_images(n: int) -> tuple[np.ndarray, str]:
    """n uint8 (28, 28) images: Fashion-MNIST's first n when installed, else noise."""
    if FASHION.exists():
        with gzip.open(FASHION, "rb") as f:
            raw = f.read(16 + n * 784)
        return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28), str(FASHION)
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), "generated noise"


def rgb64(gray: np.ndarray) -> list[Image.Image]:
    """Upscale to 64×64 and tint each image a little differently (so colour jitter works)."""
    rng = np.random.default_rng(1)
    out = []
    for g in gray:
        big = np.asarray(Image.fromarray(g).resize((64, 64), Image.Resampling.BILINEAR))
        tint = rng.uniform(0.5, 1.0, size=3)
        out.append(Image.fromarray((big[:, :, None] * tint).astype(np.uint8), "RGB"))
    return out


class Augmented(Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


def pipeline() -> T.Compose:
    return T.Compose([T.RandomResizedCrop(56), T.ColorJitter(0.4, 0.4, 0.4, 0.1),
                      T.RandomRotation(15), T.ToTensor(),
                      T.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))])


def measure(ds, workers: int, persistent: bool, batch_size: int, repeats: int) -> float:
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers,
                        persistent_workers=persistent, seed=0)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        seen = sum(len(y) for _, y in loader)
        rates.append(seen / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    args = parser.parse_args()
    gray, source = gray_images(args.images)
    ds = Augmented(rgb64(gray), list(range(len(gray))), pipeline())
    print(f"{len(ds)} images 64x64 RGB from {source}; batch {args.batch_size}, median of "
          f"{args.repeats} epochs; {os.cpu_count()} CPUs visible")
    print(f"{'workers':>7s} {'persistent':>10s} {'images/s':>10s}")
    for w in args.workers:
        for persistent in ([False, True] if w else [False]):
            ips = measure(ds, w, persistent, args.batch_size, args.repeats)
            print(f"{w:7d} {'yes' if persistent else 'no':>10s} {ips:10,.0f}")


if __name__ == "__main__":
    main()
