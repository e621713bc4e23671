"""``fovea.vision.ops``: torchvision.ops' box operations, RoI pooling and detection losses."""

from fovea.vision.ops.anchors import (
                                      AnchorGenerator,
                                      BalancedPositiveNegativeSampler,
                                      BoxCoder,
                                      Matcher,
)
from fovea.vision.ops.boxes import (
                                      batched_nms,
                                      box_area,
                                      box_convert,
                                      box_iou,
                                      check_boxes,
                                      clip_boxes_to_image,
                                      generalized_box_iou,
                                      masks_to_boxes,
                                      nms,
                                      remove_small_boxes,
)
from fovea.vision.ops.losses import generalized_box_iou_loss, sigmoid_focal_loss
from fovea.vision.ops.roi import RoIAlign, RoIPool, roi_align, roi_pool

__all__ = ["AnchorGenerator", "BalancedPositiveNegativeSampler", "BoxCoder", "Matcher",
           "batched_nms", "box_area", "box_convert", "box_iou", "check_boxes",
           "clip_boxes_to_image", "generalized_box_iou", "masks_to_boxes", "nms",
           "remove_small_boxes", "generalized_box_iou_loss", "sigmoid_focal_loss", "RoIAlign",
           "RoIPool", "roi_align", "roi_pool"]
