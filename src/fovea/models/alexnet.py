"""AlexNet (Krizhevsky et al. 2012) as torchvision builds it (the one-GPU variant of
"One weird trick", Krizhevsky 2014): five convolutions, three max-pools, three linear layers;
61,100,840 parameters for 1000 classes and the same ``state_dict`` keys as
``torchvision.models.alexnet``.

Shapes on 224×224: conv11×11/4 64 → 55 – pool → 27 – conv5×5 192 – pool → 13 – conv3×3 384,
256, 256 – pool → 6×6 – (adaptive average pool 6×6) – 9216 → 4096 → 4096 → num_classes.
``small_input=True`` (for 28×28 or 32×32 images) gives the first convolution stride 1 and
padding 5: the same weights, so the same ``state_dict``, on a map that survives three pools.
"""

from __future__ import annotations

import fovea
from fovea import nn
from fovea.models._common import check_sizes
from fovea.tensor import Tensor

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Module):
    """AlexNet. Shapes: (N, in_channels, H, W) -> (N, num_classes); H, W >= 63 (>= 1 with
    ``small_input``)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, in_channels: int = 3,
                 small_input: bool = False):
        super().__init__()
        num_classes, in_channels = check_sizes("alexnet", num_classes, in_channels)
        stride, pad = (1, 5) if small_input else (4, 2)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, 11, stride=stride, padding=pad), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(fovea.flatten(x, 1))


def alexnet(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> AlexNet:
    """AlexNet as torchvision's ``alexnet()`` (``dropout=``, ``small_input=``)."""
    return AlexNet(num_classes=num_classes, in_channels=in_channels, **kwargs)
