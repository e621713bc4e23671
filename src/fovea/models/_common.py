"""Helpers shared by the model zoo: argument checks and the classic initialisations."""

from __future__ import annotations

from fovea import nn
from fovea.nn import init


def check_sizes(name: str, num_classes, in_channels) -> tuple[int, int]:
    """``(num_classes, in_channels)`` as ints; ValueError naming the model otherwise."""
    for option, value in (("num_classes", num_classes), ("in_channels", in_channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: {option} must be a positive integer, got {value!r}")
    return int(num_classes), int(in_channels)


def kaiming_init(model: nn.Module, conv_mode: str = "fan_out", linear_std: float | None = 0.01,
                 conv_bias: float = 0.0) -> None:
    """The initialisation torchvision uses for VGG, ResNet and MobileNet: He-normal
    convolutions (``conv_mode``), BN weight 1 and bias 0, linear weights N(0, linear_std²)
    (left at the layer's default when ``linear_std`` is None) and zero biases."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            init.kaiming_normal_(m.weight, mode=conv_mode, nonlinearity="relu")
            if m.bias is not None:
                init.constant_(m.bias, conv_bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            init.ones_(m.weight)
            init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            init.normal_(m.weight, 0.0, linear_std)
            init.zeros_(m.bias)
