"""DenseNets (Huang et al. 2017) as torchvision builds them, and the paper's CIFAR
DenseNet-BC.

Inside a dense block, layer ℓ sees the concatenation of the block's input and of every
earlier layer's k new maps (k, the growth rate) and adds k more; the "B" bottleneck
(BN – ReLU – conv1×1 to bn_size·k – BN – ReLU – conv3×3 to k) keeps it cheap, and each
transition (BN – ReLU – conv1×1 – 2×2 average pool) halves the channels ("C", compression
0.5) and the map. torchvision's keys: ``features.conv0``, ``features.denseblock1.denselayer1.
norm1``, ``features.transition1.conv``, ``features.norm5``, ``classifier``.

* ``densenet121/169/201``: stem conv7×7/2 (64) – BN – ReLU – max-pool 3×3/2, four blocks of
  (6, 12, 24, 16) / (6, 12, 32, 32) / (6, 12, 48, 32) layers, k = 32: 7,978,856 /
  14,149,480 / 20,013,928 parameters. ``small_input=True`` gives the stem stride 1 and no
  max-pool (same ``state_dict``).
* ``densenet_bc_100`` (the paper's CIFAR model, depth 100, k = 12): stem conv3×3 (2k maps),
  three blocks of 16 bottleneck layers, 0.77 M parameters for 10 classes.
"""

from __future__ import annotations

from collections import OrderedDict

import fovea
from fovea import nn
from fovea.models._common import check_sizes
from fovea.nn import functional as F
from fovea.nn import init
from fovea.tensor import Tensor

__all__ = ["DenseNet", "densenet121", "densenet169", "densenet201", "densenet_bc_100",
           "cifar_densenet"]


class _DenseLayer(nn.Module):
    """BN – ReLU – conv1×1 (bn_size·k) – BN – ReLU – conv3×3 (k) on the concatenated inputs.
    (N, C_in, H, W) (several tensors, concatenated) -> (N, growth_rate, H, W)."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int,
                 drop_rate: float):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)
        self.drop_rate = float(drop_rate)

    def forward(self, inputs: list[Tensor]) -> Tensor:
        x = inputs[0] if len(inputs) == 1 else fovea.cat(inputs, 1)
        x = self.conv1(self.relu1(self.norm1(x)))
        x = self.conv2(self.relu2(self.norm2(x)))
        if self.drop_rate > 0:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        return x


class _DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers; returns the input and all new maps concatenated:
    (N, C, H, W) -> (N, C + num_layers·k, H, W)."""

    def __init__(self, num_layers: int, num_input_features: int, bn_size: int,
                 growth_rate: int, drop_rate: float):
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}", _DenseLayer(
                num_input_features + i * growth_rate, growth_rate, bn_size, drop_rate))

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return fovea.cat(features, 1)


class _Transition(nn.Sequential):
    """BN – ReLU – conv1×1 – avg-pool 2×2: (N, C, H, W) -> (N, C_out, H/2, W/2)."""

    def __init__(self, num_input_features: int, num_output_features: int):
        super().__init__()
        self.add_module("norm", nn.BatchNorm2d(num_input_features))
        self.add_module("relu", nn.ReLU(inplace=True))
        self.add_module("conv", nn.Conv2d(num_input_features, num_output_features, 1,
                                          bias=False))
        self.add_module("pool", nn.AvgPool2d(2, stride=2))


class DenseNet(nn.Module):
    """A DenseNet-BC.

    Args:
        growth_rate: k, the maps each layer adds.
        block_config: layers in each dense block.
        num_init_features: maps of the stem convolution.
        bn_size: bottleneck width as a multiple of k.
        drop_rate: dropout after each dense layer.
        num_classes, in_channels: output classes, image channels.
        stem: ``"imagenet"`` (conv7×7/2 – BN – ReLU – max-pool), ``"small"`` (the same layers,
            stride 1 and no max-pool) or ``"cifar"`` (one conv3×3, as the paper's CIFAR nets).

    Shapes: (N, in_channels, H, W) -> (N, num_classes).
    """

    def __init__(self, growth_rate: int = 32, block_config=(6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int = 4, drop_rate: float = 0.0,
                 num_classes: int = 1000, in_channels: int = 3, stem: str = "imagenet",
                 compression: float = 0.5):
        super().__init__()
        num_classes, in_channels = check_sizes("DenseNet", num_classes, in_channels)
        if stem not in ("imagenet", "small", "cifar"):
            raise ValueError(f"DenseNet: stem must be 'imagenet', 'small' or 'cifar', got "
                             f"{stem!r}")
        if stem == "cifar":
            layers = [("conv0", nn.Conv2d(in_channels, num_init_features, 3, padding=1,
                                          bias=False))]
        else:
            small = stem == "small"
            layers = [
                ("conv0", nn.Conv2d(in_channels, num_init_features, 7, stride=1 if small else 2,
                                    padding=3, bias=False)),
                ("norm0", nn.BatchNorm2d(num_init_features)),
                ("relu0", nn.ReLU(inplace=True)),
                ("pool0", nn.Identity() if small else nn.MaxPool2d(3, stride=2, padding=1)),
            ]
        self.features = nn.Sequential(OrderedDict(layers))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}", _DenseBlock(
                num_layers, num_features, bn_size, growth_rate, drop_rate))
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                out = int(num_features * compression)
                self.features.add_module(f"transition{i + 1}", _Transition(num_features, out))
                num_features = out
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.features(x), inplace=True)
        out = F.adaptive_avg_pool2d(out, (1, 1))
        return self.classifier(fovea.flatten(out, 1))


def _densenet(growth_rate, block_config, num_init_features, num_classes, in_channels,
              small_input=False, **kwargs) -> DenseNet:
    return DenseNet(growth_rate, block_config, num_init_features, num_classes=num_classes,
                    in_channels=in_channels, stem="small" if small_input else "imagenet",
                    **kwargs)


def densenet121(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> DenseNet:
    """DenseNet-121 (k = 32, blocks 6-12-24-16): 7,978,856 parameters."""
    return _densenet(32, (6, 12, 24, 16), 64, num_classes, in_channels, **kwargs)


def densenet169(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> DenseNet:
    """DenseNet-169 (k = 32, blocks 6-12-32-32): 14,149,480 parameters."""
    return _densenet(32, (6, 12, 32, 32), 64, num_classes, in_channels, **kwargs)


def densenet201(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> DenseNet:
    """DenseNet-201 (k = 32, blocks 6-12-48-32): 20,013,928 parameters."""
    return _densenet(32, (6, 12, 48, 32), 64, num_classes, in_channels, **kwargs)


def cifar_densenet(depth: int = 100, growth_rate: int = 12, num_classes: int = 10,
                   in_channels: int = 3, drop_rate: float = 0.0) -> DenseNet:
    """The paper's CIFAR DenseNet-BC of ``depth`` = 6n + 4: a conv3×3 stem with 2k maps, three
    dense blocks of n bottleneck layers, compression 0.5 (Huang et al. 2017, §3)."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
        raise ValueError(f"cifar_densenet: depth must be 6n + 4 with n >= 1 (40, 100, 190, "
                         f"...), got {depth!r}")
    n = (depth - 4) // 6
    return DenseNet(growth_rate, (n, n, n), 2 * growth_rate, 4, drop_rate,
                    num_classes=num_classes, in_channels=in_channels, stem="cifar")


def densenet_bc_100(num_classes: int = 10, in_channels: int = 3, **kwargs) -> DenseNet:
    """DenseNet-BC for CIFAR, depth 100, k = 12 (0.8 M parameters in the paper's Table 2)."""
    return cifar_densenet(100, 12, num_classes, in_channels, **kwargs)
