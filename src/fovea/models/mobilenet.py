"""MobileNets: depthwise separable convolutions for small, fast networks.

* ``mobilenet_v1`` (Howard et al. 2017): conv3×3/2 (32) then 13 depthwise separable blocks
  (depthwise conv3×3 – BN – ReLU – pointwise conv1×1 – BN – ReLU) up to 1024 channels,
  global average pool, linear. A depthwise 3×3 conv on C channels costs 9·C·H·W
  multiply-adds instead of a full conv's 9·C²·H·W; the pointwise 1×1 mixes channels.
  ``width_mult`` (α) thins every layer: 4,231,976 parameters at α = 1 (the paper's 4.2 M).
  Keys: ``features.<i>.<j>`` (block i's j-th layer), ``classifier.1``.
* ``mobilenet_v2`` (Sandler et al. 2018) as torchvision builds it: inverted residual blocks
  (expand 1×1 by t – ReLU6 – depthwise 3×3 – ReLU6 – linear project 1×1, with the identity
  shortcut where shapes allow); 3,504,872 parameters and torchvision's ``state_dict`` keys.

``small_input=True`` (28×28, 32×32 images) gives the first convolution stride 1 (same
weights, same keys).
"""

from __future__ import annotations

import fovea
from fovea import nn
from fovea.models._common import check_sizes, kaiming_init
from fovea.nn import functional as F
from fovea.tensor import Tensor

__all__ = ["MobileNetV1", "MobileNetV2", "mobilenet_v1", "mobilenet_v2", "make_divisible"]


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """The nearest multiple of ``divisor`` to ``v``, never below 90 % of ``v`` (the channel
    rounding of the MobileNet reference code)."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class ConvBNAct(nn.Sequential):
    """conv (no bias) – BN – activation, as torchvision's ``Conv2dNormActivation``: keys
    ``0`` (conv), ``1`` (BN). (N, C_in, H, W) -> (N, C_out, ⌈H/stride⌉, ⌈W/stride⌉)."""

    def __init__(self, in_planes: int, out_planes: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1, activation=nn.ReLU6):
        super().__init__(
            nn.Conv2d(in_planes, out_planes, kernel_size, stride, (kernel_size - 1) // 2,
                      groups=groups, bias=False),
            nn.BatchNorm2d(out_planes),
            activation(inplace=True),
        )


class MobileNetV1(nn.Module):
    """MobileNet v1. Shapes: (N, in_channels, H, W) -> (N, num_classes)."""

    # (output channels, stride) of the 13 depthwise separable blocks
    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
              (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, in_channels: int = 3,
                 dropout: float = 0.0, small_input: bool = False):
        super().__init__()
        num_classes, in_channels = check_sizes("mobilenet_v1", num_classes, in_channels)
        if not width_mult > 0:
            raise ValueError(f"mobilenet_v1: width_mult must be positive, got {width_mult!r}")
        c = max(1, int(32 * width_mult))
        layers: list[nn.Module] = [ConvBNAct(in_channels, c, 3, 1 if small_input else 2,
                                             activation=nn.ReLU)]
        for out, stride in self.BLOCKS:
            out = max(1, int(out * width_mult))
            layers.append(nn.Sequential(
                nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False), nn.BatchNorm2d(c),
                nn.ReLU(inplace=True),
                nn.Conv2d(c, out, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)))
            c = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, num_classes))
        kaiming_init(self)

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(fovea.flatten(x, 1))


class InvertedResidual(nn.Module):
    """MobileNet v2's block: ``conv`` = [pw expand – ReLU6] – dw 3×3 – ReLU6 – pw linear – BN,
    plus the input where stride is 1 and channels agree.
    (N, inp, H, W) -> (N, oup, ⌈H/stride⌉, ⌈W/stride⌉)."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride must be 1 or 2, got {stride}")
        hidden = int(round(inp * expand_ratio))
        self.stride = stride
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNAct(inp, hidden, kernel_size=1))
        layers += [ConvBNAct(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, oup, 1, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNet v2 (torchvision's). Shapes: (N, in_channels, H, W) -> (N, num_classes)."""

    # t (expansion), c (channels), n (blocks), s (stride of the first)
    SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
               [6, 160, 3, 2], [6, 320, 1, 1]]

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 round_nearest: int = 8, dropout: float = 0.2, in_channels: int = 3,
                 small_input: bool = False):
        super().__init__()
        num_classes, in_channels = check_sizes("mobilenet_v2", num_classes, in_channels)
        if not width_mult > 0:
            raise ValueError(f"mobilenet_v2: width_mult must be positive, got {width_mult!r}")
        c = make_divisible(32 * width_mult, round_nearest)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [ConvBNAct(in_channels, c, stride=1 if small_input else 2)]
        for t, ch, n, s in self.SETTING:
            out = make_divisible(ch * width_mult, round_nearest)
            for i in range(n):
                features.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        features.append(ConvBNAct(c, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout),
                                        nn.Linear(self.last_channel, num_classes))
        kaiming_init(self)

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(fovea.flatten(x, 1))


def mobilenet_v1(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> MobileNetV1:
    """MobileNet v1 (``width_mult=`` α, ``dropout=``, ``small_input=``): 4,231,976 parameters
    at α = 1."""
    return MobileNetV1(num_classes=num_classes, in_channels=in_channels, **kwargs)


def mobilenet_v2(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> MobileNetV2:
    """MobileNet v2 as torchvision's ``mobilenet_v2()``: 3,504,872 parameters."""
    return MobileNetV2(num_classes=num_classes, in_channels=in_channels, **kwargs)
