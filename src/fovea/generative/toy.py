"""Toy 2-D distributions for GANs (the WGAN-GP paper's 8 and 25 Gaussians) and their scores.

The sets are those of the WGAN-GP paper's toy script (Gulrajani et al., 2017), including its
final division by the data's per-coordinate standard deviation:

* ``8gaussians``: 8 modes on a circle of radius 2, std 0.02, all divided by 1.414: modes on a
  circle of radius 1.414, std 0.02 / 1.414 ≈ 0.01414;
* ``25gaussians``: a 5×5 grid of modes at {−4, −2, 0, 2, 4}², std 0.05, all divided by 2.828:
  modes 0.707 apart, std 0.05 / 2.828 ≈ 0.01768.

:func:`mode_statistics` scores samples as VEEGAN does (Srivastava et al., 2017, 2,500
samples; the same rule as PacGAN's code): a sample is of *high quality* when it lies within
3 standard deviations (the data's, after the scaling) of its nearest mode; a mode is *covered*
(captured) when it is the nearest mode of at least one high-quality sample. Because one stray
sample can cover a mode under that rule, the stricter count of modes that receive at least
20 % of their fair share (n / modes) of high-quality samples is reported next to it, with the
high-quality sample count of every mode.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TOY_SETS", "mode_statistics", "toy_centers", "toy_sample"]

# name -> (std of a mode before the scaling, the paper's divisor)
_RAW = {"8gaussians": (0.02, 1.414), "25gaussians": (0.05, 2.828)}

TOY_SETS = {name: std / scale for name, (std, scale) in _RAW.items()}
"""Name -> the standard deviation of each mode in the data's units (after the scaling)."""


def _raw_centers(name: str) -> np.ndarray:
    if name == "8gaussians":
        angles = np.arange(8) * (np.pi / 4)
        return 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if name == "25gaussians":
        g = np.arange(-4.0, 5.0, 2.0)
        return np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    raise ValueError(f"toy_centers: unknown toy set {name!r}; expected one of "
                     f"{', '.join(TOY_SETS)}")


def toy_centers(name: str) -> np.ndarray:
    """The modes of a toy set in the data's units, (K, 2) float64."""
    return _raw_centers(name) / _RAW[name][1]


def toy_sample(name: str, n: int, rng=None) -> np.ndarray:
    """n points (n, 2) float32: a uniformly chosen mode plus Gaussian noise of its std, then
    divided by the set's scale (as the paper's script does)."""
    rng = np.random.default_rng(rng)
    centers = _raw_centers(name)
    std, scale = _RAW[name]
    k = rng.integers(0, len(centers), size=n)
    return ((centers[k] + std * rng.standard_normal((n, 2))) / scale).astype(np.float32)


def mode_statistics(samples, name: str, min_fraction: float = 0.2) -> dict:
    """Modes covered and the fraction of high-quality samples (see the module docstring).

    Args:
        samples: (n, 2) generated points, in the data's units.
        name: the toy set they imitate.
        min_fraction: the stricter count's threshold: a mode with >= min_fraction · n / K
            high-quality samples.

    Returns: ``{"modes": K, "modes_covered": modes with >= 1 high-quality sample (VEEGAN's
    rule), "modes_covered_strict": modes with >= "strict_min_samples" high-quality samples
    (min_fraction of the fair share n / K, rounded up, at least 1), "high_quality": fraction
    in [0, 1], "per_mode": the high-quality samples of each mode}``.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    centers = toy_centers(name)
    d = np.sqrt(((x[:, None, :] - centers[None]) ** 2).sum(-1))    # (n, K)
    nearest = d.argmin(axis=1)
    good = d[np.arange(len(x)), nearest] <= 3 * TOY_SETS[name]
    counts = np.bincount(nearest[good], minlength=len(centers))
    need = max(1, int(np.ceil(min_fraction * len(x) / len(centers) - 1e-9)))
    return {"modes": len(centers), "modes_covered": int((counts >= 1).sum()),
            "modes_covered_strict": int((counts >= need).sum()), "strict_min_samples": need,
            "high_quality": float(good.mean()) if len(x) else 0.0,
            "per_mode": [int(c) for c in counts]}
