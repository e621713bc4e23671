"""ResNets for CIFAR (He et al. 2016, "Deep Residual Learning for Image Recognition", §4.2).

The network of depth 6n + 2::

    conv3×3 16 – BN – ReLU
    stage 1: n basic blocks, 16 channels, 32×32        (on 32×32 inputs)
    stage 2: n basic blocks, 32 channels, 16×16        (the first block has stride 2)
    stage 3: n basic blocks, 64 channels,  8×8         (the first block has stride 2)
    global average pool – linear (num_classes)

A basic block is ``relu(bn(conv3×3(relu(bn(conv3×3(x))))) + shortcut(x))``. Where a block
changes the shape (stride 2, more channels) the shortcut is

* option ``"A"`` (the paper's choice for CIFAR, parameter-free): the identity subsampled
  with stride 2 and zero-padded with the new channels, half before and half after the old
  ones;
* option ``"B"``: a 1×1 convolution with the block's stride followed by batch norm.

ResNet-20/32/44/56/110 are n = 3/5/7/9/18: 0.27M/0.46M/0.66M/0.85M/1.7M parameters with
option A, as in the paper's Table 6.
"""

from __future__ import annotations

import fovea
from fovea import nn
from fovea.nn import functional as F
from fovea.nn import init
from fovea.tensor import Tensor

SHORTCUTS = ("A", "B")


class PadShortcut(nn.Module):
    """Option A: ``x[:, :, ::s, ::s]`` with ``extra`` zero channels, half before and half after.

    Shapes: (N, C, H, W) -> (N, C + extra, ceil(H / s), ceil(W / s)).
    """

    def __init__(self, stride: int, extra: int):
        super().__init__()
        if stride < 1 or extra < 0:
            raise ValueError(f"PadShortcut: need stride >= 1 and extra >= 0, got stride={stride}, "
                             f"extra={extra}")
        self.stride, self.extra = int(stride), int(extra)

    def forward(self, x: Tensor) -> Tensor:
        s = self.stride
        if s > 1:
            x = x[:, :, ::s, ::s]
        if self.extra:
            before = self.extra // 2
            x = fovea.pad(x, (0, 0, 0, 0, before, self.extra - before))
        return x

    def extra_repr(self) -> str:
        return f"stride={self.stride}, extra={self.extra}"


class BasicBlock(nn.Module):
    """conv3×3 – BN – ReLU – conv3×3 – BN, plus the shortcut, then ReLU.

    Args:
        in_planes: input channels C.
        planes: output channels (both convolutions).
        stride: stride of the first convolution (and of the shortcut).
        shortcut: ``"A"`` or ``"B"`` (used only when the shape changes).

    Shapes: (N, C, H, W) -> (N, planes, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut: str = "A"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride == 1 and in_planes == planes:
            self.shortcut = nn.Identity()
        elif shortcut == "A":
            if planes < in_planes:
                raise ValueError(f"BasicBlock: option A cannot reduce channels "
                                 f"({in_planes} -> {planes})")
            self.shortcut = PadShortcut(stride, planes - in_planes)
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """The CIFAR ResNet of depth 6n + 2 (see the module docstring).

    Args:
        depth: 6n + 2 (20, 32, 44, 56, 110, ...).
        num_classes: size of the output.
        in_channels: image channels (3 for CIFAR).
        shortcut: ``"A"`` (zero-padding identity, the paper's CIFAR choice) or ``"B"``
            (1×1 convolution + BN) where the shape changes.
        widths: channels of the three stages.

    Shapes: (N, in_channels, H, W) -> (N, num_classes); any H, W >= 1 (32×32 in the paper).
    """

    def __init__(self, depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                 shortcut: str = "A", widths: tuple[int, int, int] = (16, 32, 64)):
        super().__init__()
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, "
                             f"110, ...), got {depth!r}")
        if shortcut not in SHORTCUTS:
            raise ValueError(f"CifarResNet: shortcut must be 'A' or 'B', got {shortcut!r}")
        if int(num_classes) < 1 or int(in_channels) < 1:
            raise ValueError(f"CifarResNet: num_classes and in_channels must be positive, got "
                             f"{num_classes} and {in_channels}")
        n = (depth - 2) // 6
        self.depth, self.shortcut_option = depth, shortcut
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        stages, in_planes = [], widths[0]
        for i, planes in enumerate(widths):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(BasicBlock(in_planes, planes, stride, shortcut))
                in_planes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(in_planes, int(num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # He et al. 2015's initialisation, as the paper uses.
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = out.mean(dim=(2, 3))  # global average pool: (N, 64, h, w) -> (N, 64)
        return self.fc(out)


def cifar_resnet(depth: int = 20, num_classes: int = 10, in_channels: int = 3,
           shortcut: str = "A") -> CifarResNet:
    """A CIFAR ResNet of depth 6n + 2 (see :class:`CifarResNet`)."""
    return CifarResNet(depth, num_classes, in_channels, shortcut)


def resnet20(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-20 for CIFAR (0.27M parameters with option A)."""
    return CifarResNet(20, num_classes, in_channels, shortcut)


def resnet32(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-32 for CIFAR (0.46M parameters with option A)."""
    return CifarResNet(32, num_classes, in_channels, shortcut)


def resnet44(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-44 for CIFAR (0.66M parameters with option A)."""
    return CifarResNet(44, num_classes, in_channels, shortcut)


def resnet56(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-56 for CIFAR (0.85M parameters with option A)."""
    return CifarResNet(56, num_classes, in_channels, shortcut)


def _builder(depth: int):
    def build(in_channels: int, image_size: tuple[int, int], num_classes: int) -> CifarResNet:
        return CifarResNet(depth, num_classes, in_channels)

    build.__name__ = f"resnet{depth}"
    build.__doc__ = f"ResNet-{depth} (option A) for the registry: (in_channels, image_size, " \
                    "num_classes); any image size works (global average pooling)."
    return build


REGISTRY = {f"resnet{d}": _builder(d) for d in (20, 32, 44, 56)}
