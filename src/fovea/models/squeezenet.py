"""SqueezeNet 1.1 (Iandola et al. 2016; version 1.1 of the reference code) as torchvision
builds it: AlexNet-level accuracy with 1,235,496 parameters.

A Fire module squeezes with 1×1 convs (s maps), then expands with 1×1 and 3×3 convs (e1 + e3
maps, concatenated). The classifier is a 1×1 conv to num_classes – ReLU – global average
pool (no linear layer). Keys as torchvision's: ``features.<i>.squeeze``, ``.expand1x1``,
``.expand3x3``, ``classifier.1``. ``small_input=True`` gives the first conv stride 1.
"""

from __future__ import annotations

import fovea
from fovea import nn
from fovea.models._common import check_sizes
from fovea.nn import init
from fovea.tensor import Tensor

__all__ = ["SqueezeNet", "Fire", "squeezenet1_1"]


class Fire(nn.Module):
    """squeeze 1×1 – ReLU – [expand 1×1 – ReLU ‖ expand 3×3 – ReLU] concatenated.
    (N, inplanes, H, W) -> (N, e1 + e3, H, W)."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int,
                 expand3x3_planes: int):
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return fovea.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet 1.1. Shapes: (N, in_channels, H, W) -> (N, num_classes); H, W >= 17 (>= 9
    with ``small_input``)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, in_channels: int = 3,
                 small_input: bool = False):
        super().__init__()
        num_classes, in_channels = check_sizes("squeezenet1_1", num_classes, in_channels)
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, 3, stride=1 if small_input else 2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(64, 16, 64, 64), Fire(128, 16, 64, 64),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(128, 32, 128, 128), Fire(256, 32, 128, 128),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
            Fire(384, 64, 256, 256), Fire(512, 64, 256, 256),
        )
        final_conv = nn.Conv2d(512, num_classes, 1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    init.normal_(m.weight, 0.0, 0.01)
                else:
                    init.kaiming_uniform_(m.weight)
                init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return fovea.flatten(self.classifier(self.features(x)), 1)


def squeezenet1_1(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> SqueezeNet:
    """SqueezeNet 1.1 as torchvision's ``squeezenet1_1()``: 1,235,496 parameters."""
    return SqueezeNet(num_classes=num_classes, in_channels=in_channels, **kwargs)
