"""Latent vector arithmetic (Radford et al., 2016): find the latent direction of a visual
attribute and add it to other codes.

The DCGAN paper averages the codes of a few samples showing an attribute ("smiling woman")
and subtracts those of samples without it; the difference, added to other codes, adds the
attribute. With no labelled attributes here, the samples are chosen by an attribute measured
on the generated images themselves (:data:`ATTRIBUTES`): draw ``n`` codes from the prior,
decode them, and take

    v = mean(z of the top ``frac`` by the attribute) − mean(z of the bottom ``frac``).

Then ``z + α·v`` for α in a row of values should change the attribute of the decoded image
monotonically while keeping the rest of it — which :func:`apply_attribute` measures.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["ATTRIBUTES", "attribute_vector", "apply_attribute", "ink", "slant", "width"]


def _grey(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> (N, H, W): the channel mean."""
    if images.ndim != 4:
        raise ValueError(f"arithmetic: images must be (N, C, H, W), got shape {images.shape}")
    return images.mean(axis=1)


def ink(images: np.ndarray) -> np.ndarray:
    """Mean intensity per image (N,): stroke thickness for digits, fill for clothes."""
    return _grey(images).mean(axis=(1, 2))


def _moments(images: np.ndarray):
    g = _grey(images)
    _, h, w = g.shape
    mass = g.sum(axis=(1, 2)) + 1e-8
    ys, xs = np.mgrid[0:h, 0:w]
    my = (g * ys).sum(axis=(1, 2)) / mass
    mx = (g * xs).sum(axis=(1, 2)) / mass
    dy = ys[None] - my[:, None, None]
    dx = xs[None] - mx[:, None, None]
    return g, mass, dy, dx


def slant(images: np.ndarray) -> np.ndarray:
    """Shear of the intensity per image (N,): cov(x, y) / var(y), with y pointing down, so
    a stroke leaning right (top to the right) is negative; a MNIST deskewing statistic."""
    g, mass, dy, dx = _moments(images)
    cov = (g * dx * dy).sum(axis=(1, 2)) / mass
    var = (g * dy * dy).sum(axis=(1, 2)) / mass + 1e-8
    return cov / var


def width(images: np.ndarray) -> np.ndarray:
    """Horizontal spread of the intensity per image (N,): its standard deviation in pixels."""
    g, mass, _, dx = _moments(images)
    return np.sqrt((g * dx * dx).sum(axis=(1, 2)) / mass)


ATTRIBUTES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "ink": ink, "slant": slant, "width": width}
"""Name -> ``fn(images (N, C, H, W) in [0, 1]) -> (N,)``."""


def attribute_vector(decode: Callable[[np.ndarray], np.ndarray], latent: int,
                     attribute: Callable[[np.ndarray], np.ndarray], n: int = 2000,
                     frac: float = 0.1, rng: np.random.Generator | None = None):
    """The latent direction of ``attribute`` (latent,) and the scores of the n draws.

    Args:
        decode: codes (M, latent) float32 -> images (M, C, H, W) in [0, 1].
        latent: the latent size; codes are drawn from N(0, I) as the models' priors.
        attribute: images -> (M,) scores (one of :data:`ATTRIBUTES` or your own).
        n: draws; frac: the top and bottom fraction averaged (at least one each).
    """
    if not 0 < frac <= 0.5:
        raise ValueError(f"arithmetic: frac must be in (0, 0.5], got {frac}")
    if n < 2:
        raise ValueError(f"arithmetic: n must be >= 2, got {n}")
    rng = np.random.default_rng(rng)
    z = rng.standard_normal((n, latent)).astype(np.float32)
    scores = np.asarray(attribute(decode(z)), dtype=np.float64)
    k = max(1, int(round(frac * n)))
    order = np.argsort(scores)
    v = z[order[-k:]].mean(axis=0) - z[order[:k]].mean(axis=0)
    return v.astype(np.float32), scores


def apply_attribute(decode, z: np.ndarray, v: np.ndarray, alphas) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """Decode ``z + α·v`` for every code and α: images (len(z)·len(alphas), C, H, W), row by
    row (one row per code), and the codes themselves."""
    alphas = np.asarray(alphas, dtype=np.float32)
    codes = (z[:, None, :] + alphas[None, :, None] * v[None, None, :]).reshape(-1, z.shape[1])
    return decode(codes.astype(np.float32)), codes
