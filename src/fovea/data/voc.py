"""Pascal VOC XML annotations: :func:`parse_voc_xml` and :class:`VOCDetection`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from fovea.data.dataset import Dataset

__all__ = ["parse_voc_xml", "VOCDetection", "VOC_CLASSES"]

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
               "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
               "sheep", "sofa", "train", "tvmonitor")


def parse_voc_xml(path) -> dict:
    """One VOC annotation file -> ``{"filename", "size": (height, width, depth), "objects":
    [{"name", "bbox": [xmin, ymin, xmax, ymax], "difficult", "truncated"}]}``. VOC's pixel
    coordinates are 1-based and inclusive; they are returned as written."""
    root = ET.parse(path).getroot()
    size = root.find("size")
    dims = tuple(int(size.findtext(k, "0")) for k in ("height", "width", "depth")) \
        if size is not None else (0, 0, 0)
    objects = []
    for obj in root.iter("object"):
        bb = obj.find("bndbox")
        if bb is None:
            raise ValueError(f"parse_voc_xml: {path}: object {obj.findtext('name')!r} has no "
                             f"bndbox")
        objects.append({"name": obj.findtext("name", "").strip(),
                        "bbox": [float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")],
                        "difficult": int(obj.findtext("difficult", "0") or 0),
                        "truncated": int(obj.findtext("truncated", "0") or 0)})
    return {"filename": root.findtext("filename", ""), "size": dims, "objects": objects}


class VOCDetection(Dataset):
    """A VOC-layout data set: ``root/Annotations/*.xml`` and ``root/JPEGImages/``; items are
    ``(image (3, H, W) float32, target)`` with ``boxes`` (K, 4) xyxy in 0-based pixel-edge
    coordinates (``xmin - 1, ymin - 1, xmax, ymax``), ``labels`` 1-based indices into
    ``classes``, ``difficult``. An object of a class not in ``classes`` is refused by name."""

    def __init__(self, root, classes=VOC_CLASSES, image_set=None, transforms=None):
        self.root, self.classes, self.transforms = Path(root), tuple(classes), transforms
        ann_dir = self.root / "Annotations"
        if image_set is not None:
            ids = (self.root / "ImageSets" / "Main" / f"{image_set}.txt").read_text().split()
            self.files = [ann_dir / f"{i}.xml" for i in ids]
        else:
            self.files = sorted(ann_dir.glob("*.xml"))

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        from PIL import Image

        ann = parse_voc_xml(self.files[index])
        for o in ann["objects"]:
            if o["name"] not in self.classes:
                raise ValueError(f"VOCDetection: {self.files[index].name}: unknown class "
                                 f"{o['name']!r} (known: {', '.join(self.classes)})")
        with Image.open(self.root / "JPEGImages" / ann["filename"]) as im:
            img = np.asarray(im.convert("RGB"), np.float32).transpose(2, 0, 1) / 255.0
        b = np.asarray([o["bbox"] for o in ann["objects"]], np.float32).reshape(-1, 4)
        b[:, :2] -= 1
        target = {"boxes": b,
                  "labels": np.asarray([self.classes.index(o["name"]) + 1
                                        for o in ann["objects"]], np.int64),
                  "difficult": np.asarray([o["difficult"] for o in ann["objects"]], np.int64),
                  "image_id": index}
        if self.transforms is not None:
            img, target = self.transforms(img, target, np.random.default_rng(index))
        return img, target
