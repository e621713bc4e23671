"""``fovea.vision.models``: ``segmentation`` (FCN, U-Net), ``detection`` (single-shot
detector, Faster/Mask R-CNN-lite) and ``localization`` (classification + localisation)."""

from fovea.vision.models import detection, localization, segmentation  # noqa: F401
