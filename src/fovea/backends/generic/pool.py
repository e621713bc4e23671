"""Pooling windows and max pooling, generic: the interface of :mod:`fovea.backends.cpu.pool`
written with the argument's array module (tap slices, a stack and an argmax), results on
the argument's device.

Interface (raw (N, C, H, W) arrays)::

    win = Window(geometry, (H, W), (Ho, Wo), channels_last)   # sizes and tap views
    out, arg = max_pool(x, win, need_arg)      # maxima (N, C, Ho, Wo), winning tap or None
    dx = max_pool_backward(g, arg, win)        # g at each window's winner, (N, C, H, W)
    y = max_pool_gather(x, arg, win)           # its transpose: x at the winners

``arg`` holds the winning tap r·kW + s of each window: ties go to the first tap in
row-major order, and a NaN wins (the last NaN of the window), as in PyTorch.

:class:`Window` is the geometry every family shares (the CPU's subclass allocates in the
input's memory layout): taps are strided views of the padded input, one per kernel tap,
each covering every output position at once.
"""

from __future__ import annotations

from fovea.backends import for_array, for_arrays
from fovea.backends.conv_geometry import Geometry


def channels_last(x) -> bool:
    """False: no memory layout is tracked on this device."""
    return False


class Window:
    """Sizes of one pooling configuration: input (H, W), output (Ho, Wo), padded plane.

    Attributes:
        geo: the :class:`~fovea.backends.conv_geometry.Geometry` (kernel, stride, dilation,
            padding).
        in_hw, out_hw: input and output planes.
        hp, wp: the padded plane (ceil_mode windows may reach past the padding).
        overlap: whether windows overlap (stride < dilated kernel).
        tiles: whether the windows tile the unpadded input exactly.
        channels_last: whether the forward input was channels-last (CPU only).
    """

    def __init__(self, geo: Geometry, in_hw, out_hw, channels_last: bool = False):
        self.geo, self.in_hw, self.out_hw = geo, tuple(in_hw), tuple(out_hw)
        self.channels_last = channels_last
        g = geo
        # ceil_mode windows may reach past the padding: pad further on the far side.
        self.hp = max(in_hw[0] + g.pt + g.pb, (out_hw[0] - 1) * g.sh + g.dh * (g.kh - 1) + 1)
        self.wp = max(in_hw[1] + g.pl + g.pr, (out_hw[1] - 1) * g.sw + g.dw * (g.kw - 1) + 1)
        self.overlap = g.sh < g.dh * (g.kh - 1) + 1 or g.sw < g.dw * (g.kw - 1) + 1
        # Windows that tile the (unpadded) input exactly write every input position once.
        self.tiles = (not self.overlap and g.dh == g.dw == 1 and not g.padded
                      and (self.hp, self.wp) == (out_hw[0] * g.kh, out_hw[1] * g.kw)
                      and (self.hp, self.wp) == tuple(in_hw))

    @property
    def unpadded(self) -> bool:
        """No padding, no dilation, and every window inside the input."""
        g = self.geo
        return (not g.padded and g.dh == g.dw == 1
                and (self.hp, self.wp) == tuple(self.in_hw))

    def pad(self, x, value: float):
        """``x`` (N, C, H, W) inside a (N, C, Hp, Wp) frame of ``value``."""
        h, w = self.in_hw
        g = self.geo
        if (self.hp, self.wp) == (h, w):
            return x
        widths = ((0, 0), (0, 0), (g.pt, self.hp - h - g.pt), (g.pl, self.wp - w - g.pl))
        return for_array(x).xp.pad(x, widths, mode="constant", constant_values=value)

    def zeros_padded(self, like, written: bool = False):
        """Zeros of the padded input's shape on ``like``'s device (``written``: the caller
        writes every element; the CPU then skips the zeroing)."""
        shape = (like.shape[0], like.shape[1], self.hp, self.wp)
        return for_array(like).xp.zeros(shape, dtype=like.dtype)

    def match(self, g):
        """``g`` in the memory order of the forward input (as it is: no layouts here)."""
        return g

    def crop(self, xp):
        """The (N, C, H, W) input region of padded ``xp``."""
        h, w = self.in_hw
        return xp[:, :, self.geo.pt:self.geo.pt + h, self.geo.pl:self.geo.pl + w]

    def taps(self):
        """(tap number, r, s) for every kernel tap, row-major (the tie-breaking order)."""
        return [(r * self.geo.kw + s, r, s) for r in range(self.geo.kh)
                for s in range(self.geo.kw)]

    def tap(self, xp, r: int, s: int):
        """View (N, C, Ho, Wo) of padded ``xp``: the input under tap (r, s) of every window."""
        g = self.geo
        ho, wo = self.out_hw
        return xp[:, :, r * g.dh:r * g.dh + g.sh * (ho - 1) + 1:g.sh,
                  s * g.dw:s * g.dw + g.sw * (wo - 1) + 1:g.sw]

    def stack(self, x, value: float):
        """Every tap of ``x`` padded with ``value``, stacked last: (N, C, Ho, Wo, kH·kW)."""
        xpad = self.pad(x, value)
        return for_array(x).xp.stack([self.tap(xpad, r, s) for _, r, s in self.taps()],
                                     axis=-1)


def max_pool(x, win: Window, need_arg: bool):
    """Window maxima (N, C, Ho, Wo) and the winning tap of each (or None)."""
    xp = for_array(x).xp
    v = win.stack(x, -float("inf"))
    arg = xp.argmax(v, axis=-1)  # the first maximum, or the first NaN
    nan = xp.isnan(v)
    if nan.any():
        # PyTorch's rule: a NaN wins over everything, the last NaN of the window is taken.
        last = v.shape[-1] - 1 - xp.argmax(nan[..., ::-1], axis=-1)
        arg = xp.where(nan.any(axis=-1), last, arg)
    out = xp.take_along_axis(v, arg[..., None], axis=-1)[..., 0]
    return out, (arg if need_arg else None)


def max_pool_backward(g, arg, win: Window):
    """g (N, C, Ho, Wo) sent to each window's winning tap -> dx (N, C, H, W)."""
    xp = for_arrays(g, arg).xp
    dxp = win.zeros_padded(g)
    zero = g.dtype.type(0)
    for t, r, s in win.taps():
        dst = win.tap(dxp, r, s)
        dst += xp.where(arg == t, g, zero)
    return win.crop(dxp)


def max_pool_gather(x, arg, win: Window):
    """The transpose of :func:`max_pool_backward`: x (N, C, H, W) at each window's winner."""
    xp = for_arrays(x, arg).xp
    v = win.stack(x, 0.0)
    return xp.take_along_axis(v, arg[..., None], axis=-1)[..., 0]
