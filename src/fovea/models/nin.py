"""Network in Network (Lin, Chen & Yan 2014), the CIFAR model of the paper.

Three "mlpconv" blocks, each a k×k conv followed by two 1×1 convs (a small MLP slid over
the image), with ReLUs; 3×3/2 pooling and dropout between blocks; the last 1×1 conv has
num_classes maps and global average pooling replaces the fully connected classifier::

    conv5×5 192 – 1×1 160 – 1×1 96 – max-pool 3×3/2 – dropout
    conv5×5 192 – 1×1 192 – 1×1 192 – avg-pool 3×3/2 – dropout
    conv3×3 192 – 1×1 192 – [classifier: 1×1 num_classes – ReLU – global average pool]

966,986 parameters for 10 classes (0.97 M). Keys: ``features.<i>``, ``classifier.0``.
"""

from __future__ import annotations

import fovea
from fovea import nn
from fovea.models._common import check_sizes
from fovea.nn import init
from fovea.tensor import Tensor

__all__ = ["NiN", "nin"]


def _mlpconv(in_channels: int, channels: tuple[int, int, int], kernel: int) -> list[nn.Module]:
    a, b, c = channels
    return [nn.Conv2d(in_channels, a, kernel, padding=kernel // 2), nn.ReLU(inplace=True),
            nn.Conv2d(a, b, 1), nn.ReLU(inplace=True), nn.Conv2d(b, c, 1), nn.ReLU(inplace=True)]


class NiN(nn.Module):
    """Network in Network. Shapes: (N, in_channels, H, W) -> (N, num_classes); H, W >= 1."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.5):
        super().__init__()
        num_classes, in_channels = check_sizes("nin", num_classes, in_channels)
        self.features = nn.Sequential(
            *_mlpconv(in_channels, (192, 160, 96), 5),
            nn.MaxPool2d(3, 2, padding=1), nn.Dropout(dropout),
            *_mlpconv(96, (192, 192, 192), 5),
            nn.AvgPool2d(3, 2, padding=1), nn.Dropout(dropout),
            nn.Conv2d(192, 192, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(192, 192, 1), nn.ReLU(inplace=True),
        )
        self.classifier = nn.Sequential(nn.Conv2d(192, num_classes, 1), nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, nonlinearity="relu")
                init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return fovea.flatten(self.classifier(self.features(x)), 1)


def nin(num_classes: int = 10, in_channels: int = 3, **kwargs) -> NiN:
    """Network in Network for CIFAR-sized images (``dropout=``): 966,986 parameters."""
    return NiN(num_classes=num_classes, in_channels=in_channels, **kwargs)
