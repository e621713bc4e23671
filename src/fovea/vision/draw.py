"""Drawing predictions: torchvision.utils' ``draw_bounding_boxes`` and
``draw_segmentation_masks`` on uint8 (3, H, W) images (Pillow draws the boxes and text)."""

from __future__ import annotations

import numpy as np

from fovea.tensor import Tensor

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "to_uint8", "PALETTE"]

PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
                    [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230],
                    [210, 245, 60], [0, 128, 128]], np.uint8)
"""Colour of class i (0, the background, is black); classes beyond wrap around."""


def _np(x):
    return x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)


def to_uint8(image) -> np.ndarray:
    """(3, H, W) float in [0, 1] (or uint8) -> uint8 (3, H, W)."""
    a = _np(image)
    return a if a.dtype == np.uint8 else (np.clip(a, 0, 1) * 255).round().astype(np.uint8)


def draw_bounding_boxes(image, boxes, labels=None, colors=None, width: int = 1) -> np.ndarray:
    """Draw xyxy ``boxes`` (K, 4) with optional text ``labels`` (K strings) on ``image``
    (3, H, W); returns uint8 (3, H, W). ``colors``: one RGB tuple per box (default: by
    position in :data:`PALETTE`)."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(to_uint8(image).transpose(1, 2, 0).copy())
    draw = ImageDraw.Draw(img)
    b = _np(boxes).reshape(-1, 4)
    for k, box in enumerate(b):
        c = tuple(int(v) for v in (colors[k] if colors is not None
                                   else PALETTE[1 + k % (len(PALETTE) - 1)]))
        draw.rectangle([float(v) for v in box], outline=c, width=width)
        if labels is not None:
            draw.text((float(box[0]) + 1, float(box[1])), str(labels[k]), fill=c)
    return np.asarray(img).transpose(2, 0, 1).copy()


def draw_segmentation_masks(image, masks, alpha: float = 0.5, colors=None) -> np.ndarray:
    """Blend boolean ``masks`` (K, H, W) into ``image`` (3, H, W) with weight ``alpha``;
    returns uint8 (3, H, W)."""
    out = to_uint8(image).astype(np.float64)
    m = _np(masks).astype(bool).reshape(-1, *out.shape[1:])
    for k, mk in enumerate(m):
        c = np.asarray(colors[k] if colors is not None
                       else PALETTE[1 + k % (len(PALETTE) - 1)], np.float64)[:, None]
        out[:, mk] = (1 - alpha) * out[:, mk] + alpha * c
    return out.round().astype(np.uint8)
