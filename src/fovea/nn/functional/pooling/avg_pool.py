"""Average pooling: ``avg_pool2d``, window sums divided by PyTorch's divisor, as a linear map
(its transpose spreads g / divisor over each window)."""

from __future__ import annotations

import numbers

import numpy as np

from fovea import backends
from fovea.nn.functional._linear_map import LinearMapFn
from fovea.nn.functional.pooling._common import input4, window


class _AvgPool:
    """Window means (sum / divisor); ``divisor`` is a number or an (Ho, Wo) host array.
    ``win`` is a ``Window`` of the input device's ``pool`` kernel family."""

    def __init__(self, win, divisor):
        self.win, self.divisor = win, divisor

    def apply(self, x):
        win = self.win
        xp = win.pad(x, 0.0)
        taps = win.taps()
        out = win.tap(xp, 0, 0).copy(order="K")
        for _, r, s in taps[1:]:
            out += win.tap(xp, r, s)
        out /= _on_device(self.divisor, x)
        return out

    @property
    def T(self):  # noqa: N802
        return _AvgPoolT(self.win, self.divisor)


class _AvgPoolT:
    """The transpose of :class:`_AvgPool`: spread g / divisor over each window."""

    def __init__(self, win, divisor):
        self.win, self.divisor = win, divisor

    def apply(self, g):
        win = self.win
        gd = win.match(g) / _on_device(self.divisor, g)
        dxp = win.zeros_padded(gd, written=win.tiles)
        for _, r, s in win.taps():
            dst = win.tap(dxp, r, s)
            if win.overlap:
                dst += gd
            else:
                dst[...] = gd
        return win.crop(dxp)

    @property
    def T(self):  # noqa: N802
        return _AvgPool(self.win, self.divisor)


def _on_device(d, like):
    """A divisor array in ``like``'s dtype on its device (a number as it is)."""
    if isinstance(d, np.ndarray):
        return backends.for_array(like).xp.asarray(d, dtype=like.dtype)
    return d


def _avg_divisor(win, count_include_pad: bool, divisor_override):
    """PyTorch's divisor per output position: window area clipped to the padded input
    (count_include_pad) or to the input itself; a scalar when it is the same everywhere."""
    if divisor_override is not None:
        return float(divisor_override)
    g = win.geo
    h, w = win.in_hw
    ho, wo = win.out_hw
    hs = np.arange(ho) * g.sh - g.pt
    ws = np.arange(wo) * g.sw - g.pl
    he, we = np.minimum(hs + g.kh, h + g.pb), np.minimum(ws + g.kw, w + g.pr)
    if count_include_pad:
        area = np.outer(he - hs, we - ws)
    else:
        area = np.outer(np.minimum(he, h) - np.maximum(hs, 0),
                        np.minimum(we, w) - np.maximum(ws, 0))
    if (area == area.flat[0]).all():
        return float(area.flat[0])
    return area.astype(np.float64)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Args:
        input: (N, C, H, W) (or unbatched (C, H, W)).
        kernel_size, stride, padding, ceil_mode: as in :func:`max_pool2d` (zero padding).
        count_include_pad: divide by the window area including zero padding (default) or
            by the number of input pixels under the window.
        divisor_override: divide every window sum by this instead.

    Returns:
        (N, C, Ho, Wo).
    """
    op = "avg_pool2d"
    x, unbatched = input4(input, op)
    if divisor_override is not None and (not isinstance(divisor_override, numbers.Integral)
                                         or divisor_override == 0):
        raise ValueError(f"{op}: divisor_override must be a non-zero integer, got "
                         f"{divisor_override!r}")
    win = window(x, kernel_size, stride, padding, 1, ceil_mode, op)
    divisor = _avg_divisor(win, bool(count_include_pad), divisor_override)
    out = LinearMapFn.apply(x, op=_AvgPool(win, divisor))
    return out[0] if unbatched else out
