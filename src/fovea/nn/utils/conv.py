"""Sizes and argument checks shared by convolution, pooling and up-sampling.

The output size of a sliding window of ``kernel_size`` taps spaced ``dilation`` apart,
moved by ``stride`` over ``size`` samples padded by ``padding`` on each side, is PyTorch's::

    out = floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1

With ``ceil_mode`` (pooling) the division rounds up, but the last window must start inside
the input or its left padding: if ``(out - 1) * stride >= size + padding``, ``out`` drops by 1.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length of a convolution or pooling window along one spatial dimension.

    Args:
        size: input length (H or W).
        kernel_size: number of taps F.
        stride: step S between windows.
        padding: P, added on both sides (for asymmetric padding pass the mean and mind
            the rounding; :func:`window_output_size` takes both sides).
        dilation: spacing D between taps.
        ceil_mode: round up instead of down (pooling), dropping a last window that would
            start in the right padding.

    Returns:
        floor((size + 2P - D(F - 1) - 1) / S) + 1 (or the ceil_mode variant).

    Raises:
        ValueError: if an argument is out of range or the output would be empty.
    """
    return window_output_size(size, kernel_size, stride, padding, padding, dilation, ceil_mode,
                              op="conv_output_size")


def window_output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int,
                       dilation: int = 1, ceil_mode: bool = False, op: str = "conv") -> int:
    """Like :func:`conv_output_size` with separate padding before and after (``'same'``)."""
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


def pair(value, name: str, op: str, low: int = 0) -> tuple[int, int]:
    """``value`` (an int or a pair of ints) as ``(h, w)``, each an integer >= ``low``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    out = []
    for v in value:
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < low:
            raise ValueError(f"{op}: {name} must contain integers >= {low}, got {value!r}")
        out.append(int(v))
    return out[0], out[1]


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


def conv_padding(padding, kernel: tuple[int, int], stride: tuple[int, int],
                 dilation: tuple[int, int], op: str) -> tuple[int, int, int, int]:
    """PyTorch's ``padding`` (int, pair, ``'valid'`` or ``'same'``) as (top, bottom, left, right).

    ``'same'`` pads ``D(F - 1)`` in total, half before and the rest after; it needs stride 1.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
            return th // 2, th - th // 2, tw // 2, tw - tw // 2
        raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', "
                         f"got {padding!r}")
    ph, pw = pair(padding, "padding", op)
    return ph, ph, pw, pw
