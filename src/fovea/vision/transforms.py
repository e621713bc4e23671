"""Box-aware augmentation and the detection collate function.

A transform is ``t(image, target, rng) -> (image, target)`` on NumPy data: ``image`` (C, H, W)
float, ``target`` a dict with ``boxes`` (K, 4) xyxy, ``labels`` (K,) and optionally
``masks`` (K, H, W) and ``semantic`` (H, W). Geometry changes move boxes, masks and the
semantic map together; an object cropped away is dropped from every per-object field.
"""

from __future__ import annotations

import numpy as np

import fovea
import fovea.nn.functional as F
from fovea.tensor import Tensor

__all__ = ["Compose", "RandomHorizontalFlip", "Resize", "RandomCrop", "detection_collate"]

_PER_OBJECT = ("boxes", "labels", "masks", "area", "iscrowd", "difficult")


def _keep(target: dict, keep: np.ndarray) -> dict:
    return {k: (np.asarray(v)[keep] if k in _PER_OBJECT else v) for k, v in target.items()}


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, image, target, rng):
        for t in self.transforms:
            image, target = t(image, target, rng)
        return image, target


class RandomHorizontalFlip:
    """Mirror left-right with probability p: x1' = W - x2, x2' = W - x1."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, image, target, rng):
        if rng.random() >= self.p:
            return image, target
        w = image.shape[-1]
        t = dict(target)
        b = np.asarray(target["boxes"], np.float32).copy()
        t["boxes"] = np.stack([w - b[:, 2], b[:, 1], w - b[:, 0], b[:, 3]], 1).reshape(-1, 4)
        for k in ("masks", "semantic"):
            if k in t:
                t[k] = np.ascontiguousarray(np.asarray(t[k])[..., ::-1])
        return np.ascontiguousarray(image[..., ::-1]), t


class Resize:
    """Resize to ``size = (height, width)``: the image bilinearly, masks and the semantic
    map by nearest neighbour, boxes scaled by (W'/W, H'/H)."""

    def __init__(self, size):
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, image, target, rng):
        h, w = image.shape[-2:]
        nh, nw = self.size
        img = F.interpolate(fovea.tensor(image[None]), size=(nh, nw), mode="bilinear")[0].numpy()
        t = dict(target)
        t["boxes"] = np.asarray(t["boxes"], np.float32) * np.array(
            [nw / w, nh / h, nw / w, nh / h], np.float32)
        rows = np.minimum((np.arange(nh) + 0.5) * h / nh, h - 1).astype(np.int64)
        cols = np.minimum((np.arange(nw) + 0.5) * w / nw, w - 1).astype(np.int64)
        for k in ("masks", "semantic"):
            if k in t:
                t[k] = np.asarray(t[k])[..., rows[:, None], cols[None, :]]
        if "area" in t:
            t["area"] = np.asarray(t["area"], np.float32) * (nh * nw) / (h * w)
        return img, t


class RandomCrop:
    """Crop a random ``size = (height, width)`` window. Boxes are clipped to it; a box that
    keeps less than ``min_visible`` of its area is dropped (with its label and mask), so
    boxes and masks stay consistent."""

    def __init__(self, size, min_visible: float = 0.5):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.min_visible = min_visible

    def __call__(self, image, target, rng):
        h, w = image.shape[-2:]
        ch, cw = self.size
        if ch > h or cw > w:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the image {(h, w)}")
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        b = np.asarray(target["boxes"], np.float32).reshape(-1, 4)
        nb = b - np.array([x0, y0, x0, y0], np.float32)
        nb[:, 0::2] = nb[:, 0::2].clip(0, cw)
        nb[:, 1::2] = nb[:, 1::2].clip(0, ch)
        area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
        with np.errstate(invalid="ignore", divide="ignore"):
            keep = area(nb) >= self.min_visible * np.maximum(area(b), 1e-9)
        t = dict(target)
        t["boxes"] = nb
        for k in ("masks", "semantic"):
            if k in t:
                t[k] = np.ascontiguousarray(np.asarray(t[k])[..., y0:y0 + ch, x0:x0 + cw])
        t = _keep(t, keep)
        if "masks" in t and len(t["masks"]):  # the area of what the crop left visible
            t["area"] = t["masks"].sum((1, 2)).astype(np.float32)
        return np.ascontiguousarray(image[..., y0:y0 + ch, x0:x0 + cw]), t


def _to_tensor(v):
    if isinstance(v, Tensor):
        return v
    a = np.asarray(v)
    return fovea.tensor(np.ascontiguousarray(a)) if a.dtype.kind in "biuf" else v


def detection_collate(batch):
    """[(image (C, H, W), target dict), ...] -> (images, targets): images stacked into an
    (N, C, H, W) Tensor when they share a size (else a list of (C, H, W) Tensors), targets a
    list of dicts of Tensors, each with its own number of boxes (zero included)."""
    images = [np.asarray(b[0]) for b in batch]
    targets = [{k: _to_tensor(v) for k, v in b[1].items()} for b in batch]
    if len({i.shape for i in images}) == 1:
        return fovea.tensor(np.stack(images)), targets
    return [fovea.tensor(i) for i in images], targets
