"""Evaluation: segmentation pixel accuracy and IoU from a confusion matrix, and COCO mean
average precision computed by pycocotools (the reference implementation; an optional
dependency: ``pip install pycocotools`` or ``pip install fovea[detection]``)."""

from __future__ import annotations

import contextlib
import io

import numpy as np

from fovea.tensor import Tensor

__all__ = ["SegmentationMetric", "segmentation_metrics", "coco_evaluate", "COCO_STATS"]

COCO_STATS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm",
              "ARl")
"""The names of pycocotools' 12 summary numbers, in its order (``COCOeval.stats``)."""


def _np(x):
    return x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)


class SegmentationMetric:
    """A confusion matrix accumulated over batches of class maps.

    ``update(pred, target)`` with int (N, H, W) arrays (or logits (N, C, H, W) for ``pred``);
    pixels whose target is ``ignore_index`` are left out. ``compute()`` returns
    ``pixel_accuracy`` (correct / counted pixels), ``per_class_iou`` (TP / (TP + FP + FN),
    NaN for a class absent from both prediction and target) and ``mean_iou`` (the mean over
    classes that are not NaN).
    """

    def __init__(self, num_classes: int, ignore_index: int | None = None):
        self.num_classes, self.ignore_index = int(num_classes), ignore_index
        self.confusion = np.zeros((num_classes, num_classes), np.int64)

    def update(self, pred, target) -> None:
        p, t = _np(pred), _np(target)
        if p.ndim == t.ndim + 1:
            p = p.argmax(1)
        if p.shape != t.shape:
            raise ValueError(f"SegmentationMetric: predictions {p.shape} and targets {t.shape} "
                             f"differ in shape")
        keep = t != self.ignore_index if self.ignore_index is not None else np.ones_like(t, bool)
        p, t = p[keep].astype(np.int64), t[keep].astype(np.int64)
        if len(t) and (t.min() < 0 or t.max() >= self.num_classes):
            raise ValueError(f"SegmentationMetric: target classes must be in [0, "
                             f"{self.num_classes}), got {t.min()}..{t.max()}")
        k = self.num_classes
        self.confusion += np.bincount(t * k + p, minlength=k * k).reshape(k, k)

    def compute(self) -> dict:
        c = self.confusion.astype(np.float64)
        tp = np.diag(c)
        denom = c.sum(0) + c.sum(1) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(denom > 0, tp / denom, np.nan)
        total = c.sum()
        return {"pixel_accuracy": float(tp.sum() / total) if total else float("nan"),
                "mean_iou": float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan"),
                "per_class_iou": iou.tolist()}


def segmentation_metrics(pred, target, num_classes: int, ignore_index: int | None = None) -> dict:
    """Pixel accuracy, mean IoU and per-class IoU of one batch (see SegmentationMetric)."""
    m = SegmentationMetric(num_classes, ignore_index)
    m.update(pred, target)
    return m.compute()


def _results(predictions, image_ids, iou_type: str) -> list[dict]:
    from fovea.data.coco import rle_encode, rle_to_string

    out = []
    for image_id, p in zip(image_ids, predictions):
        boxes = _np(p["boxes"]).reshape(-1, 4).astype(np.float64)
        scores, labels = _np(p["scores"]).reshape(-1), _np(p["labels"]).reshape(-1)
        masks = _np(p["masks"]) if iou_type == "segm" else None
        for k in range(len(boxes)):
            x1, y1, x2, y2 = boxes[k].tolist()
            r = {"image_id": int(image_id), "category_id": int(labels[k]),
                 "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(scores[k])}
            if masks is not None:
                m = masks[k, 0] if masks.ndim == 4 else masks[k]
                rle = rle_encode(m >= 0.5 if m.dtype.kind == "f" else m)
                r["segmentation"] = {"size": rle["size"], "counts": rle_to_string(rle["counts"])}
            out.append(r)
    return out


def coco_evaluate(gt: dict, predictions, image_ids=None, iou_type: str = "bbox",
                  verbose: bool = False) -> dict:
    """COCO AP/AR of per-image predictions against a COCO ground-truth dict, by pycocotools.

    Args:
        gt: a COCO dict (``fovea.data.coco.load_coco`` / ``coco_dict``); ``"segm"`` needs
            segmentations in it.
        predictions: one dict per image with ``boxes`` (K, 4) xyxy, ``scores`` (K,),
            ``labels`` (K,) category ids and, for ``"segm"``, ``masks`` (K, [1,] H, W)
            (probabilities are thresholded at 0.5).
        image_ids: the COCO image id of each prediction (default: the gt's images in order).
        iou_type: ``"bbox"`` or ``"segm"``.
        verbose: print pycocotools' summary table.

    Returns:
        ``{"AP": ..., "AP50": ..., ...}`` (:data:`COCO_STATS`, -1 where pycocotools has no
        ground truth of that size) plus ``"summary"``, pycocotools' printed table. With no
        predicted box at all every AP and AR is 0.0 (pycocotools itself cannot load an empty
        result list).
    """
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise ImportError("coco_evaluate: COCO mAP needs pycocotools (pip install "
                          "pycocotools)") from None
    if iou_type not in ("bbox", "segm"):
        raise ValueError(f"coco_evaluate: iou_type must be 'bbox' or 'segm', got {iou_type!r}")
    if image_ids is None:
        image_ids = [i["id"] for i in gt["images"]]
    image_ids = [int(i) for i in image_ids]
    if len(image_ids) != len(predictions):
        raise ValueError(f"coco_evaluate: {len(predictions)} predictions for "
                         f"{len(image_ids)} image ids")
    known = {i["id"] for i in gt["images"]}
    cats = {c["id"] for c in gt["categories"]}
    unknown = [i for i in image_ids if i not in known]
    if unknown:
        raise ValueError(f"coco_evaluate: prediction for unknown image id {unknown[0]}")
    results = _results(predictions, image_ids, iou_type)
    bad = [r["category_id"] for r in results if r["category_id"] not in cats]
    if bad:
        raise ValueError(f"coco_evaluate: predicted unknown category id {bad[0]} (known: "
                         f"{sorted(cats)})")
    if not results:
        stats = dict.fromkeys(COCO_STATS, 0.0)
        stats["summary"] = "no predictions: every AP and AR is 0"
        return stats
    gt = dict(gt)
    gt["annotations"] = [dict(a, iscrowd=a.get("iscrowd", 0),
                              area=a.get("area", a["bbox"][2] * a["bbox"][3]))
                         for a in gt["annotations"]]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        dets = coco.loadRes(results)
        ev = COCOeval(coco, dets, iou_type)
        ev.params.imgIds = image_ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = {k: float(v) for k, v in zip(COCO_STATS, ev.stats)}
    stats["summary"] = buf.getvalue()
    if verbose:
        print(stats["summary"])
    return stats
