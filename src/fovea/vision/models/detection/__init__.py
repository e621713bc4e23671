"""Detection models with torchvision's train/eval interface."""

from fovea.vision.models.detection.rcnn import (
                                                FasterRCNNLite,
                                                MaskRCNNLite,
                                                faster_rcnn_lite,
                                                mask_rcnn_lite,
                                                paste_masks_in_image,
)
from fovea.vision.models.detection.ssd import SingleShotDetector, ssd_lite

__all__ = ["FasterRCNNLite", "MaskRCNNLite", "SingleShotDetector", "faster_rcnn_lite",
           "mask_rcnn_lite", "paste_masks_in_image", "ssd_lite"]
