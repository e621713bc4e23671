"""Pooling layers: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d``, ``AdaptiveMaxPool2d``,
``MaxUnpool2d`` (PyTorch's names and arguments; no parameters)."""

from __future__ import annotations

from fovea.nn.functional.pooling import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    max_pool2d,
    max_unpool2d,
)
from fovea.nn.modules.module import Module
from fovea.nn.utils.conv import pair
from fovea.tensor import Tensor


def _check(module: Module, x) -> None:
    name = type(module).__name__
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: expected input of shape (N, C, H, W) or (C, H, W), got "
                         f"{tuple(x.shape)}")


class MaxPool2d(Module):
    """Max over kH×kW windows (see ``F.max_pool2d``): (N, C, H, W) -> (N, C, Ho, Wo).

    With ``return_indices=True`` forward returns (output, indices) for ``MaxUnpool2d``.
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        # Validate now; keep the values as given, like PyTorch (its repr shows them so).
        pair(kernel_size, "kernel_size", "MaxPool2d", low=1)
        pair(padding, "padding", "MaxPool2d")
        if stride is not None:
            pair(stride, "stride", "MaxPool2d", low=1)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        pair(dilation, "dilation", "MaxPool2d", low=1)
        self.dilation = dilation
        self.return_indices, self.ceil_mode = bool(return_indices), bool(ceil_mode)

    def forward(self, x: Tensor):
        _check(self, x)
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over kH×kW windows (see ``F.avg_pool2d``): (N, C, H, W) -> (N, C, Ho, Wo)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        # Validate now; keep the values as given, like PyTorch (its repr shows them so).
        pair(kernel_size, "kernel_size", "AvgPool2d", low=1)
        pair(padding, "padding", "AvgPool2d")
        if stride is not None:
            pair(stride, "stride", "AvgPool2d", low=1)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        _check(self, x)
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (see ``F.adaptive_avg_pool2d``);
    ``AdaptiveAvgPool2d(1)`` is global average pooling: (N, C, H, W) -> (N, C, 1, 1)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        _check(self, x)
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size (see ``F.adaptive_max_pool2d``)."""

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        self.output_size, self.return_indices = output_size, bool(return_indices)

    def forward(self, x: Tensor):
        _check(self, x)
        return adaptive_max_pool2d(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxUnpool2d(Module):
    """Partial inverse of ``MaxPool2d`` (see ``F.max_unpool2d``):
    ``forward(x, indices, output_size=None)`` puts each value back at its index, zeros elsewhere.
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        # PyTorch stores these as pairs for this layer (and shows them so).
        self.kernel_size = pair(kernel_size, "kernel_size", "MaxUnpool2d", low=1)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride",
                                                                   "MaxUnpool2d", low=1)
        self.padding = pair(padding, "padding", "MaxUnpool2d")

    def forward(self, x: Tensor, indices: Tensor, output_size=None) -> Tensor:
        _check(self, x)
        return max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding,
                            output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
