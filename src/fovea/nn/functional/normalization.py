"""Normalisation layers: ``batch_norm`` (fused forward and backward), ``layer_norm``,
``group_norm``.

Batch norm in training mode normalises each channel with the statistics of the batch::

    μ = mean(x), σ² = mean((x - μ)²)  over every axis but the channel axis 1
    x̂ = (x - μ) / √(σ² + ε),  y = γ x̂ + β

and its backward is one node with the simplified formula (the lectures' derivation)::

    dx = (1/N) γ σ⁻¹ (N dy - Σ dy - x̂ Σ (dy x̂)),  dγ = Σ dy x̂,  dβ = Σ dy

with N the number of values per channel. Layer and group norm reuse the fused normaliser
:class:`Normalize` (no affine part) followed by a broadcast affine map.
"""

from __future__ import annotations

import numbers

import numpy as np

from fovea import _fused, backend
from fovea.autograd import Function
from fovea.backends import CPU_NS as _arrayns
from fovea.nn.functional import _channels as _ch
from fovea.ops._util import as_tensor, require_float
from fovea.tensor import Tensor


def _stats(xp, x, axes, eps):
    """x̂ and 1/√(σ² + ε) over ``axes`` (keepdims), with whichever namespace ``xp`` is."""
    mean = xp.mean(x, axis=axes, keepdims=True)
    xc = x - mean
    inv_std = 1.0 / xp.sqrt(xp.mean(xc * xc, axis=axes, keepdims=True) + eps)
    return xc * inv_std, inv_std


class BatchNorm(Function):
    """Training-mode batch norm, y = γ x̂ + β, with the batch statistics, as one node.

    Forward works in the input's memory layout (see :mod:`._channels`): one pass for the
    mean, one to centre (xc = x - μ, kept for backward), one for the variance, two for
    y = xc·(γσ⁻¹) + β; it also updates the running statistics when given. The fast backward
    is one pass for the two per-channel sums and four elementwise passes. A recorded
    backward (``create_graph``) recomputes x̂ and σ⁻¹ from x with ``ctx.xp`` so that second
    derivatives are exact.
    """

    @staticmethod
    def forward(ctx, x, *affine, axes, bshape, eps, has_weight, running=None):
        view = _ch.view(x)
        n = view.count
        ctx.axes, ctx.bshape, ctx.eps, ctx.has_weight = axes, bshape, eps, has_weight
        ctx.save_for_backward(x, *affine[:has_weight])
        if view.kind == "rows" and _fused.enabled(view.a):
            return _bn_forward_fused(ctx, view, affine, eps, has_weight, running)
        mean = _ch.channel_sum(view) / n
        xc = view.a - view.per_channel(mean)
        var = _ch.channel_dot(view, xc, xc) / n
        inv_std = 1.0 / np.sqrt(var + eps)
        scale = inv_std * affine[0] if has_weight else inv_std
        out = xc * view.per_channel(scale)
        if len(affine) > has_weight:
            out += view.per_channel(affine[-1])
        if running is not None:
            _update_running(*running, mean, var, n)
        ctx.xc, ctx.inv_std, ctx.view, ctx.count = xc, inv_std, view, n
        ctx.mean = None
        return view.restore(out)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        saved = ctx.saved_tensors
        need = ctx.needs_input_grad
        c = (ctx.bshape[1],)
        if xp is _arrayns:
            raw = _bn_backward_raw if ctx.mean is None else _bn_backward_fused
            gx, sum_gx, sum_g = raw(ctx, g, saved[1] if ctx.has_weight else None, need[0])
        else:
            axes, n = ctx.axes, ctx.count
            xhat, inv_std = _stats(xp, saved[0], axes, ctx.eps)
            sum_g = xp.sum(g, axis=axes, keepdims=True)
            sum_gx = xp.sum(g * xhat, axis=axes, keepdims=True)
            scale = inv_std / n
            if ctx.has_weight:
                scale = scale * xp.reshape(saved[1], ctx.bshape)
            gx = scale * (n * g - sum_g - xhat * sum_gx) if need[0] else None
            sum_gx, sum_g = xp.reshape(sum_gx, c), xp.reshape(sum_g, c)
        grads = [gx]
        if ctx.has_weight:
            grads.append(sum_gx if need[1] else None)
        if len(need) > 1 + ctx.has_weight:
            grads.append(sum_g if need[-1] else None)
        return tuple(grads)


def _update_running(running_mean, running_var, momentum, mean, var, count):
    """running = (1 - m)·running + m·batch, the unbiased variance for running_var (PyTorch)."""
    m = float(momentum)
    unbiased = var * (count / (count - 1))
    for buf, stat in ((running_mean, mean), (running_var, unbiased)):
        buf._data[...] = (1.0 - m) * buf._data + m * stat
        buf._version[0] += 1


def _bn_forward_fused(ctx, view, affine, eps, has_weight, running):
    """Forward in three compiled passes over a channels-last input (see :mod:`fovea._fused`):
    the mean, the squared deviations, y = (x - μ)·γσ⁻¹ + β. Statistics in float64; the
    centred input is not kept (backward recomputes x - μ in its passes)."""
    x3, n = _fused.as_rows(view.a), view.count
    mean = view.fold(_fused.col_sums(x3)) / n
    mean_t = view.per_channel(mean)
    var = view.fold(_fused.col_sq_devs(x3, mean_t)) / n
    inv_std = 1.0 / np.sqrt(var + eps)
    scale = inv_std * affine[0] if has_weight else inv_std
    shift = affine[-1] if len(affine) > has_weight else np.zeros_like(mean)
    # The elementwise pass runs in the input's precision (as PyTorch's does): float32
    # parameters halve its vector work; the statistics above stay float64.
    dt = view.a.dtype
    out = _fused.col_affine(x3, mean_t.astype(dt), view.per_channel(scale.astype(dt)),
                            view.per_channel(np.asarray(shift, dtype=dt)))
    if running is not None:
        _update_running(*running, mean, var, n)
    ctx.xc, ctx.mean, ctx.inv_std, ctx.view, ctx.count = None, mean_t, inv_std, view, n
    return view.restore(out.reshape(view.a.shape))


def _bn_backward_fused(ctx, g, weight, need_x):
    """The backward of :func:`_bn_forward_fused`: one compiled pass for Σg and Σg·(x - μ),
    one for dx = a·g - a·Σg/n - a·σ⁻²·(x - μ)·Σg(x - μ)/n with a = γσ⁻¹."""
    view, mean_t, n, inv_std = ctx.view, ctx.mean, ctx.count, ctx.inv_std
    x3, dtype = _fused.as_rows(view.a), view.a.dtype
    g3 = _fused.as_rows(view.like(g))
    sum_g, sum_gxc = (view.fold(s) for s in _fused.col_grad_sums(g3, x3, mean_t))
    sum_gx = sum_gxc * inv_std  # Σ g·x̂
    gx = None
    if need_x:
        a = inv_std if weight is None else inv_std * weight
        per = view.per_channel
        gx = _fused.col_bn_grad(g3, x3, mean_t.astype(dtype), per(a).astype(dtype),
                                per(-a * sum_g / n).astype(dtype),
                                per(-a * inv_std * sum_gx / n).astype(dtype))
        gx = view.restore(gx.reshape(view.a.shape))
    return gx, sum_gx.astype(dtype), sum_g.astype(dtype)


def _bn_backward_raw(ctx, g, weight, need_x):
    """dx = a (g - Σg/n - x̂ Σ(g x̂)/n) with a = γσ⁻¹ and x̂ = xc·σ⁻¹; dγ = Σ g x̂, dβ = Σ g."""
    view, xc, n, inv_std = ctx.view, ctx.xc, ctx.count, ctx.inv_std
    g2 = view.like(g)
    sum_g = _ch.channel_sum(view, g2)
    sum_gx = _ch.channel_dot(view, g2, xc) * inv_std
    gx = None
    if need_x:
        a = inv_std if weight is None else inv_std * weight
        gx = xc * view.per_channel(inv_std * sum_gx / -n)
        gx += g2
        gx -= view.per_channel(sum_g / n)
        gx *= view.per_channel(a)
        gx = view.restore(gx)
    return gx, sum_gx, sum_g


class Normalize(Function):
    """x̂ = (x - mean) / √(var + ε) over ``axes`` (biased variance), no affine part.

    Backward: dx = σ⁻¹ (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂)); recomputed from x when recorded.
    """

    @staticmethod
    def forward(ctx, x, axes, eps):
        xhat, inv_std = _stats(backend.xp, x, axes, eps)
        ctx.xhat, ctx.inv_std, ctx.axes, ctx.eps = xhat, inv_std, axes, eps
        ctx.save_for_backward(x)
        return xhat

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        if xp is _arrayns:
            xhat, inv_std = ctx.xhat, ctx.inv_std
        else:
            xhat, inv_std = _stats(xp, ctx.saved_tensors[0], ctx.axes, ctx.eps)
        mean_g = xp.mean(g, axis=ctx.axes, keepdims=True)
        mean_gx = xp.mean(g * xhat, axis=ctx.axes, keepdims=True)
        return inv_std * (g - mean_g - xhat * mean_gx)


def _check_channel_param(t, name, c, dtype, op):
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(t).__name__}")
    if t.shape != (c,):
        raise ValueError(f"{op}: {name} must have shape ({c},) for an input with {c} channels, "
                         f"got {t.shape}")
    if t.dtype != dtype:
        raise TypeError(f"{op}: {name} has dtype {t.dtype} but the input has {dtype}")
    return t


def batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over every axis but the channel axis 1.

    In training mode the batch statistics normalise the input, and the running statistics
    (when given) are updated in place:
    ``running = (1 - momentum) · running + momentum · batch_stat``, where the variance that
    enters ``running_var`` is the unbiased one (Σ(x - μ)² / (N - 1)), as in PyTorch. In
    evaluation mode the running statistics normalise the input.

    Args:
        x: (N, C), (N, C, L), (N, C, H, W) or any (N, C, *).
        running_mean, running_var: (C,) buffers, or None (then ``training`` must be True).
        weight, bias: γ and β, (C,) each, or None.
        training: use batch statistics (and update the running ones).
        momentum: weight of the new batch statistic in the running average.
        eps: added to the variance before the square root.

    Returns:
        A tensor of ``x``'s shape.
    """
    x = as_tensor(x, op="batch_norm")
    require_float(x, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {x.shape}")
    c = x.shape[1]
    weight = _check_channel_param(weight, "weight", c, x.dtype, "batch_norm")
    bias = _check_channel_param(bias, "bias", c, x.dtype, "batch_norm")
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and (not isinstance(t, Tensor) or t.shape != (c,)):
            got = t.shape if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"batch_norm: {name} must be a tensor of shape ({c},), got {got}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: pass both running_mean and running_var, or neither")
    if eps <= 0:
        raise ValueError(f"batch_norm: eps must be positive, got {eps}")
    if not isinstance(momentum, numbers.Real) or not 0.0 <= momentum <= 1.0:
        raise ValueError(f"batch_norm: momentum must be a number in [0, 1], got {momentum!r} "
                         "(the cumulative average of momentum=None is BatchNorm's job)")
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, c) + (1,) * (x.ndim - 2)
    if not training:
        if running_mean is None:
            raise ValueError("batch_norm: evaluation mode (training=False) needs running_mean "
                             "and running_var")
        return _batch_norm_eval(x, running_mean, running_var, weight, bias, eps, bshape)
    count = x._data.size // max(c, 1)
    if count <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {x.shape}")
    running = None if running_mean is None else (running_mean, running_var, momentum)
    affine = tuple(t for t in (weight, bias) if t is not None)
    return BatchNorm.apply(x, *affine, axes=axes, bshape=bshape, eps=eps,
                           has_weight=weight is not None, running=running)


def _batch_norm_eval(x, running_mean, running_var, weight, bias, eps, bshape):
    """y = x · s + t with s = γ / √(running_var + ε), t = β - running_mean · s (composed)."""
    xp = backend.xp
    dtype = x.dtype
    inv_std = Tensor._make((1.0 / xp.sqrt(running_var._data + eps)).astype(dtype), None)
    mean = Tensor._make(running_mean._data.astype(dtype, copy=False), None)
    scale = inv_std if weight is None else weight * inv_std
    shift = -(mean * scale)
    if bias is not None:
        shift = shift + bias
    return x * scale.reshape(bshape) + shift.reshape(bshape)


def _normalized_shape(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def layer_norm(x: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalisation over the last ``len(normalized_shape)`` dimensions of each sample.

    Args:
        x: (*, *normalized_shape).
        normalized_shape: an int or a tuple: the trailing shape to normalise over.
        weight, bias: γ and β of shape ``normalized_shape``, or None.
        eps: added to the variance.

    Returns:
        A tensor of ``x``'s shape.
    """
    x = as_tensor(x, op="layer_norm")
    require_float(x, "layer_norm")
    shape = _normalized_shape(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise ValueError(f"layer_norm: expected input of shape (*, {', '.join(map(str, shape))}), "
                         f"got {x.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (not isinstance(t, Tensor) or t.shape != shape):
            got = t.shape if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {got}")
    out = Normalize.apply(x, axes=tuple(range(x.ndim - k, x.ndim)), eps=eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(x: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Group normalisation: the C channels of each sample are split into ``num_groups``
    groups of C / G consecutive channels, each normalised over its channels and positions.

    Args:
        x: (N, C, *).
        num_groups: G, which must divide C.
        weight, bias: per-channel γ and β, (C,) each, or None.
        eps: added to the variance.

    Returns:
        A tensor of ``x``'s shape.
    """
    x = as_tensor(x, op="group_norm")
    require_float(x, "group_norm")
    if x.ndim < 2:
        raise ValueError(f"group_norm: expected input of shape (N, C, *), got {x.shape}")
    n, c = x.shape[:2]
    if not isinstance(num_groups, numbers.Integral) or num_groups <= 0 or c % num_groups:
        raise ValueError(f"group_norm: num_groups must be a positive divisor of the {c} "
                         f"channels, got {num_groups}")
    weight = _check_channel_param(weight, "weight", c, x.dtype, "group_norm")
    bias = _check_channel_param(bias, "bias", c, x.dtype, "group_norm")
    grouped = x.reshape(n, num_groups, x._data.size // max(n * num_groups, 1))
    out = Normalize.apply(grouped, axes=(2,), eps=eps).reshape(*x.shape)
    bshape = (c,) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(*bshape)
    if bias is not None:
        out = out + bias.reshape(*bshape)
    return out
