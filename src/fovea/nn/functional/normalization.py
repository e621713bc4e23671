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

from fovea.autograd import Function
from fovea.ops._util import as_tensor, require_float, xp_of
from fovea.tensor import Tensor


def _stats(xp, x, axes, eps):
    """x̂ and 1/√(σ² + ε) over ``axes`` (keepdims), with whichever namespace ``xp`` is."""
    mean = xp.mean(x, axis=axes, keepdims=True)
    xc = x - mean
    inv_std = 1.0 / xp.sqrt(xp.mean(xc * xc, axis=axes, keepdims=True) + eps)
    return xc * inv_std, inv_std


class BatchNorm(Function):
    """Training-mode batch norm, y = γ x̂ + β, with the batch statistics, as one node.

    The raw forward is the device's ``norm`` kernel family
    (:func:`fovea.backends.cpu.norm.batch_norm_train` on the CPU, which works in the
    input's memory layout and keeps what backward needs in its state); this node updates
    the running statistics. Backward is :class:`BatchNormGrad` run through ``ctx.run``: on
    raw arrays that is the kernel's fused backward, and under ``create_graph`` a recorded
    node whose own backward is the exact second derivative.
    """

    @staticmethod
    def forward(ctx, x, *affine, axes, bshape, eps, has_weight, running=None):
        ctx.axes, ctx.bshape, ctx.eps, ctx.has_weight = axes, bshape, eps, has_weight
        ctx.save_for_backward(x, *affine[:has_weight])
        weight = affine[0] if has_weight else None
        bias = affine[-1] if len(affine) > has_weight else None
        out, ctx.state = ctx.kernels.norm.batch_norm_train(x, weight, bias, eps)
        if running is not None:
            _update_running(*running, ctx.state.mean, ctx.state.var, ctx.state.count)
        return out

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        # A recorded backward needs every output of BatchNormGrad (a node's outputs are
        # arrays); on raw arrays dx is skipped when x needs no gradient.
        gx, sum_gx, sum_g = ctx.run(BatchNormGrad, g, *ctx.saved_tensors, state=ctx.state,
                                    axes=ctx.axes, bshape=ctx.bshape, eps=ctx.eps,
                                    need_x=need[0] or ctx.recording)
        grads = [gx]
        if ctx.has_weight:
            grads.append(sum_gx if need[1] else None)
        if len(need) > 1 + ctx.has_weight:
            grads.append(sum_g if need[-1] else None)
        return tuple(grads)

    def release(self) -> None:
        super().release()
        self.state = None


class BatchNormGrad(Function):
    """Batch norm's backward as a node with three outputs: (dx, dγ, dβ) from (g, x[, γ]).

    Forward is the kernel's fused backward (``state``, from :class:`BatchNorm`'s forward)::

        dx = γσ⁻¹ (g - mean(g) - x̂ mean(g x̂)),  dγ = Σ g x̂,  dβ = Σ g

    Backward (the second derivative, for upstreams a = ∂L/∂dx, b = ∂L/∂dγ, c = ∂L/∂dβ) is
    written with ``ctx.xp``, so that it records again for a third order. With
    J(u) = σ⁻¹ (u - mean(u) - x̂ mean(u x̂)) (the gradient of Σ u x̂ with respect to x) and,
    per channel over its n values, P = Σ a x̂, Q = Σ g x̂, A = Σ a (g - mean(g))::

        ∂/∂g = γ J(a) + b x̂ + c
        ∂/∂x = γ [σ⁻² (PQ/n - A) x̂ - σ⁻¹ (Q J(a) + P J(g))] / n + b J(g)
        ∂/∂γ = Σ a J(g)
    """

    @staticmethod
    def forward(ctx, g, x, *weight, state, axes, bshape, eps, need_x):
        ctx.axes, ctx.bshape, ctx.eps, ctx.count = axes, bshape, eps, state.count
        ctx.save_for_backward(g, x, *weight)
        return state.backward(g, weight[0] if weight else None, need_x)

    @staticmethod
    def backward(ctx, ddx, ddw, ddb):
        g, x, *weight = ctx.saved_tensors
        return _second_derivative(ctx.xp, g, x, weight[0] if weight else None, ddx, ddw,
                                  ddb, ctx.axes, ctx.bshape, ctx.eps, ctx.count,
                                  ctx.needs_input_grad)


def _second_derivative(xp, g, x, w, a, b, c, axes, bshape, eps, n, need):
    """The gradients of Σ a·dx + b·dγ + c·dβ with respect to (g, x[, γ]); a, b, c may be
    None (an output that did not reach the loss)."""
    xhat, s = _stats(xp, x, axes, eps)
    c_shape = (bshape[1],)

    def mean(u):
        return xp.mean(u, axis=axes, keepdims=True)

    def jac(u):  # the gradient of Σ u·x̂ with respect to x
        return s * (u - mean(u) - xhat * mean(u * xhat))

    wb = 1.0 if w is None else xp.reshape(w, bshape)
    jg = jac(g)
    dg = dx = dw = None
    if a is not None:
        dg = wb * jac(a)
        p = xp.sum(a * xhat, axis=axes, keepdims=True)
        q = xp.sum(g * xhat, axis=axes, keepdims=True)
        big_a = xp.sum(a * (g - mean(g)), axis=axes, keepdims=True)
        dx = wb * ((s * s / n) * (p * q / n - big_a) * xhat - (s / n) * (q * jac(a) + p * jg))
        if w is not None:
            dw = xp.reshape(xp.sum(a * jg, axis=axes, keepdims=True), c_shape)
    if b is not None:
        bb = xp.reshape(b, bshape)
        dg = bb * xhat if dg is None else dg + bb * xhat
        dx = bb * jg if dx is None else dx + bb * jg
    if c is not None:
        cc = xp.reshape(c, bshape)
        dg = cc + xp.zeros_like(g) if dg is None else dg + cc
    grads = [dg if need[0] else None, dx if need[1] else None]
    if w is not None:
        grads.append(dw if need[2] else None)
    return tuple(grads)


def _update_running(running_mean, running_var, momentum, mean, var, count):
    """running = (1 - m)·running + m·batch, the unbiased variance for running_var (PyTorch)."""
    m = float(momentum)
    unbiased = var * (count / (count - 1))
    for buf, stat in ((running_mean, mean), (running_var, unbiased)):
        buf._data[...] = (1.0 - m) * buf._data + m * stat
        buf._version[0] += 1


class Normalize(Function):
    """x̂ = (x - mean) / √(var + ε) over ``axes`` (biased variance), no affine part.

    Backward: dx = σ⁻¹ (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂)), with x̂ and σ⁻¹ kept from forward on
    raw arrays and recomputed from x when recorded (so it differentiates again).
    """

    @staticmethod
    def forward(ctx, x, axes, eps):
        xhat, inv_std = _stats(ctx.xp, x, axes, eps)
        ctx.xhat, ctx.inv_std, ctx.axes, ctx.eps = xhat, inv_std, axes, eps
        ctx.save_for_backward(x)
        return xhat

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        xhat, inv_std = ((ctx.xhat, ctx.inv_std) if not ctx.recording
                         else _stats(xp, ctx.saved_tensors[0], ctx.axes, ctx.eps))
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
    xp = xp_of(running_var)
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
