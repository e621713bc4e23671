"""Argument checks shared by convolution, pooling and up-sampling, and the public size helper.

The window geometry itself (:class:`~fovea.backends.conv_geometry.Geometry`) lives in
:mod:`fovea.backends.conv_geometry`, below both the ops and the kernels.

The output size of a sliding window of ``kernel_size`` taps spaced ``dilation`` apart,
moved by ``stride`` over ``size`` samples padded by ``padding`` on each side, is PyTorch's::

    out = floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1

With ``ceil_mode`` (pooling) the division rounds up, but the last window must start inside
the input or its left padding: if ``(out - 1) * stride >= size + padding``, ``out`` drops by 1.
"""

from __future__ import annotations

import numbers

from fovea.backends.conv_geometry import window_output_size


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length of a convolution or pooling window along one spatial dimension.

    Args:
        size: input length (H or W).
        kernel_size: number of taps F.
        stride: step S between windows.
        padding: P, added on both sides (for asymmetric padding pass the mean and mind
            the rounding; ``fovea.backends.conv_geometry.window_output_size`` takes
            both sides).
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
