"""Faster R-CNN-lite and Mask R-CNN-lite: two-stage detectors small enough for a CPU.

Stage one, the region proposal network (RPN): on the stride-8 feature map of a small
backbone, a 3x3 conv and two 1x1 convs give, per anchor (several sizes and aspect ratios
per cell), an objectness logit and box deltas. Anchors are matched to objects (IoU >= 0.7
positive, < 0.3 negative, plus each object's best anchors) and a balanced sample of 256 per
image trains objectness (binary cross-entropy) and deltas (smooth L1). Proposals are the
decoded anchors, clipped, filtered by NMS at 0.7.

Stage two, the box head: RoIAlign (7x7, ``aligned=True``) pools each proposal's features,
two fully connected layers give class scores (background + classes) and class-specific box
deltas; in training, proposals (plus the ground-truth boxes) are matched at IoU 0.5 and 64
per image sampled with a quarter positive. Inference: softmax, decode per class, class-wise
NMS at 0.5.

The mask head (Mask R-CNN-lite) pools 14x14 features of the positive proposals, applies
convolutions and a 2x transposed convolution, and predicts a 28x28 mask logit per class; its
target is the object's mask sampled in the proposal box with ``roi_align`` (as torchvision
does), its loss the binary cross-entropy of the ground-truth class's channel. At inference
the detected boxes' masks are pasted into the image by bilinear sampling.
"""

from __future__ import annotations

import numpy as np

import fovea
import fovea.nn.functional as F
from fovea import nn
from fovea.vision.models.detection._common import Backbone, batch_images, check_targets, postprocess
from fovea.vision.ops import (
    AnchorGenerator,
    BalancedPositiveNegativeSampler,
    BoxCoder,
    Matcher,
    box_iou,
    nms,
    roi_align,
)

__all__ = ["FasterRCNNLite", "MaskRCNNLite", "faster_rcnn_lite", "mask_rcnn_lite",
           "mask_targets", "paste_masks_in_image"]


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return box_iou(a, b).numpy() if len(a) and len(b) else np.zeros((len(a), len(b)))


class RegionProposalNetwork(nn.Module):
    """The RPN (see the module docstring); ``forward(feature, image_size, targets)`` returns
    ``(proposals per image (P_i, 4) arrays, losses dict)``."""

    def __init__(self, channels: int, anchor_sizes=(12, 20, 32, 44),
                 aspect_ratios=(0.5, 1.0, 2.0), pre_nms_top_n=(300, 200),
                 post_nms_top_n=(150, 80), nms_thresh: float = 0.7,
                 generator=None):
        super().__init__()
        self.anchor_generator = AnchorGenerator((tuple(anchor_sizes),), (tuple(aspect_ratios),))
        a = self.anchor_generator.num_anchors_per_location()[0]
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.cls_logits = nn.Conv2d(channels, a, 1)
        self.bbox_pred = nn.Conv2d(channels, 4 * a, 1)
        with fovea.no_grad():
            self.bbox_pred.weight.mul_(0.1)
            self.bbox_pred.bias.zero_()
        self.coder = BoxCoder((1.0, 1.0, 1.0, 1.0))
        self.matcher = Matcher(0.7, 0.3, allow_low_quality_matches=True)
        self.sampler = BalancedPositiveNegativeSampler(256, 0.5)
        self.pre_nms_top_n, self.post_nms_top_n = pre_nms_top_n, post_nms_top_n
        self.nms_thresh = nms_thresh
        self.rng = generator if generator is not None else np.random.default_rng(0)

    def forward(self, feature, image_size, targets=None):
        n = feature.shape[0]
        h = F.relu(self.conv(feature))
        obj = self.cls_logits(h).permute(0, 2, 3, 1).reshape(n, -1)
        deltas = self.bbox_pred(h).permute(0, 2, 3, 1).reshape(n, -1, 4)
        anchors = self.anchor_generator.grid_anchors(image_size, [tuple(feature.shape[-2:])])
        proposals = self._proposals(obj.detach().numpy(), deltas.detach(), anchors, image_size)
        losses = {}
        if self.training:
            losses = self._loss(obj, deltas, anchors, targets)
        return proposals, losses

    def _proposals(self, obj, deltas, anchors, size):
        k = 0 if self.training else 1
        out = []
        for i in range(obj.shape[0]):
            top = np.argsort(-obj[i], kind="stable")[:self.pre_nms_top_n[k]]
            boxes = self.coder.decode_single(deltas[i][fovea.tensor(top)], anchors[top]).numpy()
            boxes[:, 0::2] = boxes[:, 0::2].clip(0, size[1])
            boxes[:, 1::2] = boxes[:, 1::2].clip(0, size[0])
            ok = ((boxes[:, 2] - boxes[:, 0]) >= 1e-3) & ((boxes[:, 3] - boxes[:, 1]) >= 1e-3)
            boxes, scores = boxes[ok], obj[i][top][ok]
            keep = nms(boxes, scores, self.nms_thresh).numpy()[:self.post_nms_top_n[k]]
            out.append(boxes[keep])
        return out

    def _loss(self, obj, deltas, anchors, targets):
        labels, box_t = [], []
        a = len(anchors)
        for i, t in enumerate(targets):
            m = self.matcher(_iou(t["boxes"], anchors))
            lab = (m >= 0).astype(np.int64)
            lab[m == Matcher.BETWEEN_THRESHOLDS] = -1
            labels.append(lab)
            pos = np.flatnonzero(m >= 0)
            if len(pos):
                box_t.append((i * a + pos, self.coder.encode_single(
                    t["boxes"][m[pos]], anchors[pos]).numpy()))
        pos_m, neg_m = self.sampler(labels, self.rng)
        sampled = np.flatnonzero(np.concatenate([p | q for p, q in zip(pos_m, neg_m)]))
        pos_all = np.flatnonzero(np.concatenate(pos_m))
        target = np.concatenate(labels)[sampled].astype(np.float32)
        loss_obj = F.binary_cross_entropy_with_logits(
            obj.reshape(-1)[fovea.tensor(sampled)], fovea.tensor(target, dtype=obj.dtype))
        enc = {}
        for rows, e in box_t:
            enc.update(zip(rows.tolist(), e))
        if len(pos_all):
            pred = deltas.reshape(-1, 4)[fovea.tensor(pos_all)]
            tgt = fovea.tensor(np.stack([enc[r] for r in pos_all.tolist()]), dtype=deltas.dtype)
            loss_box = F.smooth_l1_loss(pred, tgt, reduction="sum", beta=1 / 9) \
                / max(len(sampled), 1)
        else:
            loss_box = deltas.sum() * 0.0
        return {"loss_objectness": loss_obj, "loss_rpn_box_reg": loss_box}


class FasterRCNNLite(nn.Module):
    """Faster R-CNN-lite (see the module docstring).

    Args:
        num_classes: object classes, background excluded (labels 1..num_classes).
        width: backbone width (features: 4 * width channels at stride 8).
        representation: the box head's hidden width.

    ``forward(images, targets=None)``: in training mode ``{"loss_objectness",
    "loss_rpn_box_reg", "loss_classifier", "loss_box_reg"}``; in eval mode one dict per
    image with ``boxes`` (D, 4), ``labels`` (D,), ``scores`` (D,).
    """

    stride = 8

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16,
                 representation: int = 128, box_score_thresh: float = 0.05,
                 box_nms_thresh: float = 0.5, box_detections_per_img: int = 100,
                 seed: int = 0, **rpn_kwargs):
        super().__init__()
        self.num_classes = num_classes
        self.backbone = Backbone(in_channels, width)
        c = self.backbone.out_channels
        self.rng = np.random.default_rng(seed)
        self.rpn = RegionProposalNetwork(c, generator=self.rng, **rpn_kwargs)
        self.box_head = nn.Sequential(nn.Flatten(), nn.Linear(c * 49, representation),
                                      nn.ReLU(), nn.Linear(representation, representation),
                                      nn.ReLU())
        self.cls_score = nn.Linear(representation, num_classes + 1)
        self.bbox_pred = nn.Linear(representation, 4 * (num_classes + 1))
        with fovea.no_grad():
            self.bbox_pred.weight.mul_(0.1)
            self.bbox_pred.bias.zero_()
        self.coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
        self.matcher = Matcher(0.5, 0.5)
        self.sampler = BalancedPositiveNegativeSampler(64, 0.25)
        self.score_thresh, self.nms_thresh = box_score_thresh, box_nms_thresh
        self.detections_per_img = box_detections_per_img

    def _pool(self, feature, boxes, size: int):
        return roi_align(feature, [fovea.tensor(b.astype(np.float32)) for b in boxes], size,
                         1.0 / self.stride, 2, aligned=True)

    def forward(self, images, targets=None):
        x = batch_images(images)
        size = tuple(x.shape[-2:])
        if self.training:
            targets = check_targets(targets, x.shape[0], size, type(self).__name__)
        feature = self.backbone(x)[0]
        proposals, losses = self.rpn(feature, size, targets)
        if self.training:
            losses.update(self._box_loss(feature, proposals, targets))
            return losses
        return self._detect(feature, proposals, size)

    def _sample(self, proposals, targets):
        """Per image: sampled boxes, their class labels (0 background), matched gt index."""
        out = []
        for p, t in zip(proposals, targets):
            boxes = np.concatenate([p, t["boxes"]]) if len(t["boxes"]) else p
            m = self.matcher(_iou(t["boxes"], boxes))
            lab = np.where(m >= 0, t["labels"][np.maximum(m, 0)] if len(t["labels"]) else 0, 0)
            pos_m, neg_m = self.sampler([np.where(lab > 0, 1, 0)], self.rng)
            keep = np.flatnonzero(pos_m[0] | neg_m[0])
            out.append((boxes[keep], lab[keep], m[keep]))
        return out

    def _box_loss(self, feature, proposals, targets):
        samples = self._sample(proposals, targets)
        self._samples = samples  # the mask head trains on the same positives
        h = self.box_head(self._pool(feature, [s[0] for s in samples], 7))
        logits, deltas = self.cls_score(h), self.bbox_pred(h)
        labels = np.concatenate([s[1] for s in samples])
        loss_cls = F.cross_entropy(logits, fovea.tensor(labels))
        pos = np.flatnonzero(labels > 0)
        if len(pos):
            enc = np.concatenate([
                self.coder.encode_single(t["boxes"][m[lab > 0]], b[lab > 0]).numpy()
                for (b, lab, m), t in zip(samples, targets) if (lab > 0).any()])
            d = deltas.reshape(len(labels), -1, 4)[fovea.tensor(pos), fovea.tensor(labels[pos])]
            loss_box = F.smooth_l1_loss(d, fovea.tensor(enc, dtype=d.dtype), reduction="sum",
                                        beta=1 / 9) / max(len(labels), 1)
        else:
            loss_box = deltas.sum() * 0.0
        return {"loss_classifier": loss_cls, "loss_box_reg": loss_box}

    def _detect(self, feature, proposals, size):
        counts = [len(p) for p in proposals]
        h = self.box_head(self._pool(feature, proposals, 7))
        probs = F.softmax(self.cls_score(h), dim=1).numpy()
        deltas = self.bbox_pred(h).reshape(-1, self.num_classes + 1, 4)
        k = self.num_classes
        out, start = [], 0
        for p, c in zip(proposals, counts):
            sl = slice(start, start + c)
            start += c
            d = deltas[sl][:, 1:].reshape(-1, 4)
            ref = np.repeat(p, k, axis=0)
            boxes = self.coder.decode_single(d, ref).numpy() if c else np.zeros((0, 4))
            scores = probs[sl][:, 1:].reshape(-1)
            labels = np.tile(np.arange(1, k + 1), c)
            out.append(postprocess(boxes, scores, labels, size, self.score_thresh,
                                   self.nms_thresh, self.detections_per_img))
        return out


def paste_masks_in_image(masks: np.ndarray, boxes: np.ndarray, image_size) -> np.ndarray:
    """Paste (D, M, M) mask probabilities into (D, 1, H, W) images: each image pixel inside
    its box samples the mask bilinearly (pixel centres mapped into the box's M x M grid);
    pixels outside the box are 0."""
    h, w = image_size
    d, msz = masks.shape[0], masks.shape[-1]

    def axis(lo, hi, n):
        c = (np.arange(n)[None, :] + 0.5 - lo[:, None]) / np.maximum(hi - lo, 1e-6)[:, None]
        u = np.clip(c * msz - 0.5, 0, msz - 1)
        i0 = np.floor(u).astype(np.int64)
        i1 = np.minimum(i0 + 1, msz - 1)
        f = u - i0
        m = np.zeros((d, n, msz))
        r = np.arange(d)[:, None].repeat(n, 1)
        q = np.arange(n)[None, :].repeat(d, 0)
        inside = (c >= 0) & (c <= 1)
        np.add.at(m, (r, q, i0), (1 - f) * inside)
        np.add.at(m, (r, q, i1), f * inside)
        return m

    ay, ax = axis(boxes[:, 1], boxes[:, 3], h), axis(boxes[:, 0], boxes[:, 2], w)
    return np.matmul(np.matmul(ay, masks), ax.transpose(0, 2, 1))[:, None].astype(np.float32)


class MaskRCNNLite(FasterRCNNLite):
    """Faster R-CNN-lite plus a mask head (see the module docstring). Training adds
    ``"loss_mask"``; eval outputs add ``masks`` (D, 1, H, W) probabilities. Targets need
    ``masks`` (K, H, W)."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16, **kwargs):
        super().__init__(num_classes, in_channels, width, **kwargs)
        c = self.backbone.out_channels
        self.mask_head = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c, c, 2, stride=2), nn.ReLU(), nn.Conv2d(c, num_classes, 1))

    def forward(self, images, targets=None):
        x = batch_images(images)
        size = tuple(x.shape[-2:])
        if self.training:
            targets = check_targets(targets, x.shape[0], size, type(self).__name__)
            for i, t in enumerate(targets):
                if "masks" not in t:
                    raise ValueError(f"MaskRCNNLite: target {i} needs 'masks' (K, H, W)")
        feature = self.backbone(x)[0]
        proposals, losses = self.rpn(feature, size, targets)
        if not self.training:
            dets = self._detect(feature, proposals, size)
            return self._add_masks(feature, dets, size)
        losses.update(self._box_loss(feature, proposals, targets))
        losses["loss_mask"] = self._mask_loss(feature, targets)
        return losses

    def _mask_loss(self, feature, targets):
        boxes = [b[lab > 0] for b, lab, _ in self._samples]
        if sum(len(b) for b in boxes) == 0:
            return sum(p.sum() for p in self.mask_head.parameters()) * 0.0
        target, lab = mask_targets(self._samples, targets)
        logits = self.mask_head(self._pool(feature, boxes, 14))
        chosen = logits[fovea.tensor(np.arange(len(lab))), fovea.tensor(lab - 1)]
        return F.binary_cross_entropy_with_logits(
            chosen, fovea.tensor((target >= 0.5).astype(np.float32), dtype=chosen.dtype))

    def _add_masks(self, feature, dets, size):
        boxes = [d["boxes"].numpy() for d in dets]
        if sum(len(b) for b in boxes) == 0:
            for d in dets:
                d["masks"] = fovea.zeros(0, 1, *size)
            return dets
        probs = self.mask_head(self._pool(feature, boxes, 14)).sigmoid().numpy()
        start = 0
        for d, b in zip(dets, boxes):
            sl = slice(start, start + len(b))
            start += len(b)
            lab = d["labels"].numpy()
            m = probs[sl][np.arange(len(b)), lab - 1]
            d["masks"] = fovea.tensor(paste_masks_in_image(m, b, size))
        return dets


def mask_targets(samples, targets, size: int = 28):
    """The mask targets of the positive samples: each matched object's mask sampled in the
    proposal box with ``roi_align`` (as torchvision's ``project_masks_on_boxes``, but with
    ``aligned=True``: samples at pixel centres, as :func:`paste_masks_in_image` reads them).

    Args:
        samples: per image ``(boxes (S, 4), labels (S,), matched object index (S,))``.
        targets: per image a dict with ``masks`` (K, H, W).

    Returns:
        ``(targets (P, size, size) float, labels (P,))`` over the positives of all images.
    """
    rois, labels, masks, offset = [], [], [], 0
    for (b, lab, m), t in zip(samples, targets):
        pos = lab > 0
        if pos.any():  # rows (index of the object's mask among all images' masks, box)
            rois.append(np.concatenate([m[pos][:, None] + offset, b[pos]], 1))
            labels.append(lab[pos])
        masks.append(t["masks"])
        offset += len(t["masks"])
    gt = np.concatenate(masks)[:, None].astype(np.float64)
    out = roi_align(fovea.tensor(gt), fovea.tensor(np.concatenate(rois)), size,
                    aligned=True).numpy()
    return out[:, 0], np.concatenate(labels)


def faster_rcnn_lite(num_classes: int = 3, **kwargs) -> FasterRCNNLite:
    """Faster R-CNN-lite with its defaults (see :class:`FasterRCNNLite`)."""
    return FasterRCNNLite(num_classes, **kwargs)


def mask_rcnn_lite(num_classes: int = 3, **kwargs) -> MaskRCNNLite:
    """Mask R-CNN-lite with its defaults (see :class:`MaskRCNNLite`)."""
    return MaskRCNNLite(num_classes, **kwargs)
