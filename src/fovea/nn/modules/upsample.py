"""Up-sampling layers: ``Upsample`` (and PyTorch's two fixed-mode shorthands)."""

from __future__ import annotations

from fovea.nn.functional.upsample import interpolate
from fovea.nn.modules.module import Module
from fovea.tensor import Tensor


class Upsample(Module):
    """Resize by interpolation (see ``F.interpolate``): (N, C, H, W) -> (N, C, H', W').

    Args:
        size: output (H', W') or an int; exclusive with ``scale_factor``.
        scale_factor: multiplier (or pair).
        mode: ``'nearest'``, ``'nearest-exact'`` or ``'bilinear'``.
        align_corners: bilinear only (default False).
        recompute_scale_factor: derive the coordinate scale from the output size.
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None):
        super().__init__()
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: exactly one of size and scale_factor must be given")
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor, got {type(x).__name__}")
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"scale_factor={float(self.scale_factor)}" \
            if isinstance(self.scale_factor, int | float) else \
            (f"scale_factor={self.scale_factor}" if self.scale_factor is not None
             else f"size={self.size}")
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode='nearest')``."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode='bilinear', align_corners=True)``, as in PyTorch."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
