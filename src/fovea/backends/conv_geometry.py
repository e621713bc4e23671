"""The geometry of a 2-D sliding window (convolution, pooling): taps, steps, padding, sizes.

Shared by the ops (:mod:`fovea.nn.functional.conv`, pooling) and the kernels
(:mod:`fovea.backends.cpu.conv`), so it lives below both. The output size of a window of
``kernel`` taps spaced ``dilation`` apart, moved by ``stride`` over ``size`` samples padded
by ``pad_before`` and ``pad_after``, is PyTorch's::

    out = floor((size + pad_before + pad_after - dilation * (kernel - 1) - 1) / stride) + 1

With ``ceil_mode`` (pooling) the division rounds up, but the last window must start inside
the input or its left padding: if ``(out - 1) * stride >= size + pad_before``, ``out`` drops
by 1.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple


def window_output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int,
                       dilation: int = 1, ceil_mode: bool = False, op: str = "conv") -> int:
    """Output length along one dimension (see the module docstring).

    Raises:
        ValueError: naming ``op``, if an argument is out of range or the output is empty.
    """
    for name, v, low in (("size", size, 0), ("kernel_size", kernel, 1), ("stride", stride, 1),
                         ("padding", pad_before, 0), ("padding", pad_after, 0),
                         ("dilation", dilation, 1)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < low:
            raise ValueError(f"{op}: {name} must be an integer >= {low}, got {v!r}")
    span = dilation * (kernel - 1) + 1
    room = size + pad_before + pad_after - span
    if ceil_mode:
        out = (room + stride - 1) // stride + 1
        if out > 0 and (out - 1) * stride >= size + pad_before:
            out -= 1
    else:
        out = room // stride + 1
    if out <= 0:
        raise ValueError(
            f"{op}: the output would be empty: input size {size} with padding "
            f"({pad_before}, {pad_after}) is smaller than the kernel's extent {span} "
            f"(kernel_size {kernel}, dilation {dilation})"
        )
    return int(out)


class Geometry(NamedTuple):
    """Everything about a 2-D sliding window except the tensors: taps, steps, padding.

    Padding is per side (top, bottom, left, right) because ``padding='same'`` with an even
    kernel pads asymmetrically, as PyTorch does (the extra row/column goes after).
    """

    kh: int
    kw: int
    sh: int = 1
    sw: int = 1
    dh: int = 1
    dw: int = 1
    pt: int = 0
    pb: int = 0
    pl: int = 0
    pr: int = 0
    groups: int = 1

    def out_size(self, h: int, w: int, op: str = "conv", ceil_mode: bool = False):
        """(Ho, Wo) for an (h, w) input; raises ValueError when empty."""
        return (window_output_size(h, self.kh, self.sh, self.pt, self.pb, self.dh, ceil_mode,
                                   op),
                window_output_size(w, self.kw, self.sw, self.pl, self.pr, self.dw, ceil_mode,
                                   op))

    @property
    def padded(self) -> bool:
        return bool(self.pt or self.pb or self.pl or self.pr)
