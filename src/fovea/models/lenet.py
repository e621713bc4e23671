"""LeNet-5 (LeCun et al. 1998, "Gradient-based learning applied to document recognition").

The network on 32×32 inputs (the lectures' figure)::

    C1 conv5×5 6 → 28×28 – tanh – S2 avg-pool 2 → 14×14
    C3 conv5×5 16 → 10×10 – tanh – S4 avg-pool 2 → 5×5
    C5 conv5×5 120 → 1×1 – tanh – F6 linear 84 – tanh – output linear num_classes

61,706 parameters for 10 classes (C3 fully connected; the paper's sparse connection table
is left out, as in every modern re-implementation). Smaller images (28×28 MNIST) are
zero-padded to 32×32, as the paper centred its 28×28 digits in a 32×32 field; larger ones
pass through, and C5's map is averaged to 1×1, so any size from 28×28 up works.
"""

from __future__ import annotations

import fovea
from fovea import nn
from fovea.models._common import check_sizes
from fovea.tensor import Tensor

__all__ = ["LeNet5", "lenet5"]


class LeNet5(nn.Module):
    """LeNet-5. Shapes: (N, in_channels, H, W) -> (N, num_classes), H, W >= 1 (padded to
    at least 32)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        num_classes, in_channels = check_sizes("lenet5", num_classes, in_channels)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(16, 120, 5), nn.Tanh(),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))  # the identity on 32×32 inputs
        self.classifier = nn.Sequential(nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        if h < 32 or w < 32:  # centre a small image in a 32×32 field
            ph, pw = max(0, 32 - h), max(0, 32 - w)
            x = fovea.nn.functional.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        x = self.avgpool(self.features(x))
        return self.classifier(fovea.flatten(x, 1))


def lenet5(num_classes: int = 10, in_channels: int = 1) -> LeNet5:
    """LeNet-5 (see the module docstring): 61,706 parameters for 10 classes and 1 channel."""
    return LeNet5(num_classes, in_channels)
