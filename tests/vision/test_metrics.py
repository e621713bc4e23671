"""Segmentation IoU by hand, and COCO mAP through pycocotools on perfect, shifted and empty
predictions."""

import numpy as np
import pytest

from fovea.data.coco import coco_dict
from fovea.data.shapes import Shapes
from fovea.vision.metrics import SegmentationMetric, coco_evaluate, segmentation_metrics


def test_segmentation_metrics_hand_worked():
    target = np.array([[0, 0, 1, 1], [2, 2, 255, 1]])
    pred = np.array([[0, 1, 1, 1], [2, 0, 0, 1]])
    m = segmentation_metrics(pred, target, 3, ignore_index=255)
    # class 0: TP 1, FP 1 (pixel of class 2), FN 1 -> 1/3; class 1: TP 3, FP 1 -> 3/4;
    # class 2: TP 1, FN 1 -> 1/2; 5 of 7 counted pixels right.
    np.testing.assert_allclose(m["per_class_iou"], [1 / 3, 3 / 4, 1 / 2])
    assert m["mean_iou"] == pytest.approx((1 / 3 + 3 / 4 + 1 / 2) / 3)
    assert m["pixel_accuracy"] == pytest.approx(5 / 7)


def test_segmentation_metric_accumulates_and_takes_logits():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4, 3, 5, 5))
    target = rng.integers(0, 3, (4, 5, 5))
    acc = SegmentationMetric(3)
    acc.update(logits[:2], target[:2])
    acc.update(logits[2:], target[2:])
    whole = segmentation_metrics(logits.argmax(1), target, 3)
    assert acc.compute() == whole
    absent = segmentation_metrics(np.zeros((2, 2), int), np.zeros((2, 2), int), 3)
    assert np.isnan(absent["per_class_iou"][1]) and absent["mean_iou"] == 1.0


@pytest.fixture
def shapes_gt():
    d = Shapes("test", 12, seed=2)
    targets = [d[i][1] for i in range(12)]
    return targets, coco_dict(targets, [(64, 64)] * 12, list(Shapes.classes[1:]))


def test_coco_ap_of_perfect_shifted_and_empty_predictions(shapes_gt):
    pytest.importorskip("pycocotools")
    targets, gt = shapes_gt
    perfect = [{"boxes": t["boxes"], "scores": np.ones(len(t["boxes"])), "labels": t["labels"],
                "masks": t["masks"]} for t in targets]
    for iou_type in ("bbox", "segm"):
        s = coco_evaluate(gt, perfect, iou_type=iou_type)
        assert s["AP"] == pytest.approx(1.0) and s["AP50"] == pytest.approx(1.0)
    wrong_class = [dict(p, labels=p["labels"] % 3 + 1) for p in perfect]
    assert coco_evaluate(gt, wrong_class)["AP"] == pytest.approx(0.0)
    empty = [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0)}
             for _ in targets]
    s = coco_evaluate(gt, empty)
    assert s["AP"] == 0.0 and s["AP50"] == 0.0


def test_coco_ap_drops_with_box_shift(shapes_gt):
    pytest.importorskip("pycocotools")
    targets, gt = shapes_gt
    shifted = [{"boxes": t["boxes"] + np.array([3, 0, 3, 0], np.float32),
                "scores": np.ones(len(t["boxes"])), "labels": t["labels"]} for t in targets]
    s = coco_evaluate(gt, shifted)
    assert 0.0 < s["AP"] < 1.0 and s["AP50"] >= s["AP75"]


def test_coco_evaluate_refuses_unknown_ids(shapes_gt):
    pytest.importorskip("pycocotools")
    targets, gt = shapes_gt
    bad = [{"boxes": np.array([[0, 0, 5, 5.0]]), "scores": np.ones(1), "labels": np.array([9])}]
    with pytest.raises(ValueError, match="unknown category id 9"):
        coco_evaluate(gt, bad, image_ids=[0])
    with pytest.raises(ValueError, match="unknown image id 99"):
        coco_evaluate(gt, bad, image_ids=[99])
