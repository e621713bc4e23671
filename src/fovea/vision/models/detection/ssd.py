"""A single-shot detector: an SSD-style multi-scale anchor head with RetinaNet's focal loss.

Design (documented in docs/detection.md): a small backbone gives feature maps at strides 8
and 16; each cell of each map has ``len(sizes) x len(aspect_ratios)`` anchors; a shared
3x3 conv head predicts, per anchor, one sigmoid logit per class and four box deltas
(:class:`~fovea.vision.ops.BoxCoder`). Training matches anchors to ground truth by IoU
(>= 0.5 object, < 0.4 background, between ignored, plus each object's best anchors), and
sums the focal loss over all non-ignored anchors and a smooth-L1 box loss over the matched
ones, both divided by the number of matched anchors. Inference keeps scores > 0.05, decodes,
and runs class-wise NMS.
"""

from __future__ import annotations

import math

import numpy as np

import fovea
import fovea.nn.functional as F
from fovea import nn
from fovea.vision.models.detection._common import Backbone, batch_images, check_targets, postprocess
from fovea.vision.ops import AnchorGenerator, BoxCoder, Matcher, box_iou, sigmoid_focal_loss

__all__ = ["SingleShotDetector", "ssd_lite"]


class SingleShotDetector(nn.Module):
    """SSD-style detector (see the module docstring).

    Args:
        num_classes: object classes, background excluded (labels are 1..num_classes).
        width: backbone width (feature channels = 4 * width).
        anchor_sizes: per level (strides 8 and 16), the anchor sizes in pixels.
        aspect_ratios: anchor height / width ratios (the same at every level).

    ``forward(images, targets=None)``: in training mode returns ``{"classification":
    focal loss, "bbox_regression": smooth-L1 loss}``; in eval mode one dict per image with
    ``boxes`` (D, 4) xyxy, ``scores`` (D,), ``labels`` (D,).
    """

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16,
                 anchor_sizes=((12, 20), (28, 40)), aspect_ratios=(0.5, 1.0, 2.0),
                 score_thresh: float = 0.05, nms_thresh: float = 0.5,
                 detections_per_img: int = 100):
        super().__init__()
        self.num_classes = num_classes
        self.backbone = Backbone(in_channels, width)
        self.anchor_generator = AnchorGenerator(anchor_sizes, (tuple(aspect_ratios),))
        a = self.anchor_generator.num_anchors_per_location()[0]
        c = self.backbone.out_channels
        self.head = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU())
        self.cls_logits = nn.Conv2d(c, a * num_classes, 3, padding=1)
        self.bbox_pred = nn.Conv2d(c, a * 4, 3, padding=1)
        with fovea.no_grad():  # start every anchor at p = 0.01 (RetinaNet's prior)
            self.cls_logits.bias.fill_(-math.log(99.0))
            self.bbox_pred.weight.mul_(0.1)
            self.bbox_pred.bias.zero_()
        self.coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
        self.matcher = Matcher(0.5, 0.4, allow_low_quality_matches=True)
        self.score_thresh, self.nms_thresh = score_thresh, nms_thresh
        self.detections_per_img = detections_per_img

    def _head(self, feats):
        """Per-anchor class logits (N, A, K) and deltas (N, A, 4), anchors level by level."""
        logits, deltas = [], []
        for f in feats:
            h = self.head(f)
            n = f.shape[0]
            logits.append(self.cls_logits(h).permute(0, 2, 3, 1).reshape(n, -1,
                                                                           self.num_classes))
            deltas.append(self.bbox_pred(h).permute(0, 2, 3, 1).reshape(n, -1, 4))
        return fovea.cat(logits, dim=1), fovea.cat(deltas, dim=1)

    def forward(self, images, targets=None):
        x = batch_images(images)
        size = tuple(x.shape[-2:])
        feats = self.backbone(x)
        anchors = self.anchor_generator.grid_anchors(size, [tuple(f.shape[-2:]) for f in feats])
        logits, deltas = self._head(feats)
        if self.training:
            return self.loss(logits, deltas, anchors,
                             check_targets(targets, x.shape[0], size, "SingleShotDetector"))
        return self.detect(logits, deltas, anchors, size)

    def loss(self, logits, deltas, anchors, targets) -> dict:
        n, a, k = logits.shape
        cls_t = np.zeros((n, a, k), np.float32)
        valid = np.ones((n, a), bool)
        pos_rows, box_t = [], []
        for i, t in enumerate(targets):
            m = self.matcher(box_iou(t["boxes"], anchors).numpy() if len(t["boxes"])
                             else np.zeros((0, a)))
            valid[i] = m != Matcher.BETWEEN_THRESHOLDS
            pos = np.flatnonzero(m >= 0)
            cls_t[i, pos, t["labels"][m[pos]] - 1] = 1.0
            pos_rows.append(i * a + pos)
            if len(pos):
                box_t.append(self.coder.encode_single(t["boxes"][m[pos]], anchors[pos]).numpy())
        rows = np.concatenate(pos_rows)
        norm = max(len(rows), 1)
        focal = sigmoid_focal_loss(logits, fovea.tensor(cls_t, dtype=logits.dtype))
        mask = fovea.tensor(valid[..., None].astype(np.float32))
        loss_cls = (focal * mask).sum() / norm
        if len(rows):
            pred = deltas.reshape(-1, 4)[fovea.tensor(rows)]
            target = fovea.tensor(np.concatenate(box_t).astype(np.float32))
            loss_box = F.smooth_l1_loss(pred, target, reduction="sum", beta=1 / 9) / norm
        else:
            loss_box = deltas.sum() * 0.0
        return {"classification": loss_cls, "bbox_regression": loss_box}

    def detect(self, logits, deltas, anchors, size) -> list[dict]:
        probs = logits.sigmoid().numpy()
        out = []
        for i in range(probs.shape[0]):
            p = probs[i].reshape(-1)
            cand = np.flatnonzero(p > self.score_thresh)
            cand = cand[np.argsort(-p[cand], kind="stable")[:1000]]
            a_idx, c_idx = cand // self.num_classes, cand % self.num_classes
            boxes = self.coder.decode_single(deltas[i].detach()[fovea.tensor(a_idx)],
                                             anchors[a_idx]).numpy() if len(cand) \
                else np.zeros((0, 4))
            out.append(postprocess(boxes, p[cand], c_idx + 1, size, self.score_thresh,
                                   self.nms_thresh, self.detections_per_img))
        return out


def ssd_lite(num_classes: int = 3, **kwargs) -> SingleShotDetector:
    """The single-shot detector with its defaults (see :class:`SingleShotDetector`)."""
    return SingleShotDetector(num_classes, **kwargs)
