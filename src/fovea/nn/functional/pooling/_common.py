"""Argument handling shared by the pooling families: the input and the window."""

from __future__ import annotations

import numbers

from fovea import backends
from fovea.backends.conv_geometry import Geometry
from fovea.nn.utils.conv import pair
from fovea.ops._util import as_tensor
from fovea.tensor import Tensor


def input4(input, op: str):
    """(x as a 4-D float tensor, whether the input was unbatched (C, H, W))."""
    x = as_tensor(input, op=op)
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or a 3-D unbatched input "
                         f"(C, H, W), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating tensor, got dtype {x.dtype}")
    unbatched = x.ndim == 3
    return (x.unsqueeze(0) if unbatched else x), unbatched


def window(x: Tensor, kernel_size, stride, padding, dilation, ceil_mode, op: str):
    """The checked pooling arguments for 4-D ``x`` as a ``Window`` of the ``pool`` kernel
    family of x's device (:class:`fovea.backends.generic.pool.Window`: sizes and tap views);
    stride defaults to the kernel size; padding at most half the kernel, as PyTorch
    requires."""
    k = pair(kernel_size, "kernel_size", op, low=1)
    s = k if stride is None or (isinstance(stride, tuple | list) and not stride) \
        else pair(stride, "stride", op, low=1)
    p = pair(padding, "padding", op)
    d = pair(dilation, "dilation", op, low=1)
    for pi, ki in zip(p, k):
        if pi * 2 > ki:
            raise ValueError(f"{op}: padding should be at most half of the kernel size, got "
                             f"padding={p} for kernel_size={k}")
    geo = Geometry(k[0], k[1], s[0], s[1], d[0], d[1], p[0], p[0], p[1], p[1])
    h, w = x.shape[2:]
    pool = backends.for_array(x._data).kernels.pool
    return pool.Window(geo, (h, w), geo.out_size(h, w, op, ceil_mode=bool(ceil_mode)),
                       pool.channels_last(x._data))


def output_hw(output_size, in_hw, op: str) -> tuple[int, int]:
    """An adaptive pool's (oH, oW): an int, a pair, or None entries (keep the input size)."""
    if isinstance(output_size, numbers.Integral) or output_size is None:
        output_size = (output_size, output_size)
    if not isinstance(output_size, tuple | list) or len(output_size) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    out = []
    for o, i in zip(output_size, in_hw):
        o = i if o is None else o
        if not isinstance(o, numbers.Integral) or isinstance(o, bool) or o < 1:
            raise ValueError(f"{op}: output_size must contain positive integers (or None), "
                             f"got {output_size!r}")
        out.append(int(o))
    return out[0], out[1]
