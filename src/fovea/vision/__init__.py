"""``fovea.vision``: detection and segmentation (torchvision's ``ops``, ``models.detection``
and ``models.segmentation`` in small form). Import it explicitly: ``from fovea.vision import
ops``; it is not loaded by ``import fovea``."""
