"""GoogLeNet / Inception v1 (Szegedy et al. 2015) as torchvision builds it.

Nine Inception modules, each four parallel branches concatenated along the channels:
1×1; 1×1 reduce – 3×3; 1×1 reduce – "5×5" (a 3×3 in torchvision's model, kept here so the
parameter count and the keys are torchvision's); 3×3 max-pool – 1×1 projection. Every conv
is conv (no bias) – BN (eps 0.001) – ReLU (``BasicConv2d``). The stem is conv7×7/2 – max-pool
– conv1×1 – conv3×3 – max-pool; global average pooling, dropout 0.2 and one linear layer end
it. 6,624,904 parameters without the auxiliary classifiers.

``aux_logits=True`` adds the two auxiliary classifiers after inception4a and inception4d
(average pool to 4×4 – conv1×1 128 – linear 1024 – ReLU – dropout 0.7 – linear); in
training mode the model then returns ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``
(the paper adds their losses with weight 0.3), in eval mode the logits alone.
``small_input=True`` gives conv1 stride 1 and replaces the first max-pool by the identity.
"""

from __future__ import annotations

from collections import namedtuple

import fovea
from fovea import nn
from fovea.models._common import check_sizes
from fovea.nn import functional as F
from fovea.nn import init
from fovea.tensor import Tensor

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "googlenet"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class BasicConv2d(nn.Module):
    """conv (no bias) – BN (eps 0.001) – ReLU. (N, C_in, H, W) -> (N, C_out, H', W')."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """Four branches concatenated: (N, C, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, 1),
                                     BasicConv2d(ch3x3red, ch3x3, 3, padding=1))
        # NOTE: a 3×3 where the paper has 5×5, as in torchvision (its weights were trained so).
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, 1),
                                     BasicConv2d(ch5x5red, ch5x5, 3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, 1))

    def forward(self, x: Tensor) -> Tensor:
        return fovea.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: avg-pool to 4×4 – conv1×1 128 – 2048 → 1024 – ReLU – dropout –
    num_classes. (N, C, H, W) -> (N, num_classes)."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, 1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        x = F.relu(self.fc1(fovea.flatten(x, 1)), inplace=True)
        return self.fc2(self.dropout(x))


class GoogLeNet(nn.Module):
    """GoogLeNet. Shapes: (N, in_channels, H, W) -> (N, num_classes) (or GoogLeNetOutputs in
    training with ``aux_logits``); any H, W >= 1."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True,
                 transform_input: bool = False, init_weights: bool = True,
                 dropout: float = 0.2, dropout_aux: float = 0.7, in_channels: int = 3,
                 small_input: bool = False):
        super().__init__()
        num_classes, in_channels = check_sizes("googlenet", num_classes, in_channels)
        if transform_input and in_channels != 3:
            raise ValueError(f"googlenet: transform_input needs 3 input channels, got "
                             f"{in_channels}")
        self.aux_logits, self.transform_input = bool(aux_logits), bool(transform_input)
        self.conv1 = BasicConv2d(in_channels, 64, 7, stride=1 if small_input else 2, padding=3)
        self.maxpool1 = nn.Identity() if small_input else nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        if self.aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout_aux)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)
        if init_weights:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    init.ones_(m.weight)
                    init.zeros_(m.bias)

    def _transform_input(self, x: Tensor) -> Tensor:
        # ImageNet normalisation (mean, std) turned into the (0.5, 0.5) one the weights expect
        mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
        chans = [x[:, i:i + 1] * (std[i] / 0.5) + (mean[i] - 0.5) / 0.5 for i in range(3)]
        return fovea.cat(chans, 1)

    def forward(self, x: Tensor):
        if self.transform_input:
            x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux = self.aux_logits and self.training
        aux1 = self.aux1(x) if aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if aux else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(fovea.flatten(self.avgpool(x), 1)))
        return GoogLeNetOutputs(x, aux2, aux1) if aux else x


def googlenet(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> GoogLeNet:
    """GoogLeNet as torchvision's ``googlenet()`` (``aux_logits=True`` by default):
    6,624,904 parameters without the auxiliary classifiers, 13,004,888 with them."""
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, **kwargs)
