"""Figures of generative runs: sample grids, toy scatter plots, interpolations, the 2-D
latent manifold. Every file is written atomically (PNG)."""

from __future__ import annotations

import io

import numpy as np

from fovea.train.checkpoint import atomic_write_bytes

__all__ = ["image_grid", "save_grid", "save_samples"]


def image_grid(images: np.ndarray, nrow: int, pad: int = 1) -> np.ndarray:
    """Images (N, C, H, W) in [0, 1] -> one uint8 (H', W') or (H', W', 3) grid, nrow per row."""
    x = np.clip(np.asarray(images, dtype=np.float32), 0, 1)
    n, c, h, w = x.shape
    rows = -(-n // nrow)
    grid = np.ones((c, rows * (h + pad) + pad, nrow * (w + pad) + pad), np.float32)
    for k in range(n):
        r, q = divmod(k, nrow)
        grid[:, pad + r * (h + pad):pad + r * (h + pad) + h,
             pad + q * (w + pad):pad + q * (w + pad) + w] = x[k]
    out = (grid * 255 + 0.5).astype(np.uint8)
    return out[0] if c == 1 else out.transpose(1, 2, 0)


def save_grid(images: np.ndarray, path, nrow: int = 8, scale: int | None = None) -> None:
    """Write a PNG grid of images (N, C, H, W) in [0, 1], enlarged for small images."""
    from PIL import Image

    grid = image_grid(images, nrow)
    im = Image.fromarray(grid)
    scale = scale or max(1, 128 // max(images.shape[2], 1))
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def save_scatter(points: np.ndarray, path, centers: np.ndarray | None = None,
                 title: str = "", radius: float | None = None) -> None:
    """Write a scatter plot of 2-D points (N, 2), with the modes as crosses and, given a
    ``radius``, a circle of that radius around each (the high-quality region, 3σ)."""
    from fovea.train.report import _figure, _save

    plt = _figure()
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.4, label="samples")
    if centers is not None:
        ax.scatter(centers[:, 0], centers[:, 1], marker="x", c="red", s=30,
                   label="modes, 3σ circles" if radius else "modes")
        for c in centers if radius else ():
            ax.add_patch(plt.Circle(tuple(c), radius, fill=False, color="red", lw=0.6))
    ax.set_aspect("equal")
    ax.set_title(title, pad=16)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 0.99), ncol=2, fontsize=7, frameon=False)
    _save(fig, path)


def save_samples(samples: np.ndarray, path, data, nrow: int = 8) -> None:
    """A run's samples: a grid for images, a scatter plot (with the modes) for toy points."""
    if data.is_toy:
        from fovea.generative.toy import TOY_SETS, toy_centers

        save_scatter(samples, path, toy_centers(data.name), title=data.name,
                     radius=3 * TOY_SETS[data.name])
    else:
        save_grid(samples, path, nrow=nrow)
