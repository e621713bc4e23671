"""Classification plus localisation (lecture 11): one object per image, a shared ConvNet and
two heads, class scores and a box, trained with a multitask loss.

``loss = cross_entropy(class scores, label) + box_weight * smooth_l1(box, target box)``, the
box predicted as ``sigmoid`` of four outputs: ``(cx, cy, w, h)`` as fractions of the image
size, so the regression target is scale-free.
"""

from __future__ import annotations

import numpy as np

import fovea
import fovea.nn.functional as F
from fovea import nn
from fovea.tensor import Tensor
from fovea.vision.models.detection._common import Backbone, batch_images
from fovea.vision.ops import box_convert

__all__ = ["ClassifierLocalizer"]


class ClassifierLocalizer(nn.Module):
    """One object per image: ``forward(images, targets=None)``.

    In training mode ``targets`` is one dict per image with ``boxes`` (1, 4) xyxy and
    ``labels`` (1,) in 1..num_classes, and the result is ``{"loss_classifier",
    "loss_box_reg"}``; in eval mode one dict per image with ``boxes`` (1, 4) xyxy pixels,
    ``labels`` (1,) and ``scores`` (1,) (the softmax probability of the label).
    """

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16,
                 box_weight: float = 5.0):
        super().__init__()
        self.num_classes, self.box_weight = num_classes, box_weight
        self.backbone = Backbone(in_channels, width)
        c = self.backbone.out_channels
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(c * 16, 128), nn.ReLU())
        self.cls = nn.Linear(128, num_classes)
        self.box = nn.Linear(128, 4)

    def forward(self, images, targets=None):
        x = batch_images(images)
        h, w = x.shape[-2:]
        feat = F.adaptive_avg_pool2d(self.backbone(x)[1], 4)
        z = self.fc(feat)
        scores, box = self.cls(z), self.box(z).sigmoid()
        scale = np.array([w, h, w, h], np.float32)
        if self.training:
            if targets is None or any(len(t["labels"]) != 1 for t in targets):
                raise ValueError("ClassifierLocalizer: training needs exactly one box and label "
                                 "per image")
            boxes = np.concatenate([_np(t["boxes"]).reshape(1, 4) for t in targets])
            labels = np.concatenate([_np(t["labels"]).reshape(1) for t in targets]) - 1
            tgt = box_convert(fovea.tensor((boxes / scale).astype(np.float32)), "xyxy", "cxcywh")
            return {"loss_classifier": F.cross_entropy(scores, fovea.tensor(labels)),
                    "loss_box_reg": self.box_weight * F.smooth_l1_loss(box, tgt, beta=0.05)}
        p = F.softmax(scores, dim=1).numpy()
        xyxy = box_convert(box, "cxcywh", "xyxy").numpy() * scale
        lab = p.argmax(1)
        return [{"boxes": fovea.tensor(xyxy[i:i + 1].astype(np.float32)),
                 "labels": fovea.tensor(lab[i:i + 1] + 1),
                 "scores": fovea.tensor(p[i, lab[i]:lab[i] + 1].astype(np.float32))}
                for i in range(len(lab))]


def _np(x):
    return x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)
