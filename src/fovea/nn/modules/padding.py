"""Padding layers, as PyTorch's: ``{Constant,Zero,Reflection,Replication,Circular}Pad{1,2,3}d``.

Each holds its ``padding`` as a tuple of (before, after) pairs from the last dimension
backwards (an int is used on every side) and calls :func:`fovea.nn.functional.pad`. The 1d
layers take (N, C, L) or (C, L), the 2d ones (N, C, H, W) or (C, H, W), the 3d ones
(N, C, D, H, W) or (C, D, H, W); negative padding crops.
"""

from __future__ import annotations

import numbers

from fovea.errors import ShapeError
from fovea.nn.functional.padding import pad
from fovea.nn.modules._checks import check_tensor, shape_str
from fovea.nn.modules.module import Module

__all__ = [
    "CircularPad1d", "CircularPad2d", "CircularPad3d",
    "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
]


def _expand(padding, dims: int, layer: str) -> tuple:
    """An int -> the same value on all 2·dims sides; a tuple must have 2·dims ints."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return (int(padding),) * (2 * dims)
    if isinstance(padding, tuple | list) and len(padding) == 2 * dims and all(
            isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in padding):
        return tuple(int(p) for p in padding)
    raise ValueError(f"{layer}: padding must be an int or a tuple of {2 * dims} ints, got "
                     f"{padding!r}")


class _PadNd(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding):
        super().__init__()
        self.padding = _expand(padding, self.dims, type(self).__name__)

    def _check(self, x):
        name = type(self).__name__
        check_tensor(x, name)
        if x.ndim not in (self.dims + 1, self.dims + 2):
            raise ShapeError(f"{name}: expected a {self.dims + 1}-d or {self.dims + 2}-d "
                             f"input, got shape {shape_str(x.shape)}")

    def forward(self, x):
        self._check(x)
        return pad(x, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, x):
        self._check(x)
        return pad(x, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dimension with ``value``: (N, C, L) -> (N, C, L + left + right)."""


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dimensions with ``value``; padding (left, right, top, bottom)."""

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three dimensions with ``value``; padding (left, right, top, bottom,
    front, back)."""

    dims = 3


class ZeroPad1d(ConstantPad1d):
    """Pads the last dimension with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pads the last two dimensions with zeros; padding (left, right, top, bottom)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pads the last three dimensions with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Mirrors the last dimension at its edges (edges not repeated); each pad < the size."""

    mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    """Mirrors the last two dimensions; padding (left, right, top, bottom)."""

    dims = 2


class ReflectionPad3d(ReflectionPad1d):
    """Mirrors the last three dimensions."""

    dims = 3


class ReplicationPad1d(_PadNd):
    """Repeats the edge values of the last dimension."""

    mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    """Repeats the edge values of the last two dimensions."""

    dims = 2


class ReplicationPad3d(ReplicationPad1d):
    """Repeats the edge values of the last three dimensions."""

    dims = 3


class CircularPad1d(_PadNd):
    """Wraps the last dimension around (periodic boundary)."""

    mode = "circular"


class CircularPad2d(CircularPad1d):
    """Wraps the last two dimensions around."""

    dims = 2


class CircularPad3d(CircularPad1d):
    """Wraps the last three dimensions around."""

    dims = 3
