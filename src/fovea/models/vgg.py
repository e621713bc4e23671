"""VGG (Simonyan & Zisserman 2015) as torchvision builds it: configurations A, B, D, E (11, 13,
16, 19 weight layers), with or without batch norm, and torchvision's ``state_dict`` keys
(``features.<i>``, ``classifier.<i>``).

Every convolution is 3×3 with padding 1 (the receptive field of three stacked 3×3 convs is
7×7, with fewer parameters: the lecture's argument); five 2×2 max-pools halve the map;
adaptive average pooling to 7×7; then 25088 → 4096 → 4096 → num_classes. VGG-16 has
138,357,544 parameters and, per 224×224 image, about 15.5 G multiply-adds (``fovea summary
vgg16``). ``small_input=True`` (28×28, 32×32 images) replaces the first max-pool by the
identity, at the same index, so the ``state_dict`` is unchanged.
"""

from __future__ import annotations

import fovea
from fovea import nn
from fovea.models._common import check_sizes, kaiming_init
from fovea.tensor import Tensor

__all__ = ["VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
           "vgg19_bn"]

CFGS: dict[str, list] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
          "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512,
          512, 512, 512, "M"],
}


def make_layers(cfg: list, batch_norm: bool = False, in_channels: int = 3,
                small_input: bool = False) -> nn.Sequential:
    """The convolutional part: ``cfg`` lists output channels and "M" for a 2×2 max-pool."""
    layers: list[nn.Module] = []
    first_pool = True
    for v in cfg:
        if v == "M":
            layers.append(nn.Identity() if (small_input and first_pool) else nn.MaxPool2d(2, 2))
            first_pool = False
        else:
            layers.append(nn.Conv2d(in_channels, v, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU(inplace=True))
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG on a given ``features`` stack. Shapes: (N, C, H, W) -> (N, num_classes); H, W >= 32
    (>= 16 with ``small_input``)."""

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            kaiming_init(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(fovea.flatten(x, 1))


def _vgg(name: str, cfg: str, batch_norm: bool, num_classes: int, in_channels: int,
         small_input: bool = False, **kwargs) -> VGG:
    num_classes, in_channels = check_sizes(name, num_classes, in_channels)
    return VGG(make_layers(CFGS[cfg], batch_norm, in_channels, small_input), num_classes,
               **kwargs)


def vgg11(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11 (configuration A): 132,863,336 parameters."""
    return _vgg("vgg11", "A", False, num_classes, in_channels, **kwargs)


def vgg11_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11 with batch norm: 132,868,840 parameters."""
    return _vgg("vgg11_bn", "A", True, num_classes, in_channels, **kwargs)


def vgg13(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-13 (configuration B): 133,047,848 parameters."""
    return _vgg("vgg13", "B", False, num_classes, in_channels, **kwargs)


def vgg13_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-13 with batch norm: 133,053,736 parameters."""
    return _vgg("vgg13_bn", "B", True, num_classes, in_channels, **kwargs)


def vgg16(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16 (configuration D): 138,357,544 parameters."""
    return _vgg("vgg16", "D", False, num_classes, in_channels, **kwargs)


def vgg16_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16 with batch norm: 138,365,992 parameters."""
    return _vgg("vgg16_bn", "D", True, num_classes, in_channels, **kwargs)


def vgg19(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-19 (configuration E): 143,667,240 parameters."""
    return _vgg("vgg19", "E", False, num_classes, in_channels, **kwargs)


def vgg19_bn(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-19 with batch norm: 143,678,248 parameters."""
    return _vgg("vgg19_bn", "E", True, num_classes, in_channels, **kwargs)
