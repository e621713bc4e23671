"""The COCO JSON format: masks as RLE (uncompressed counts or COCO's compressed string) and
polygons, reading a data set (:class:`CocoDetection`) and writing one (:func:`write_coco`).

A COCO file is ``{"images": [{"id", "file_name", "height", "width"}], "annotations": [{"id",
"image_id", "category_id", "bbox": [x, y, w, h], "area", "iscrowd", "segmentation"}],
"categories": [{"id", "name", "supercategory"}]}``; ``segmentation`` is a list of polygons
``[[x1, y1, x2, y2, ...], ...]`` or an RLE ``{"size": [h, w], "counts": ...}`` whose counts
alternate runs of 0s and 1s over the mask in column-major (Fortran) order, starting with 0s.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from fovea.data.dataset import Dataset

__all__ = ["rle_encode", "rle_decode", "rle_to_string", "rle_from_string", "polygons_to_mask",
           "mask_to_polygons", "annotation_to_mask", "load_coco", "write_coco", "CocoDetection"]


def rle_encode(mask) -> dict:
    """(H, W) 0/1 mask -> ``{"size": [H, W], "counts": [runs...]}`` (uncompressed RLE)."""
    m = np.asarray(mask).astype(bool)
    if m.ndim != 2:
        raise ValueError(f"rle_encode: mask must be 2-d (H, W), got shape {m.shape}")
    flat = m.reshape(-1, order="F").astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    edges = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(edges).tolist()
    if flat.size and flat[0] == 1:  # runs start with zeros
        counts = [0] + counts
    return {"size": [int(m.shape[0]), int(m.shape[1])], "counts": counts}


def rle_decode(rle: dict) -> np.ndarray:
    """RLE (counts as a list or COCO's compressed string) -> (H, W) uint8 mask."""
    h, w = rle["size"]
    counts = rle["counts"]
    if isinstance(counts, str | bytes):
        counts = rle_from_string(counts)
    counts = np.asarray(counts, np.int64)
    if counts.sum() != h * w:
        raise ValueError(f"rle_decode: the runs cover {int(counts.sum())} pixels, not "
                         f"{h} x {w} = {h * w}")
    values = np.arange(len(counts)) % 2
    return np.repeat(values, counts).astype(np.uint8).reshape((h, w), order="F")


def rle_to_string(counts) -> str:
    """COCO's compressed counts string (pycocotools' ``rleToString``): each run, from the
    third on as the difference from the run two before, in 5-bit groups with a continuation
    bit, each group + 48 as one ASCII character."""
    out = []
    counts = [int(c) for c in counts]
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = (x != -1) if (ch & 0x10) else (x != 0)
            if more:
                ch |= 0x20
            out.append(chr(ch + 48))
    return "".join(out)


def rle_from_string(s) -> list[int]:
    """The inverse of :func:`rle_to_string`."""
    if isinstance(s, bytes):
        s = s.decode("ascii")
    counts, p = [], 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def polygons_to_mask(polygons, height: int, width: int) -> np.ndarray:
    """Rasterise COCO polygons (lists of x, y pairs) to an (H, W) uint8 mask: a pixel is in
    when its centre is inside an odd number of polygon edges' crossings (even-odd rule; the
    union over the polygons). pycocotools rasterises edges slightly differently, so masks can
    differ on boundary pixels."""
    yy, xx = np.mgrid[0:height, 0:width] + 0.5
    mask = np.zeros((height, width), bool)
    for poly in polygons:
        p = np.asarray(poly, np.float64).reshape(-1, 2)
        if len(p) < 3:
            raise ValueError(f"polygons_to_mask: a polygon needs 3 or more points, got {len(p)}")
        x0, y0 = p[:, 0], p[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        inside = np.zeros((height, width), bool)
        for a, b, c, d in zip(x0, y0, x1, y1):  # one vectorised pass per edge
            crosses = (b > yy) != (d > yy)
            with np.errstate(divide="ignore", invalid="ignore"):
                xc = a + (yy - b) * (c - a) / (d - b)
            inside ^= crosses & (xx < xc)
        mask |= inside
    return mask.astype(np.uint8)


def mask_to_polygons(mask) -> list[list[float]] | None:
    """COCO polygons ``[[x1, y1, x2, y2, ...], ...]`` that trace an (H, W) mask exactly along
    its pixel edges, or None when polygons cannot hold it (a mask with holes: COCO polygons
    are a union of filled outlines).

    Every side of a foreground pixel that borders background becomes a directed unit edge
    (foreground on its left); the edges are chained into closed outlines, and straight runs
    are merged into one segment. Rasterising the result with :func:`polygons_to_mask` (pixel
    centres) gives the mask back exactly; pycocotools' rasteriser agrees up to boundary
    pixels.
    """
    m = np.asarray(mask).astype(bool)
    if m.ndim != 2:
        raise ValueError(f"mask_to_polygons: expected an (H, W) mask, got shape {m.shape}")
    if not m.any():
        return []
    p = np.pad(m, 1)
    inner = p[1:-1, 1:-1]
    r, c = np.nonzero(inner & ~p[:-2, 1:-1])      # top sides: (c+1, r) -> (c, r)
    edges = [((x + 1, y), (x, y)) for y, x in zip(r.tolist(), c.tolist())]
    r, c = np.nonzero(inner & ~p[2:, 1:-1])       # bottom sides: (c, r+1) -> (c+1, r+1)
    edges += [((x, y + 1), (x + 1, y + 1)) for y, x in zip(r.tolist(), c.tolist())]
    r, c = np.nonzero(inner & ~p[1:-1, :-2])      # left sides: (c, r) -> (c, r+1)
    edges += [((x, y), (x, y + 1)) for y, x in zip(r.tolist(), c.tolist())]
    r, c = np.nonzero(inner & ~p[1:-1, 2:])       # right sides: (c+1, r+1) -> (c+1, r)
    edges += [((x + 1, y + 1), (x + 1, y)) for y, x in zip(r.tolist(), c.tolist())]
    out: dict = {}
    for a, b in edges:
        out.setdefault(a, []).append(b)
    polygons = []
    while out:
        start = next(iter(out))
        loop, v = [start], start
        while True:
            nxt = out[v].pop()
            if not out[v]:
                del out[v]
            if nxt == start:
                break
            loop.append(nxt)
            v = nxt
        pts = np.array(loop, np.float64)
        prev, follow = np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0)
        turn = (pts - prev)[:, 0] * (follow - pts)[:, 1] - (pts - prev)[:, 1] * (follow - pts)[:, 0]
        pts = pts[turn != 0]  # keep the corners only
        polygons.append(pts.reshape(-1).tolist())
    if not np.array_equal(polygons_to_mask(polygons, *m.shape).astype(bool), m):
        return None  # holes: the union of the outlines would fill them
    return polygons


def annotation_to_mask(ann: dict, height: int, width: int) -> np.ndarray:
    """The (H, W) uint8 mask of one annotation (polygons or RLE; a box when it has none)."""
    seg = ann.get("segmentation")
    if isinstance(seg, dict):
        return rle_decode(seg)
    if isinstance(seg, list) and seg:
        return polygons_to_mask(seg, height, width)
    m = np.zeros((height, width), np.uint8)
    x, y, w, h = (int(round(v)) for v in ann["bbox"])
    m[max(y, 0):y + h, max(x, 0):x + w] = 1
    return m


def load_coco(path) -> dict:
    """Read and check a COCO JSON file: every annotation's ``image_id`` and ``category_id``
    must exist (an unknown id is refused with the id named), boxes must have w, h >= 0."""
    data = json.loads(Path(path).read_text())
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise ValueError(f"load_coco: {path} has no {key!r} list")
    check_coco(data, str(path))
    return data


def check_coco(data: dict, where: str = "COCO data") -> None:
    """Refuse annotations that name unknown images or categories, or negative box sizes."""
    cats = {c["id"] for c in data["categories"]}
    imgs = {i["id"] for i in data["images"]}
    for a in data["annotations"]:
        if a["category_id"] not in cats:
            raise ValueError(f"{where}: annotation {a.get('id')} has unknown category id "
                             f"{a['category_id']} (known: {sorted(cats)})")
        if a["image_id"] not in imgs:
            raise ValueError(f"{where}: annotation {a.get('id')} refers to unknown image id "
                             f"{a['image_id']}")
        if len(a["bbox"]) != 4 or a["bbox"][2] < 0 or a["bbox"][3] < 0:
            raise ValueError(f"{where}: annotation {a.get('id')} has a bad bbox {a['bbox']} "
                             f"(expected [x, y, width >= 0, height >= 0])")


def coco_dict(targets, image_sizes, categories, file_names=None, masks: bool = True,
              mask_format: str = "rle") -> dict:
    """Build a COCO dict from torchvision-style targets.

    Args:
        targets: one dict per image with ``boxes`` (K, 4) xyxy, ``labels`` (K,) category ids
            and optionally ``masks`` (K, H, W), ``iscrowd``, ``image_id``.
        image_sizes: ``(height, width)`` per image.
        categories: names, category ``i + 1`` is ``categories[i]`` (id 0 is the background),
            or a list of ``{"id", "name"}`` dicts.
        file_names: optional file name per image.
        masks: store instance masks as segmentations (when targets have them).
        mask_format: ``"rle"`` (exact for any mask) or ``"polygon"`` (outlines along the
            pixel edges, :func:`mask_to_polygons`; a mask with holes is stored as RLE).
    """
    if mask_format not in ("rle", "polygon"):
        raise ValueError(f"coco: mask_format must be 'rle' or 'polygon', got {mask_format!r}")
    if categories and isinstance(categories[0], str):
        categories = [{"id": i + 1, "name": n, "supercategory": "shape"}
                      for i, n in enumerate(categories)]
    images, anns = [], []
    for i, (t, (h, w)) in enumerate(zip(targets, image_sizes)):
        image_id = int(t.get("image_id", i))
        images.append({"id": image_id, "height": int(h), "width": int(w),
                       "file_name": file_names[i] if file_names else f"{image_id:06d}.png"})
        boxes = np.asarray(t["boxes"], np.float64).reshape(-1, 4)
        crowd = np.asarray(t.get("iscrowd", np.zeros(len(boxes))), np.int64)
        for k, (b, lab) in enumerate(zip(boxes, np.asarray(t["labels"]).reshape(-1))):
            ann = {"id": len(anns) + 1, "image_id": image_id, "category_id": int(lab),
                   "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                   "iscrowd": int(crowd[k]) if len(crowd) else 0}
            ann["area"] = ann["bbox"][2] * ann["bbox"][3]
            if masks and t.get("masks") is not None and len(t["masks"]):
                m = np.asarray(t["masks"][k])
                polys = mask_to_polygons(m) if mask_format == "polygon" else None
                ann["segmentation"] = polys if polys else rle_encode(m)
                ann["area"] = float(m.astype(bool).sum())
            anns.append(ann)
    data = {"images": images, "annotations": anns, "categories": list(categories)}
    check_coco(data)
    return data


def write_coco(path, targets, image_sizes, categories, file_names=None, images=None,
               masks: bool = True, mask_format: str = "rle") -> dict:
    """Write a COCO JSON file (see :func:`coco_dict`) and, when ``images`` ((3, H, W) float
    arrays in [0, 1]) are given, the images as PNG files next to it. Returns the dict."""
    from PIL import Image

    path = Path(path)
    data = coco_dict(targets, image_sizes, categories, file_names, masks, mask_format)
    if images is not None:
        for info, img in zip(data["images"], images):
            arr = (np.clip(np.asarray(img), 0, 1).transpose(1, 2, 0) * 255).round()
            Image.fromarray(arr.astype(np.uint8)).save(path.parent / info["file_name"])
    tmp = path.with_name(f".{path.name}.tmp")  # written whole, then renamed into place
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
    return data


class CocoDetection(Dataset):
    """A COCO-format detection data set: ``(image (3, H, W) float32 in [0, 1], target)`` with
    target ``boxes`` (K, 4) xyxy float32, ``labels`` (K,) int64 category ids, ``masks``
    (K, H, W) uint8, ``iscrowd``, ``area`` and ``image_id``; images without annotations give
    empty (0, 4) boxes.

    Args:
        root: the folder holding the images (``file_name`` is relative to it).
        ann_file: the COCO JSON file.
        transforms: optional ``f(image, target, rng) -> (image, target)``.
    """

    def __init__(self, root, ann_file, transforms=None):
        self.root, self.coco = Path(root), load_coco(ann_file)
        self.transforms = transforms
        self.images = self.coco["images"]
        self.categories = self.coco["categories"]
        self._anns: dict = {i["id"]: [] for i in self.images}
        for a in self.coco["annotations"]:
            self._anns[a["image_id"]].append(a)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        from PIL import Image

        info = self.images[index]
        with Image.open(self.root / info["file_name"]) as im:
            img = np.asarray(im.convert("RGB"), np.float32).transpose(2, 0, 1) / 255.0
        h, w = img.shape[1:]
        anns = self._anns[info["id"]]
        b = np.asarray([a["bbox"] for a in anns], np.float32).reshape(-1, 4)
        b[:, 2:] += b[:, :2]
        target = {"boxes": b, "labels": np.asarray([a["category_id"] for a in anns], np.int64),
                  "masks": np.stack([annotation_to_mask(a, h, w) for a in anns])
                  if anns else np.zeros((0, h, w), np.uint8),
                  "iscrowd": np.asarray([a.get("iscrowd", 0) for a in anns], np.int64),
                  "area": np.asarray([a.get("area", 0.0) for a in anns], np.float32),
                  "image_id": info["id"]}
        if self.transforms is not None:
            img, target = self.transforms(img, target, np.random.default_rng(index))
        return img, target
