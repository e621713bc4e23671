"""Box operations with torchvision's names and conventions.

Boxes are ``(N, 4)`` tensors in ``(x1, y1, x2, y2)`` ("xyxy") pixel coordinates, with
``0 <= x1 <= x2`` and ``0 <= y1 <= y2``; a box's width is ``x2 - x1`` (no "+1", as
torchvision since 0.6). The differentiable ones (``box_area``, ``box_iou``,
``generalized_box_iou``, ``box_convert``, ``clip_boxes_to_image``) are composed of fovea ops,
so gradients flow through them (the GIoU loss needs that); ``nms``, ``batched_nms`` and
``remove_small_boxes`` return int64 indices.
"""

from __future__ import annotations

import numpy as np

import fovea
from fovea.errors import ShapeError
from fovea.tensor import Tensor

__all__ = ["box_area", "box_iou", "generalized_box_iou", "box_convert", "clip_boxes_to_image",
           "remove_small_boxes", "nms", "batched_nms", "masks_to_boxes", "check_boxes"]

_FORMATS = ("xyxy", "xywh", "cxcywh")


def _boxes(boxes, op: str) -> Tensor:
    t = boxes if isinstance(boxes, Tensor) else fovea.tensor(np.asarray(boxes, dtype=np.float32))
    if t.dim() != 2 or t.shape[1] != 4:
        raise ShapeError(f"{op}: boxes must have shape (N, 4), got {tuple(t.shape)}")
    return t


def _raw(t) -> np.ndarray:
    return (t.detach().numpy() if isinstance(t, Tensor) else np.asarray(t))


def check_boxes(boxes, op: str = "boxes", image_size=None) -> None:
    """Refuse degenerate or out-of-range xyxy boxes with a one-line ``ValueError``.

    Args:
        boxes: (N, 4) xyxy boxes (tensor or array).
        op: the name put in the message.
        image_size: optional ``(height, width)``; boxes must then lie inside ``[0, w] x [0, h]``.
    """
    b = _raw(boxes)
    if b.ndim != 2 or b.shape[-1] != 4:
        raise ShapeError(f"{op}: boxes must have shape (N, 4), got {b.shape}")
    if not np.isfinite(b).all():
        i = int(np.argwhere(~np.isfinite(b).all(1))[0, 0])
        raise ValueError(f"{op}: box {i} is not finite: {b[i].tolist()}")
    bad = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{op}: box {i} has x2 < x1 or y2 < y1 (xyxy expected): {b[i].tolist()}")
    if image_size is not None:
        h, w = image_size
        out = (b[:, 0] < 0) | (b[:, 1] < 0) | (b[:, 2] > w) | (b[:, 3] > h)
        if out.any():
            i = int(np.argmax(out))
            raise ValueError(f"{op}: box {i} {b[i].tolist()} lies outside the image of height "
                             f"{h} and width {w} (clip it with clip_boxes_to_image)")


def box_area(boxes) -> Tensor:
    """Areas of xyxy boxes. boxes: (N, 4); returns (N,): ``(x2 - x1) * (y2 - y1)``."""
    b = _boxes(boxes, "box_area")
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def _inter_union(b1: Tensor, b2: Tensor):
    area1, area2 = box_area(b1), box_area(b2)
    lt = fovea.maximum(b1[:, None, :2], b2[None, :, :2])
    rb = fovea.minimum(b1[:, None, 2:], b2[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    union = area1[:, None] + area2[None, :] - inter
    return inter, union


def box_iou(boxes1, boxes2) -> Tensor:
    """Intersection over union of every pair. boxes1: (N, 4), boxes2: (M, 4) xyxy; returns
    (N, M) with ``IoU = |A ∩ B| / |A ∪ B|`` (NaN where both boxes are empty, as torchvision)."""
    b1, b2 = _boxes(boxes1, "box_iou"), _boxes(boxes2, "box_iou")
    inter, union = _inter_union(b1, b2)
    return inter / union


def generalized_box_iou(boxes1, boxes2) -> Tensor:
    """Generalized IoU of every pair (Rezatofighi et al. 2019): ``IoU - (|C| - |A ∪ B|) / |C|``
    with C the smallest box enclosing both. boxes1: (N, 4), boxes2: (M, 4); returns (N, M) in
    [-1, 1]. Degenerate boxes (x2 < x1) are refused, as torchvision does."""
    b1, b2 = _boxes(boxes1, "generalized_box_iou"), _boxes(boxes2, "generalized_box_iou")
    check_boxes(b1, "generalized_box_iou")
    check_boxes(b2, "generalized_box_iou")
    inter, union = _inter_union(b1, b2)
    iou = inter / union
    lt = fovea.minimum(b1[:, None, :2], b2[None, :, :2])
    rb = fovea.maximum(b1[:, None, 2:], b2[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    enclosing = wh[:, :, 0] * wh[:, :, 1]
    return iou - (enclosing - union) / enclosing


def box_convert(boxes, in_fmt: str, out_fmt: str) -> Tensor:
    """Convert (N, 4) boxes between ``"xyxy"`` (corners), ``"xywh"`` (top-left corner, width,
    height) and ``"cxcywh"`` (centre, width, height); returns (N, 4)."""
    for f in (in_fmt, out_fmt):
        if f not in _FORMATS:
            raise ValueError(f"box_convert: unknown box format {f!r}; expected one of {_FORMATS}")
    b = _boxes(boxes, "box_convert")
    if in_fmt == out_fmt:
        return b.clone()
    a0, a1, a2, a3 = (b[:, i] for i in range(4))
    if in_fmt == "xywh":
        x1, y1, x2, y2 = a0, a1, a0 + a2, a1 + a3
    elif in_fmt == "cxcywh":
        x1, y1, x2, y2 = a0 - 0.5 * a2, a1 - 0.5 * a3, a0 + 0.5 * a2, a1 + 0.5 * a3
    else:
        x1, y1, x2, y2 = a0, a1, a2, a3
    if out_fmt == "xyxy":
        cols = (x1, y1, x2, y2)
    elif out_fmt == "xywh":
        cols = (x1, y1, x2 - x1, y2 - y1)
    else:
        cols = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    return fovea.stack(cols, dim=1)


def clip_boxes_to_image(boxes, size) -> Tensor:
    """Clip xyxy boxes (..., 4) to an image of ``size = (height, width)``: x into [0, width],
    y into [0, height]. Returns the same shape."""
    b = boxes if isinstance(boxes, Tensor) else fovea.tensor(np.asarray(boxes, np.float32))
    if b.shape[-1] != 4:
        raise ShapeError(f"clip_boxes_to_image: boxes must end in 4 coordinates, got "
                         f"{tuple(b.shape)}")
    h, w = size
    x = b[..., 0::2].clamp(min=0, max=w)
    y = b[..., 1::2].clamp(min=0, max=h)
    return fovea.stack((x[..., 0], y[..., 0], x[..., 1], y[..., 1]), dim=-1)


def remove_small_boxes(boxes, min_size: float) -> Tensor:
    """Indices (int64, ascending) of the boxes whose width and height are both >= min_size."""
    b = _raw(_boxes(boxes, "remove_small_boxes"))
    keep = ((b[:, 2] - b[:, 0]) >= min_size) & ((b[:, 3] - b[:, 1]) >= min_size)
    return fovea.tensor(np.flatnonzero(keep).astype(np.int64))


_MATRIX_NMS = 2048  # up to this many boxes, one (n, n) IoU matrix (32 MiB) then a row scan


def _nms_numpy(b: np.ndarray, s: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS in score order. Up to ``_MATRIX_NMS`` boxes: the whole IoU matrix at once,
    then one vectorised row per kept box; above: one IoU row per *kept* box against the
    boxes still alive, which shrink as they are suppressed, so memory stays linear.
    Either way Python iterates once per kept box, never per pair."""
    order = np.argsort(-s, kind="stable")
    b = b[order].astype(np.float64)
    if len(b) <= _MATRIX_NMS:
        with np.errstate(invalid="ignore", divide="ignore"):
            over = _iou_np(b, b) > iou_threshold  # NaN (two empty boxes) never suppresses
        removed = np.zeros(len(b), bool)
        keep = []
        for i in range(len(b)):
            if not removed[i]:
                keep.append(i)
                removed |= over[i]
        return order[np.asarray(keep, dtype=np.int64)]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    alive = np.arange(len(b))
    keep = []
    while alive.size:
        i = alive[0]
        keep.append(i)
        rest = alive[1:]
        xx1 = np.maximum(b[i, 0], b[rest, 0])
        yy1 = np.maximum(b[i, 1], b[rest, 1])
        xx2 = np.minimum(b[i, 2], b[rest, 2])
        yy2 = np.minimum(b[i, 3], b[rest, 3])
        inter = np.maximum(xx2 - xx1, 0.0) * np.maximum(yy2 - yy1, 0.0)
        union = area[i] + area[rest] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = inter / union
        alive = rest[~(iou > iou_threshold)]  # NaN IoU (two empty boxes) keeps, as torchvision
    return order[np.asarray(keep, dtype=np.int64)]


def _iou_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    wh = np.maximum(np.minimum(a[:, None, 2:], b[None, :, 2:])
                    - np.maximum(a[:, None, :2], b[None, :, :2]), 0.0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def nms(boxes, scores, iou_threshold: float) -> Tensor:
    """Non-maximum suppression: repeatedly keep the highest-scoring box and drop the others
    whose IoU with it is > iou_threshold.

    Args:
        boxes: (N, 4) xyxy boxes.
        scores: (N,) scores.
        iou_threshold: boxes overlapping a kept one by more than this are discarded.

    Returns:
        int64 (K,) indices of the kept boxes, by decreasing score.
    """
    b = _raw(_boxes(boxes, "nms"))
    s = _raw(scores)
    if s.shape != (b.shape[0],):
        raise ShapeError(f"nms: scores must have shape ({b.shape[0]},) to match the boxes, got "
                         f"{s.shape}")
    return fovea.tensor(_nms_numpy(b, s, float(iou_threshold)))


def batched_nms(boxes, scores, idxs, iou_threshold: float) -> Tensor:
    """NMS done independently per category ``idxs`` (N,) (boxes of different categories never
    suppress each other). Returns int64 indices sorted by decreasing score."""
    b = _raw(_boxes(boxes, "batched_nms")).astype(np.float64)
    s, c = _raw(scores), _raw(idxs).astype(np.int64)
    if s.shape != (b.shape[0],) or c.shape != (b.shape[0],):
        raise ShapeError(f"batched_nms: scores and idxs must have shape ({b.shape[0]},), got "
                         f"{s.shape} and {c.shape}")
    if b.shape[0] == 0:
        return fovea.tensor(np.zeros(0, np.int64))
    # Shift each category to its own region of the plane, so one NMS pass does them all.
    offset = c[:, None] * (b.max() - min(b.min(), 0.0) + 1.0)
    return fovea.tensor(_nms_numpy(b + offset, s, float(iou_threshold)))


def masks_to_boxes(masks) -> Tensor:
    """The tight xyxy box around each mask. masks: (N, H, W) bool/0-1; returns float32 (N, 4)
    with torchvision's convention (x2, y2 are the last non-zero column and row indices)."""
    m = _raw(masks).astype(bool)
    if m.ndim != 3:
        raise ShapeError(f"masks_to_boxes: masks must have shape (N, H, W), got {m.shape}")
    out = np.zeros((m.shape[0], 4), np.float32)
    rows, cols = m.any(2), m.any(1)
    if (~rows.any(1)).any():
        raise ValueError(f"masks_to_boxes: mask {int(np.argmax(~rows.any(1)))} is empty")
    h, w = m.shape[1:]
    out[:, 0] = cols.argmax(1)
    out[:, 2] = w - 1 - cols[:, ::-1].argmax(1)
    out[:, 1] = rows.argmax(1)
    out[:, 3] = h - 1 - rows[:, ::-1].argmax(1)
    return fovea.tensor(out)
