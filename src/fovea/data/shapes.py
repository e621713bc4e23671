"""Shapes: a synthetic detection and segmentation data set generated on the fly.

Each image (3, S, S) float32 in [0, 1] shows 0..``max_objects`` squares, circles and
triangles of random colours and sizes on a textured background (smooth colour gradients,
stripes and noise). Objects may overlap: later ones occlude earlier ones, their masks are the
*visible* pixels, and an object left with fewer than ``min_visible`` pixels is dropped.
``p_empty`` of the images have no object at all (so detectors learn from empty images too).

Image ``i`` of a split is drawn from ``numpy.random.default_rng((seed, split, i))``: the same
seed always gives the same images, any image can be made alone, and the splits differ.

Targets follow torchvision's detection format: ``boxes`` (K, 4) float32 xyxy in pixel-edge
coordinates (a mask spanning columns 3..7 gives x1 = 3, x2 = 8), ``labels`` (K,) int64 in
1..3 (0 is the background), ``masks`` (K, S, S) uint8, plus ``semantic`` (S, S) int64 (the
class of each pixel, 0 background), ``area``, ``iscrowd`` and ``image_id``.
"""

from __future__ import annotations

import numpy as np

from fovea.data.dataset import Dataset

__all__ = ["Shapes", "SHAPE_CLASSES", "make_shapes_image"]

SHAPE_CLASSES = ("background", "square", "circle", "triangle")
_SPLITS = {"train": 0, "val": 1, "test": 2}


def _background(rng, s: int) -> np.ndarray:
    """A dull textured background: a colour gradient, faint stripes and pixel noise."""
    yy, xx = np.mgrid[0:s, 0:s] / s
    c0, c1 = rng.uniform(0.2, 0.6, 3), rng.uniform(0.2, 0.6, 3)
    t = rng.uniform(0, 1) * yy + rng.uniform(0, 1) * xx
    img = c0[:, None, None] + (c1 - c0)[:, None, None] * (t / max(t.max(), 1e-6))[None]
    angle, freq = rng.uniform(0, np.pi), rng.uniform(4, 12)
    stripes = np.sin(2 * np.pi * freq * (np.cos(angle) * xx + np.sin(angle) * yy))
    img = img + 0.06 * stripes[None] + rng.normal(0, 0.03, (3, s, s))
    return img


def _shape_mask(kind: int, cx: float, cy: float, r: float, s: int) -> np.ndarray:
    yy, xx = np.mgrid[0:s, 0:s] + 0.5  # pixel centres
    if kind == 1:    # square of half-side r
        return (np.abs(xx - cx) <= r) & (np.abs(yy - cy) <= r)
    if kind == 2:    # circle of radius r
        return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    top, bottom = cy - r, cy + r  # triangle pointing up, base 2r, height 2r
    frac = (yy - top) / (bottom - top)
    return (yy >= top) & (yy <= bottom) & (np.abs(xx - cx) <= frac * r)


def _colour(rng) -> np.ndarray:
    """A saturated, bright colour (HSV with s, v in [0.7, 1]) that stands out of the
    dull background."""
    h, sat, v = rng.uniform(0, 1), rng.uniform(0.7, 1.0), rng.uniform(0.75, 1.0)
    k = (np.array([5.0, 3.0, 1.0]) + h * 6) % 6
    return v - v * sat * np.clip(np.minimum(k, 4 - k), 0, 1)


def make_shapes_image(rng, image_size: int = 64, max_objects: int = 4, min_size: int = 6,
                      max_size: int = 16, p_empty: float = 0.1, min_visible: int = 30):
    """One image and its target (see the module docstring); sizes are half-sides/radii."""
    s = image_size
    img = _background(rng, s)
    n = 0 if rng.random() < p_empty else int(rng.integers(1, max_objects + 1))
    owner = np.full((s, s), -1, np.int64)
    kinds = []
    for j in range(n):
        kind = int(rng.integers(1, 4))
        r = rng.uniform(min_size, max_size)
        cx, cy = rng.uniform(r, s - r), rng.uniform(r, s - r)
        m = _shape_mask(kind, cx, cy, r, s)
        img[:, m] = (_colour(rng)[:, None] + rng.normal(0, 0.02, (3, int(m.sum()))))
        owner[m] = j
        kinds.append(kind)
    masks = (owner[None] == np.arange(n)[:, None, None]) if n else np.zeros((0, s, s), bool)
    keep = masks.sum((1, 2)) >= min_visible
    masks, labels = masks[keep], np.asarray(kinds, np.int64).reshape(-1)[keep]
    semantic = np.zeros((s, s), np.int64)
    for m, c in zip(masks, labels):
        semantic[m] = c
    rows, cols = masks.any(2), masks.any(1)
    boxes = np.zeros((len(masks), 4), np.float32)
    if len(masks):
        boxes[:, 0], boxes[:, 1] = cols.argmax(1), rows.argmax(1)
        boxes[:, 2] = s - cols[:, ::-1].argmax(1)
        boxes[:, 3] = s - rows[:, ::-1].argmax(1)
    target = {"boxes": boxes, "labels": labels, "masks": masks.astype(np.uint8),
              "semantic": semantic, "area": masks.sum((1, 2)).astype(np.float32),
              "iscrowd": np.zeros(len(masks), np.int64)}
    return np.clip(img, 0, 1).astype(np.float32), target


class Shapes(Dataset):
    """The Shapes data set: ``Shapes(split="train", num_images=1000, seed=0)[i]`` is
    ``(image (3, S, S) float32, target dict)`` (see the module docstring).

    Args:
        split: ``"train"``, ``"val"`` or ``"test"`` (independent streams of images).
        num_images: the split's length.
        seed: the data set's seed.
        image_size: S; other keyword arguments go to :func:`make_shapes_image`.
        transforms: optional ``f(image, target, rng) -> (image, target)`` applied after
            generation (box-aware augmentation from ``fovea.vision.transforms``); ``rng`` is
            seeded by the image index and ``epoch`` (see :meth:`set_epoch`).
    """

    classes = SHAPE_CLASSES

    def __init__(self, split: str = "train", num_images: int = 1000, seed: int = 0,
                 image_size: int = 64, transforms=None, **kwargs):
        if split not in _SPLITS:
            raise ValueError(f"Shapes: split must be one of {sorted(_SPLITS)}, got {split!r}")
        if num_images < 0 or image_size < 16:
            raise ValueError(f"Shapes: need num_images >= 0 and image_size >= 16, got "
                             f"{num_images} and {image_size}")
        self.split, self.num_images, self.seed = split, int(num_images), int(seed)
        self.image_size, self.transforms, self.kwargs = int(image_size), transforms, kwargs
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw new random augmentations for a new epoch (the images stay the same)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_images

    def __getitem__(self, index: int):
        if not -self.num_images <= index < self.num_images:
            raise IndexError(f"Shapes: index {index} is out of range for {self.num_images} "
                             f"images")
        index = int(index) % self.num_images
        rng = np.random.default_rng((self.seed, _SPLITS[self.split], index))
        img, target = make_shapes_image(rng, self.image_size, **self.kwargs)
        target["image_id"] = index
        if self.transforms is not None:
            aug = np.random.default_rng((self.seed, 100 + self.epoch, index))
            img, target = self.transforms(img, target, aug)
        return img, target
