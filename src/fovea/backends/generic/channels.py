"""Per-channel reductions, generic: the interface of :mod:`fovea.backends.cpu.channels` with
one view for every layout: (N, C, *) as (N, C, S) blocks, reduced over axes 0 and 2 with the
argument's array module.

Interface::

    v = view(x, prefer=None)     # ChannelView: v.a (N, C, S), v.count values per channel
    v.per_channel(c_vec)         # a (C,) vector shaped to broadcast against v.a
    v.fold(r), v.restore(b), v.like(b)
    channel_sum(v, a=None)       # Σ over everything but the channel: (C,)
    channel_dot(v, a, b)         # Σ a·b over everything but the channel: (C,)
"""

from __future__ import annotations

from fovea.backends import for_array


class ChannelView:
    """An (N, C, *) array seen as ``blocks`` (N, C, S) (a reshape: a copy only where the
    array module needs one).

    Attributes:
        kind: ``"blocks"``.
        a: the (N, C, S) view.
        shape: the original (N, C, *) shape.
        count: values per channel (N·S).
        k: 1 (the CPU's rows tile channels k times; blocks never do).
    """

    __slots__ = ("kind", "a", "shape", "count", "k")

    def __init__(self, a, shape: tuple):
        self.kind, self.a, self.shape, self.k = "blocks", a, shape, 1
        self.count = a.size // shape[1] if shape[1] else 0

    def per_channel(self, v):
        """A (C,) vector shaped (C, 1), to broadcast against :attr:`a`."""
        return v[:, None]

    def fold(self, r):
        """A (C,) reduction (nothing to fold: k = 1)."""
        return r

    def restore(self, b):
        """An array shaped like :attr:`a` seen with the original (N, C, *) shape."""
        return b.reshape(self.shape)

    def like(self, b):
        """``b`` (N, C, *) seen the way :attr:`a` is."""
        return b.reshape(self.a.shape)


def view(x, prefer: str | None = None) -> ChannelView:
    """``x`` (N, C, *) as a :class:`ChannelView` (``prefer`` is the CPU's choice of view)."""
    n, c = x.shape[0], x.shape[1]
    return ChannelView(x.reshape(n, c, -1), x.shape)


def channel_sum(v: ChannelView, a=None):
    """Σ over everything but the channel of ``a`` (laid out like ``v.a``; default ``v.a``): (C,)."""
    a = v.a if a is None else a
    return for_array(a).xp.sum(a, axis=(0, 2))


def channel_dot(v: ChannelView, a, b):
    """Σ a·b over everything but the channel, for two arrays laid out like ``v.a``: (C,)."""
    return for_array(a).xp.sum(a * b, axis=(0, 2))
