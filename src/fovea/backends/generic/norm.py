"""Batch norm's training-mode forward and backward, generic: the interface of
:mod:`fovea.backends.cpu.norm` written with the argument's array module (per-channel sums
through :mod:`.channels`), results on the argument's device.

Interface::

    y, state = batch_norm_train(x, weight, bias, eps)   # x (N, C, *); weight, bias (C,) or None
    state.mean, state.var, state.count                  # batch statistics (C,), values/channel
    gx, dweight, dbias = state.backward(g, weight, need_x)   # gx None unless need_x

Formulas (n values per channel; see the CPU family)::

    y = (x - μ)·γσ⁻¹ + β
    dx = γσ⁻¹ (g - Σg/n - x̂ Σ(g x̂)/n),  dγ = Σ g x̂,  dβ = Σ g,  x̂ = (x - μ)σ⁻¹
"""

from __future__ import annotations

from fovea.backends import for_array
from fovea.backends.generic import channels as ch


class BatchNormState:
    """What the backward needs (the centred input) and the batch statistics.

    Attributes:
        view: the input as a :class:`.channels.ChannelView`.
        count: n, values per channel.
        mean, var: batch mean and biased variance (C,).
        inv_std: σ⁻¹ (C,).
    """

    __slots__ = ("view", "count", "mean", "var", "inv_std", "_xc")

    def backward(self, g, weight, need_x: bool):
        """(dx or None, dγ, dβ) for upstream ``g`` (x's shape); dγ, dβ (C,)."""
        return backward_from_centred(ch, self.view, self._xc, self.count, self.inv_std, g,
                                     weight, need_x)


def backward_from_centred(channels, view, xc, n, inv_std, g, weight, need_x: bool):
    """(dx or None, dγ, dβ) from the centred input ``xc`` = x - μ, with per-channel sums
    taken by the ``channels`` family given (the generic one, or the CPU's layout-aware one).

    dx = a (g - Σg/n - x̂ Σ(g x̂)/n) with a = γσ⁻¹ and x̂ = xc·σ⁻¹; dγ = Σ g x̂, dβ = Σ g.
    """
    g2 = view.like(g)
    sum_g = channels.channel_sum(view, g2)
    sum_gx = channels.channel_dot(view, g2, xc) * inv_std
    gx = None
    if need_x:
        a = inv_std if weight is None else inv_std * weight
        gx = xc * view.per_channel(inv_std * sum_gx / -n)
        gx += g2
        gx -= view.per_channel(sum_g / n)
        gx *= view.per_channel(a)
        gx = view.restore(gx)
    return gx, sum_gx, sum_g


def batch_statistics(x, eps: float, state):
    """The batch statistics of ``x`` (N, C, *) per channel, kept in ``state`` (a
    :class:`BatchNormState` or a device's own): count, mean, biased variance, 1/σ and the
    centred input. Returns ``(view, xc, inv_std)`` for the apply step."""
    xp = for_array(x).xp
    view = ch.view(x)
    n = state.count = view.count
    mean = ch.channel_sum(view) / n
    xc = view.a - view.per_channel(mean)
    var = ch.channel_dot(view, xc, xc) / n
    inv_std = 1.0 / xp.sqrt(var + eps)
    state.view, state.mean, state.var, state.inv_std, state._xc = view, mean, var, inv_std, xc
    return view, xc, inv_std


def batch_norm_train(x, weight, bias, eps: float):
    """y = (x - μ)·γσ⁻¹ + β with the batch statistics of ``x`` (N, C, *).

    Returns:
        (y, :class:`BatchNormState`).
    """
    state = BatchNormState()
    view, xc, inv_std = batch_statistics(x, eps, state)
    scale = inv_std * weight if weight is not None else inv_std
    out = xc * view.per_channel(scale)
    if bias is not None:
        out += view.per_channel(bias)
    return view.restore(out), state
