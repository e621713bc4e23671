"""ResNets for ImageNet (He et al. 2016) and ResNeXt (Xie et al. 2017) as torchvision builds
them, with torchvision's constructor arguments and ``state_dict`` keys.

    conv1 7×7/2 64 – bn1 – ReLU – maxpool 3×3/2          224 → 56
    layer1..layer4: blocks of 64, 128, 256, 512 planes   56 → 28 → 14 → 7 (first block /2)
    global average pool – fc (num_classes)

A basic block (ResNet-18/34) is conv3×3 – BN – ReLU – conv3×3 – BN; a bottleneck (ResNet-50
and deeper) is conv1×1 (width) – BN – ReLU – conv3×3 (width, stride, ``groups``) – BN – ReLU –
conv1×1 (4 × planes) – BN, with width = planes · width_per_group / 64 · groups (ResNeXt's
32 groups of 4: ``resnext50_32x4d``). Each adds the shortcut (the identity, or a strided
1×1 conv + BN named ``downsample`` where the shape changes) before the last ReLU.

``zero_init_residual=True`` zeroes the last BN's weight of every block, so each block
starts as the identity (Goyal et al. 2017). ``small_input=True`` (28×28, 32×32 images)
gives ``conv1`` stride 1 and replaces the max-pool by the identity: the same parameters and
``state_dict``, a 4× larger map. The CIFAR ResNets of the paper's §4.2 are
:mod:`fovea.models.resnet`.
"""

from __future__ import annotations

import fovea
from fovea import nn
from fovea.models._common import check_sizes, kaiming_init
from fovea.nn import init
from fovea.tensor import Tensor

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50",
           "resnet101", "resnet152", "resnext50_32x4d"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, groups=groups,
                     bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convs + shortcut. (N, inplanes, H, W) -> (N, planes, ⌈H/stride⌉, ⌈W/stride⌉)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64):
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock: only groups=1 and base_width=64 are supported, got "
                             f"groups={groups}, base_width={base_width}")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 – 3×3 (stride, groups) – 1×1 convs + shortcut (torchvision's "ResNet v1.5": the
    stride is on the 3×3). (N, inplanes, H, W) -> (N, 4·planes, ⌈H/stride⌉, ⌈W/stride⌉)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A ResNet of ``block`` (BasicBlock or Bottleneck) with ``layers`` blocks per stage.

    Args:
        block, layers: the block type and the number of blocks of the four stages.
        num_classes: outputs of ``fc``.
        zero_init_residual: start every residual branch at zero (its last BN weight 0).
        groups, width_per_group: ResNeXt's cardinality and width of each group.
        in_channels: image channels.
        small_input: stride-1 stem without max-pool, for 28×28 / 32×32 images.

    Shapes: (N, in_channels, H, W) -> (N, num_classes); any H, W >= 1.
    """

    def __init__(self, block, layers, num_classes: int = 1000, zero_init_residual: bool = False,
                 groups: int = 1, width_per_group: int = 64, in_channels: int = 3,
                 small_input: bool = False):
        super().__init__()
        num_classes, in_channels = check_sizes("ResNet", num_classes, in_channels)
        if len(layers) != 4:
            raise ValueError(f"ResNet: layers must give 4 stage depths, got {list(layers)}")
        self.inplanes, self.groups, self.base_width = 64, groups, width_per_group
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=1 if small_input else 2, padding=3,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        kaiming_init(self, linear_std=None)  # fc keeps nn.Linear's default, as torchvision
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    init.zeros_(m.bn2.weight)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width)
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(fovea.flatten(self.avgpool(x), 1))


def _resnet(block, layers, num_classes, in_channels, **kwargs) -> ResNet:
    return ResNet(block, layers, num_classes=num_classes, in_channels=in_channels, **kwargs)


def resnet18(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-18: basic blocks [2, 2, 2, 2], 11,689,512 parameters."""
    return _resnet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, **kwargs)


def resnet34(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-34: basic blocks [3, 4, 6, 3], 21,797,672 parameters."""
    return _resnet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, **kwargs)


def resnet50(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-50: bottlenecks [3, 4, 6, 3], 25,557,032 parameters."""
    return _resnet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, **kwargs)


def resnet101(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-101: bottlenecks [3, 4, 23, 3], 44,549,160 parameters."""
    return _resnet(Bottleneck, [3, 4, 23, 3], num_classes, in_channels, **kwargs)


def resnet152(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-152: bottlenecks [3, 8, 36, 3], 60,192,808 parameters."""
    return _resnet(Bottleneck, [3, 8, 36, 3], num_classes, in_channels, **kwargs)


def resnext50_32x4d(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNeXt-50 32×4d: bottlenecks [3, 4, 6, 3] with 32 groups of width 4, 25,028,904
    parameters."""
    kwargs.setdefault("groups", 32)
    kwargs.setdefault("width_per_group", 4)
    return _resnet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, **kwargs)


