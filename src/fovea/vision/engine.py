"""Training and evaluation loops for the detection and segmentation models.

Models follow torchvision's interface: a segmentation model maps images to
``{"out": logits}``; a detection model in ``train()`` mode takes ``(images, targets)`` and
returns a dict of losses, in ``eval()`` mode takes images and returns one dict per image
with ``boxes``, ``labels``, ``scores`` (and ``masks``). Loaders yield ``(images, targets)``
batches from :func:`fovea.vision.transforms.detection_collate`.
"""

from __future__ import annotations

import math
import time

import numpy as np

import fovea
import fovea.nn.functional as F
from fovea.data.dataloader import DataLoader
from fovea.vision.metrics import SegmentationMetric, coco_evaluate
from fovea.vision.transforms import detection_collate

__all__ = ["make_loader", "train_one_epoch", "segmentation_loss", "evaluate_segmentation",
           "predict", "evaluate_detection", "ground_truth_coco"]


def make_loader(dataset, batch_size: int, shuffle: bool, seed: int = 0) -> DataLoader:
    """A DataLoader with the detection collate (variable numbers of boxes per image)."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                      collate_fn=detection_collate, seed=seed)


def segmentation_loss(model, images, targets, ignore_index: int = 255) -> dict:
    """Pixel-wise cross-entropy of ``model(images)["out"]`` against the targets' ``semantic``
    maps; pixels equal to ``ignore_index`` do not count."""
    sem = fovea.stack([t["semantic"] for t in targets])
    out = model(images)["out"]
    return {"loss_seg": F.cross_entropy(out, sem, ignore_index=ignore_index)}


def train_one_epoch(model, optimizer, loader, task: str = "detection", scheduler=None,
                    log=None, max_grad_norm: float | None = 10.0) -> dict:
    """One pass over ``loader``: sum the model's losses, backward, clip, step.

    Args:
        task: ``"detection"`` (the model returns a dict of losses) or ``"segmentation"``
            (:func:`segmentation_loss`).
        scheduler: stepped after every batch when given.
        log: optional ``f(step, losses)`` called after each step.

    Returns:
        The mean of each loss over the epoch, plus ``"loss"`` (their sum) and ``"seconds"``.
    """
    model.train()
    sums: dict[str, float] = {}
    steps, t0 = 0, time.perf_counter()
    for images, targets in loader:
        losses = (segmentation_loss(model, images, targets) if task == "segmentation"
                  else model(images, targets))
        total = sum(losses.values())
        value = total.item()
        if not math.isfinite(value):
            raise FloatingPointError(f"train_one_epoch: the loss became {value} at step "
                                     f"{steps} ({ {k: v.item() for k, v in losses.items()} })")
        optimizer.zero_grad()
        total.backward()
        if max_grad_norm is not None:
            fovea.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + v.item()
        sums["loss"] = sums.get("loss", 0.0) + value
        steps += 1
        if log is not None:
            log(steps, {k: v.item() for k, v in losses.items()})
    out = {k: v / max(steps, 1) for k, v in sums.items()}
    out["seconds"] = time.perf_counter() - t0
    return out


def evaluate_segmentation(model, dataset, num_classes: int, batch_size: int = 32,
                          ignore_index: int | None = 255) -> dict:
    """Pixel accuracy, mean IoU and per-class IoU of ``model`` over ``dataset``."""
    model.eval()
    metric = SegmentationMetric(num_classes, ignore_index)
    with fovea.no_grad():
        for images, targets in make_loader(dataset, batch_size, shuffle=False):
            out = model(images)["out"]
            metric.update(out.numpy().argmax(1), np.stack([t["semantic"].numpy()
                                                          for t in targets]))
    return metric.compute()


def predict(model, dataset, batch_size: int = 16) -> list[dict]:
    """The model's eval-mode predictions for every image of ``dataset``, as NumPy dicts."""
    model.eval()
    preds = []
    with fovea.no_grad():
        for images, _ in make_loader(dataset, batch_size, shuffle=False):
            for p in model(images):
                preds.append({k: v.numpy() for k, v in p.items()})
    return preds


def ground_truth_coco(dataset, categories) -> tuple[dict, list[int]]:
    """The COCO dict of a dataset's targets (and the image ids in dataset order)."""
    from fovea.data.coco import coco_dict

    targets, sizes = [], []
    for i in range(len(dataset)):
        img, t = dataset[i]
        targets.append(dict(t, image_id=i))
        sizes.append(tuple(np.asarray(img).shape[-2:]))
    return coco_dict(targets, sizes, categories), list(range(len(dataset)))


def evaluate_detection(model, dataset, categories, batch_size: int = 16,
                       iou_types=("bbox",)) -> dict:
    """COCO AP/AR (pycocotools) of the model on ``dataset``: ``{"bbox": {...}, "segm": ...}``."""
    gt, ids = ground_truth_coco(dataset, categories)
    preds = predict(model, dataset, batch_size)
    return {t: coco_evaluate(gt, preds, ids, iou_type=t) for t in iou_types}
