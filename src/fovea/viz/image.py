"""Turning arrays into pictures: scaling to [0, 1], image grids, heat-map overlays, PNG files.

Everything here works on NumPy arrays: images are (C, H, W) or (N, C, H, W) floats, maps
are (H, W) or (N, H, W). Nothing here touches the engine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["to_unit", "image_grid", "heatmap", "overlay", "save_png"]


def to_unit(a, per_item: bool = False) -> np.ndarray:
    """``a`` scaled linearly to [0, 1] (min to 0, max to 1); a constant array becomes 0.5.

    Args:
        a: any array; with ``per_item`` the first axis indexes items scaled separately.
    """
    a = np.asarray(a, dtype=np.float64)
    axes = tuple(range(1, a.ndim)) if per_item and a.ndim > 1 else None
    lo = a.min(axis=axes, keepdims=True)
    hi = a.max(axis=axes, keepdims=True)
    span = hi - lo
    return np.where(span > 0, (a - lo) / np.where(span > 0, span, 1), 0.5)


def image_grid(images, ncols: int | None = None, pad: int = 1, pad_value: float = 1.0,
               normalize: bool = True) -> np.ndarray:
    """Tile images into one picture.

    Args:
        images: (N, C, H, W) with C in {1, 3}, or (N, H, W).
        ncols: images per row (default: about √N).
        pad: pixels between tiles, filled with ``pad_value``.
        normalize: scale each image to [0, 1] on its own (filters, activations); else the
            values are clipped to [0, 1].

    Returns:
        (H', W', C) float array in [0, 1] (C = 1 or 3), ready for :func:`save_png`.
    """
    a = np.asarray(images, dtype=np.float64)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or a.shape[1] not in (1, 3):
        raise ValueError(f"image_grid: expected (N, C, H, W) with C = 1 or 3, or (N, H, W), "
                         f"got shape {a.shape}")
    n, c, h, w = a.shape
    a = to_unit(a, per_item=True) if normalize else np.clip(a, 0, 1)
    ncols = ncols or max(1, int(np.ceil(np.sqrt(n))))
    nrows = max(1, -(-n // ncols))
    out = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), pad_value)
    for i in range(n):  # one slice copy per image, not per pixel
        r, q = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        out[y:y + h, x:x + w] = a[i].transpose(1, 2, 0)
    return out


def heatmap(m) -> np.ndarray:
    """A map (H, W) as an RGB picture (H, W, 3) in [0, 1], black-red-yellow-white ('hot');
    a constant map (nothing stands out, e.g. an all-zero Grad-CAM) is black."""
    m = np.asarray(m, dtype=np.float64)
    t = to_unit(m) if m.max() > m.min() else np.zeros_like(m)
    return np.stack([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1), np.clip(3 * t - 2, 0, 1)],
                    axis=-1)


def overlay(image, m, alpha: float = 0.5) -> np.ndarray:
    """An image (C, H, W) in [0, 1] blended with the heat map of ``m`` (H, W): (H, W, 3)."""
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 3:
        img = img.transpose(1, 2, 0)
    if img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    return np.clip((1 - alpha) * img + alpha * heatmap(m), 0, 1)


def save_png(path, picture, scale: int = 1) -> Path:
    """Write (H, W), (H, W, 1) or (H, W, 3) values in [0, 1] as an 8-bit PNG, each pixel
    enlarged to ``scale`` × ``scale``; returns the path."""
    from PIL import Image

    a = np.asarray(picture, dtype=np.float64)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if scale > 1:
        a = a.repeat(scale, axis=0).repeat(scale, axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)).save(path)
    return path
