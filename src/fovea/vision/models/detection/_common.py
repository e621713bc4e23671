"""What every detector shares: batching and normalising images, checking targets, the
backbone, and turning scores and boxes into per-image detections."""

from __future__ import annotations

import numpy as np

import fovea
from fovea import nn
from fovea.tensor import Tensor
from fovea.vision.ops import batched_nms, check_boxes, clip_boxes_to_image

MEAN, STD = 0.5, 0.25
"""Images in [0, 1] are normalised as (x - MEAN) / STD inside the models."""


def batch_images(images) -> Tensor:
    """(N, C, H, W) Tensor from a Tensor or a list of same-sized (C, H, W) Tensors/arrays,
    normalised with :data:`MEAN` and :data:`STD`."""
    if isinstance(images, list | tuple):
        shapes = {tuple(np.shape(i)) for i in images}
        if len(shapes) != 1:
            raise ValueError(f"detector: images in a batch must share one size (resize them "
                             f"first), got {sorted(shapes)}")
        images = fovea.stack([i if isinstance(i, Tensor) else fovea.tensor(np.asarray(i))
                              for i in images])
    if images.dim() != 4:
        raise ValueError(f"detector: expected images (N, C, H, W), got {tuple(images.shape)}")
    return (images - MEAN) / STD


def check_targets(targets, n: int, image_size, name: str) -> list[dict]:
    """NumPy copies of the targets: boxes (K, 4) float64 xyxy, labels (K,) int64, masks.

    Degenerate boxes (x2 < x1 or y2 < y1) and labels < 1 are refused with a one-line
    error; boxes reaching outside the image are clipped to it (as documented). An image
    with no boxes is fine: all its anchors/proposals become background.
    """
    if targets is None or len(targets) != n:
        raise ValueError(f"{name}: in training mode pass one target dict per image ({n}), got "
                         f"{None if targets is None else len(targets)}")
    out = []
    for i, t in enumerate(targets):
        if "boxes" not in t or "labels" not in t:
            raise ValueError(f"{name}: target {i} needs 'boxes' and 'labels'")
        b = np.asarray(t["boxes"].numpy() if isinstance(t["boxes"], Tensor) else t["boxes"],
                       np.float64).reshape(-1, 4)
        check_boxes(b, f"{name}: target {i}")
        b = clip_boxes_to_image(fovea.tensor(b), image_size).numpy()
        lab = np.asarray(t["labels"].numpy() if isinstance(t["labels"], Tensor)
                         else t["labels"], np.int64).reshape(-1)
        if len(lab) != len(b):
            raise ValueError(f"{name}: target {i} has {len(b)} boxes but {len(lab)} labels")
        if len(lab) and lab.min() < 1:
            raise ValueError(f"{name}: target {i} has label {int(lab.min())}; labels start at "
                             f"1 (0 is the background)")
        d = {"boxes": b, "labels": lab}
        if "masks" in t:
            m = t["masks"]
            d["masks"] = np.asarray(m.numpy() if isinstance(m, Tensor) else m, np.float64)
        out.append(d)
    return out


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU())


class Backbone(nn.Module):
    """A small ConvNet returning features at strides 8 and 16: ``forward(x) -> [c3, c4]``
    with c3 (N, 4w, H/8, W/8) and c4 (N, 4w, H/16, W/16). ``out_channels = 4 * width``."""

    def __init__(self, in_channels: int = 3, width: int = 16):
        super().__init__()
        w = width
        self.stem = nn.Sequential(conv_bn(in_channels, w), conv_bn(w, w, 2))          # /2
        self.layer2 = nn.Sequential(conv_bn(w, 2 * w, 2), conv_bn(2 * w, 2 * w))    # /4
        self.layer3 = nn.Sequential(conv_bn(2 * w, 4 * w, 2), conv_bn(4 * w, 4 * w))  # /8
        self.layer4 = nn.Sequential(conv_bn(4 * w, 4 * w, 2), conv_bn(4 * w, 4 * w))  # /16
        self.out_channels = 4 * w

    def forward(self, x):
        c3 = self.layer3(self.layer2(self.stem(x)))
        return [c3, self.layer4(c3)]


def postprocess(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, image_size,
                score_thresh: float, nms_thresh: float, detections: int,
                min_size: float = 1e-2) -> dict:
    """Threshold, clip, drop tiny boxes, class-wise NMS, keep the best ``detections``:
    returns ``{"boxes": (D, 4), "scores": (D,), "labels": (D,)}`` Tensors (D may be 0)."""
    keep = scores > score_thresh
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    h, w = image_size
    boxes = np.stack([boxes[:, 0].clip(0, w), boxes[:, 1].clip(0, h), boxes[:, 2].clip(0, w),
                      boxes[:, 3].clip(0, h)], 1).reshape(-1, 4)
    big = ((boxes[:, 2] - boxes[:, 0]) >= min_size) & ((boxes[:, 3] - boxes[:, 1]) >= min_size)
    boxes, scores, labels = boxes[big], scores[big], labels[big]
    keep = batched_nms(boxes, scores, labels, nms_thresh).numpy()[:detections]
    return {"boxes": fovea.tensor(boxes[keep].astype(np.float32)),
            "scores": fovea.tensor(scores[keep].astype(np.float32)),
            "labels": fovea.tensor(labels[keep].astype(np.int64))}
