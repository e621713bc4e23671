"""Batch norm's training forward and backward on the GPU (the interface of
:mod:`fovea.backends.generic.norm`).

The per-channel statistics are the generic family's reductions (CuPy's); the two
elementwise passes over the activations, ``y = (x - μ)·γσ⁻¹ + β`` and
``dx = γσ⁻¹ (g - Σg/n - x̂ Σ(g x̂)/n)``, are one fused kernel each instead of three or
four array expressions with their temporaries. Without fused kernels (not CuPy arrays,
not float32/float64, ``FOVEA_JIT=0``) the generic family runs.

Interface::

    y, state = batch_norm_train(x, weight, bias, eps)   # x (N, C, *); weight, bias (C,) or None
    state.mean, state.var, state.count
    gx, dweight, dbias = state.backward(g, weight, need_x)
"""

from __future__ import annotations

from fovea.backends import for_array
from fovea.backends.cuda import fused
from fovea.backends.generic import channels as ch
from fovea.backends.generic import norm as generic


class BatchNormState(generic.BatchNormState):
    """The generic state, with the backward's elementwise pass fused."""

    __slots__ = ()

    def backward(self, g, weight, need_x: bool):
        """(dx or None, dγ, dβ) for upstream ``g`` (x's shape); dγ, dβ (C,)."""
        view, xc, n, inv_std = self.view, self._xc, self.count, self.inv_std
        g2 = view.like(g)
        if not fused.usable(xc, g2):
            return generic.backward_from_centred(ch, view, xc, n, inv_std, g, weight, need_x)
        sum_g = ch.channel_sum(view, g2)
        sum_gx = ch.channel_dot(view, g2, xc) * inv_std
        gx = None
        if need_x:
            a = inv_std if weight is None else inv_std * weight
            c1, c0, a = (_per_channel(view, v, xc.dtype)
                         for v in (inv_std * sum_gx / -n, sum_g / n, a))
            gx = view.restore(fused.kernel("bn_grad")(xc, g2, c1, c0, a))
        return gx, sum_gx, sum_g


def _per_channel(view, v, dtype):
    """A (C,) vector as (C, 1) in ``dtype`` (a fused kernel's arguments share one dtype)."""
    return view.per_channel(v.astype(dtype, copy=False))


def batch_norm_train(x, weight, bias, eps: float):
    """y = (x - μ)·γσ⁻¹ + β with the batch statistics of ``x`` (N, C, *).

    Returns:
        (y, state): the state is a :class:`BatchNormState` (fused backward) when the fused
        kernels may run, else the generic family's.
    """
    if not fused.usable(x):
        return generic.batch_norm_train(x, weight, bias, eps)
    xp = for_array(x).xp
    state = BatchNormState()
    view, xc, inv_std = generic.batch_statistics(x, eps, state)
    scale = inv_std * weight if weight is not None else inv_std
    shift = bias if bias is not None else xp.zeros_like(scale)
    out = fused.kernel("bn_apply")(xc, _per_channel(view, scale, x.dtype),
                                   _per_channel(view, shift, x.dtype))
    return view.restore(out), state
