"""Masked convolutions (van den Oord et al., 2016): the building block of PixelCNN.

Pixels are ordered in raster order (row by row, left to right). A masked convolution zeroes
the kernel taps that would let an output pixel see pixels later in that order:

* type ``"A"`` (first layer) also hides the centre tap, so output (i, j) depends only on
  inputs strictly before (i, j): the input pixel being predicted is never seen;
* type ``"B"`` (later layers) keeps the centre tap: the layer's own position carries only
  information from earlier pixels already, so seeing it breaks nothing.

With one channel group (binary or grayscale images) this is the whole story; colour channel
ordering (R before G before B) is not implemented.
"""

from __future__ import annotations

import numpy as np

import fovea
from fovea import nn
from fovea.nn import functional as F

__all__ = ["MaskedConv2d", "causal_mask"]


def causal_mask(kernel_size: int, mask_type: str) -> np.ndarray:
    """The (k, k) 0/1 mask of a masked convolution of type ``"A"`` or ``"B"``.

    Rows above the centre are kept, the centre row is kept left of the centre (and at the
    centre for type B), everything else is zero.
    """
    if mask_type not in ("A", "B"):
        raise ValueError(f"MaskedConv2d: mask_type must be 'A' or 'B', got {mask_type!r}")
    if kernel_size % 2 != 1:
        raise ValueError(f"MaskedConv2d: kernel_size must be odd (a centre tap), got "
                         f"{kernel_size}")
    k, c = kernel_size, kernel_size // 2
    mask = np.zeros((k, k), dtype=np.float32)
    mask[:c, :] = 1.0
    mask[c, :c + (mask_type == "B")] = 1.0
    return mask


class MaskedConv2d(nn.Conv2d):
    """A 2-d convolution whose kernel cannot see later pixels (stride 1, "same" padding).

    Args:
        mask_type: ``"A"`` (hides the centre: the first layer) or ``"B"`` (the others).
        in_channels, out_channels, kernel_size (odd), bias: as :class:`fovea.nn.Conv2d`.

    Shapes: input (N, C_in, H, W) -> output (N, C_out, H, W).
    """

    def __init__(self, mask_type: str, in_channels: int, out_channels: int,
                 kernel_size: int, bias: bool = True):
        mask = causal_mask(kernel_size, mask_type)
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                         bias=bias)
        self.mask_type = mask_type
        self.register_buffer("mask", fovea.tensor(mask[None, None], dtype=self.weight.dtype))

    def forward(self, x):
        # NOTE: the mask multiplies the weight in the graph (not the stored weight once), so
        # masked taps get zero gradient and stay irrelevant whatever the optimizer does.
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        return f"mask_type={self.mask_type!r}, " + super().extra_repr()
