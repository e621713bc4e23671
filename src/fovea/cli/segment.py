"""``fovea segment train|evaluate|predict``: semantic segmentation (FCN, U-Net) on the
generated Shapes data or a COCO data set (instance masks merged into class maps); the
machinery is shared with ``fovea detect`` (:mod:`fovea.cli.detect`)."""

from __future__ import annotations

from fovea.cli.detect import SEG_MODELS, add_task_parser


def register(sub) -> None:
    """Add ``fovea segment`` to the ``fovea`` parser."""
    add_task_parser(sub, "segment", SEG_MODELS, "semantic segmentation (FCN, U-Net) on Shapes "
                    "or COCO data")
