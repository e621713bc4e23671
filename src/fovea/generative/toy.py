"""Toy 2-D distributions for GANs (the WGAN-GP paper's 8 and 25 Gaussians) and their scores.

* ``8gaussians``: 8 modes on a circle of radius 2, std 0.02;
* ``25gaussians``: a 5×5 grid of modes at {−4, −2, 0, 2, 4}², std 0.05.

:func:`mode_statistics` scores samples as in the VEEGAN/Unrolled-GAN protocol: a sample is of
high quality when it lies within 3 standard deviations of its nearest mode; a mode is covered
when at least ``min_fraction`` of its fair share of samples (n / modes) are high-quality ones
assigned to it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TOY_SETS", "mode_statistics", "toy_centers", "toy_sample"]

TOY_SETS = {"8gaussians": 0.02, "25gaussians": 0.05}
"""Name -> the standard deviation of each mode."""


def toy_centers(name: str) -> np.ndarray:
    """The modes of a toy set, (K, 2) float64."""
    if name == "8gaussians":
        angles = np.arange(8) * (np.pi / 4)
        return 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if name == "25gaussians":
        g = np.arange(-4.0, 5.0, 2.0)
        return np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    raise ValueError(f"toy_centers: unknown toy set {name!r}; expected one of "
                     f"{', '.join(TOY_SETS)}")


def toy_sample(name: str, n: int, rng=None) -> np.ndarray:
    """n points (n, 2) float32: a uniformly chosen mode plus Gaussian noise of its std."""
    rng = np.random.default_rng(rng)
    centers = toy_centers(name)
    k = rng.integers(0, len(centers), size=n)
    return (centers[k] + TOY_SETS[name] * rng.standard_normal((n, 2))).astype(np.float32)


def mode_statistics(samples, name: str, min_fraction: float = 0.2) -> dict:
    """Modes covered and the fraction of high-quality samples.

    Args:
        samples: (n, 2) generated points.
        name: the toy set they imitate.
        min_fraction: a mode counts as covered with >= min_fraction · n / K high-quality
            samples.

    Returns: ``{"modes": K, "modes_covered": int, "high_quality": fraction in [0, 1]}``.
    """
    x = np.asarray(samples, dtype=np.float64)
    centers = toy_centers(name)
    d = np.sqrt(((x[:, None, :] - centers[None]) ** 2).sum(-1))    # (n, K)
    nearest = d.argmin(axis=1)
    good = d[np.arange(len(x)), nearest] <= 3 * TOY_SETS[name]
    counts = np.bincount(nearest[good], minlength=len(centers))
    need = max(1.0, min_fraction * len(x) / len(centers))
    return {"modes": len(centers), "modes_covered": int((counts >= need).sum()),
            "high_quality": float(good.mean()) if len(x) else 0.0}
