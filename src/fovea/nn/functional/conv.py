"""2-D convolution and transposed convolution (PyTorch's ``F.conv2d``/``F.conv_transpose2d``).

A convolution is one matrix product over patches (im2col): with x (N, C, H, W) and
weight (O, C/G, kh, kw)::

    y[n, o, i, j] = b[o] + Σ_{c, r, s} w[o, c, r, s] · x_pad[n, c, i·Sh + r·Dh, j·Sw + s·Dw]

(c running over the input channels of o's group). The raw kernels are the device's
(``ctx.kernels.conv``: :mod:`fovea.backends.cpu.conv` for NumPy arrays,
:mod:`fovea.backends.generic.conv` elsewhere): each node selects a plan once in forward,
keeps it on its context, and calls its forward, input gradient and weight gradient. Write
conv(x, w) = F, its input gradient (the transposed convolution) Gi(gy, w) and its weight
gradient Gw(x, gy); the nodes::

    Conv2dFn            y = F(x, w) + b
        backward: Conv2dBackwardFn(x, gy, w) -> Gi(gy, w), Gw(x, gy), Σ gy
    ConvTranspose2dFn   y = Gi(x, w) + b
        backward: ConvTranspose2dBackwardFn(g, x, w) -> F(g, w), Gw(g, x), Σ g
    ConvWeightGradFn    dw = Gw(x, g)
        backward: Gi(g, G), F(x, G)

The two backward nodes compute their gradients together with the plan's fused kernels
(``plan.backward``: one buffer of gy for all three when the stride is 1) and run through
``ctx.run``: raw arrays normally, recorded under ``create_graph``. Their own backward is
made of the three first nodes (by <F(x, w), y> = <x, Gi(y, w)> = <w, Gw(x, y)>), so
gradients of any order exist.
"""

from __future__ import annotations

import numbers

from fovea.autograd import Function, is_grad_enabled
from fovea.backends.conv_geometry import Geometry
from fovea.nn.utils.conv import conv_padding, pair
from fovea.ops._util import as_tensor
from fovea.tensor import Tensor


def _nhwc(a):
    return a.transpose(0, 2, 3, 1)


def _nchw(a):
    """NHWC result ``a`` seen as (N, C, H, W): a view, so results stay channels-last.

    Every convolution hands out channels-last memory (as PyTorch does for channels-last
    inputs or weights), whatever the input's layout: the kernels work channels-last, so
    this costs no copy, and the next layers (ReLU, pooling, batch norm, the next
    convolution) work in that layout too. Converting to contiguous NCHW here and back in
    the next convolution cost two transposing copies per layer (measured on ResNet-20:
    620 -> 552 ms per training step without them). Values and shapes are PyTorch's; only
    the strides differ (``.contiguous()`` gives NCHW memory).
    """
    return a.transpose(0, 3, 1, 2)


def _needed(outs, need):
    """The outputs whose ``need`` flag is set, as a tuple (a multi-output node's results)."""
    return tuple(o for o, n in zip(outs, need) if n)


def _spread(grads, need):
    """The inverse of :func:`_needed`: one entry per flag, None where it is not set."""
    it = iter(grads)
    return tuple(next(it) if n else None for n in need)


def _add(a, b):
    return b if a is None else a + b


def _per_channel(xp, v, shape):
    """(C,) ``v`` broadcast to ``shape`` (N, C, H, W): the gradient of a channel sum."""
    return xp.broadcast_to(xp.reshape(v, (1, -1, 1, 1)), shape)


class Conv2dFn(Function):
    """y = conv2d(x, w) + b. Backward: dx = conv_transpose(g, w), dw = patches(x)ᵀ g, db = Σ g."""

    @staticmethod
    def forward(ctx, x, weight, *bias, geo, out_hw, keep_cols):
        b = bias[0] if bias else None
        # The plan (and the input buffers it keeps) is not a graph value: it lives outside
        # saved_tensors and is freed with the node.
        ctx.plan = ctx.kernels.conv.select(geo, x.shape, weight.shape, x.dtype, out_hw)
        y = ctx.plan.forward(_nhwc(x), weight, b, keep=keep_cols)
        ctx.geo, ctx.has_bias = geo, bool(bias)
        ctx.save_for_backward(x, weight)
        return _nchw(y)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need = (*ctx.needs_input_grad[:2], ctx.has_bias and ctx.needs_input_grad[2])
        grads = _spread(ctx.run(Conv2dBackwardFn, x, g, weight, plan=ctx.plan, geo=ctx.geo,
                                need=need), need)
        return grads if ctx.has_bias else grads[:2]

    def release(self) -> None:
        super().release()
        self.plan = None


class Conv2dBackwardFn(Function):
    """(dx, dw, db) = (conv_transpose(gy, w), patches(x)ᵀ gy, Σ gy), the needed ones: the
    gradients of y = conv2d(x, w) + b for upstream gy (N, O, Ho, Wo), from the forward's
    ``plan`` (which may hold the forward's buffers of x).

    Backward for upstreams (Gx, Gw, Gb): dx = conv_transpose(gy, Gw),
    dgy = conv2d(Gx, w) + conv2d(x, Gw) + Gb, dw = conv_weight_grad(Gx, gy).
    """

    @staticmethod
    def forward(ctx, x, gy, weight, *, plan, geo, need):
        dx, dw, db = plan.backward(_nhwc(x), _nhwc(gy), weight, *need)
        ctx.geo, ctx.need = geo, need
        ctx.save_for_backward(x, gy, weight)
        return _needed((None if dx is None else _nchw(dx), dw, db), need)

    @staticmethod
    def backward(ctx, *grads):
        x, gy, weight = ctx.saved_tensors
        gx_up, gw_up, gb_up = _spread(grads, ctx.need)
        need_x, need_g, need_w = ctx.needs_input_grad
        geo, hw, ohw = ctx.geo, tuple(x.shape[2:]), tuple(gy.shape[2:])
        dx = dg = dw = None
        if gx_up is not None:
            if need_g:
                dg = ctx.run(Conv2dFn, gx_up, weight, geo=geo, out_hw=ohw, keep_cols=False)
            if need_w:
                dw = ctx.run(ConvWeightGradFn, gx_up, gy, geo=geo,
                             weight_shape=tuple(weight.shape))
        if gw_up is not None:
            if need_x:
                dx = ctx.run(ConvTranspose2dFn, gy, gw_up, geo=geo, out_hw=hw)
            if need_g:
                dg = _add(dg, ctx.run(Conv2dFn, x, gw_up, geo=geo, out_hw=ohw,
                                      keep_cols=False))
        if gb_up is not None and need_g:
            dg = _add(dg, _per_channel(ctx.xp, gb_up, gy.shape))
        return dx, dg, dw


class ConvTranspose2dFn(Function):
    """y = conv_transpose2d(x, w) + b: the input gradient of a convolution, as an op.

    ``geo`` and ``weight`` describe the convolution whose adjoint this is: it maps the
    convolution's output space (x: (N, O, h, w)) to its input space (N, C, *out_hw*).
    Backward: dx = conv2d(g, w), dw = patches(g)ᵀ x, db = Σ g.
    """

    @staticmethod
    def forward(ctx, x, weight, *bias, geo, out_hw):
        n, _, h, w = x.shape
        # The plan of the convolution (N, C, *out_hw) -> x whose adjoint this is.
        ctx.plan = ctx.kernels.conv.select(geo, (n, weight.shape[1] * geo.groups, *out_hw),
                                           weight.shape, x.dtype, (h, w))
        y = ctx.plan.grad_input(_nhwc(x), weight)
        if bias:
            y += bias[0]
        ctx.geo, ctx.has_bias = geo, bool(bias)
        ctx.save_for_backward(x, weight)
        return _nchw(y)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        need = (*ctx.needs_input_grad[:2], ctx.has_bias and ctx.needs_input_grad[2])
        grads = _spread(ctx.run(ConvTranspose2dBackwardFn, g, x, weight, plan=ctx.plan,
                                geo=ctx.geo, need=need), need)
        return grads if ctx.has_bias else grads[:2]


class ConvTranspose2dBackwardFn(Function):
    """(dx, dw, db) = (conv2d(g, w), patches(g)ᵀ x, Σ g), the needed ones: the gradients of
    y = conv_transpose2d(x, w) + b for upstream g (N, C, H, W), from that node's ``plan``.

    Backward for upstreams (Gx, Gw, Gb): dg = conv_transpose(Gx, w) + conv_transpose(x, Gw)
    + Gb, dx = conv2d(g, Gw), dw = conv_weight_grad(g, Gx).
    """

    @staticmethod
    def forward(ctx, g, x, weight, *, plan, geo, need):
        dx, dw, db = plan.transpose_backward(_nhwc(g), _nhwc(x), weight, *need)
        ctx.geo, ctx.need = geo, need
        ctx.save_for_backward(g, x, weight)
        return _needed((None if dx is None else _nchw(dx), dw, db), need)

    @staticmethod
    def backward(ctx, *grads):
        g, x, weight = ctx.saved_tensors
        gx_up, gw_up, gb_up = _spread(grads, ctx.need)
        need_g, need_x, need_w = ctx.needs_input_grad
        geo, hw, ohw = ctx.geo, tuple(g.shape[2:]), tuple(x.shape[2:])
        dg = dx = dw = None
        if gx_up is not None:
            if need_g:
                dg = ctx.run(ConvTranspose2dFn, gx_up, weight, geo=geo, out_hw=hw)
            if need_w:
                dw = ctx.run(ConvWeightGradFn, g, gx_up, geo=geo,
                             weight_shape=tuple(weight.shape))
        if gw_up is not None:
            if need_g:
                dg = _add(dg, ctx.run(ConvTranspose2dFn, x, gw_up, geo=geo, out_hw=hw))
            if need_x:
                dx = ctx.run(Conv2dFn, g, gw_up, geo=geo, out_hw=ohw, keep_cols=False)
        if gb_up is not None and need_g:
            dg = _add(dg, _per_channel(ctx.xp, gb_up, g.shape))
        return dg, dx, dw


class ConvWeightGradFn(Function):
    """dw = conv_weight_grad(x, g): the weight gradient of conv2d as an op (double backward).

    Backward for an upstream G of the weight's shape: dx = conv_transpose(g, G),
    dg = conv2d(x, G).
    """

    @staticmethod
    def forward(ctx, x, g, *, geo, weight_shape):
        ctx.geo, ctx.weight_shape = geo, weight_shape
        ctx.save_for_backward(x, g)
        ctx.plan = ctx.kernels.conv.select(geo, x.shape, weight_shape, x.dtype, g.shape[2:])
        return ctx.plan.grad_weight(_nhwc(x), _nhwc(g))

    @staticmethod
    def backward(ctx, gw):
        x, g = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad
        geo, hw, ohw = ctx.geo, tuple(x.shape[2:]), tuple(g.shape[2:])
        gx = ctx.run(ConvTranspose2dFn, g, gw, geo=geo, out_hw=hw) if need_x else None
        gg = (ctx.run(Conv2dFn, x, gw, geo=geo, out_hw=ohw, keep_cols=False)
              if need_g else None)
        return gx, gg


# --- public functions --------------------------------------------------------------------

def _check_float(t: Tensor, op: str, arg: str, like: Tensor | None = None) -> None:
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: {arg} must be a floating tensor, got dtype {t.dtype}")
    if like is not None and t.dtype != like.dtype:
        raise TypeError(f"{op}: {arg} has dtype {t.dtype} but input has dtype {like.dtype} "
                        "(convert one of them, e.g. with .float() or .double())")


def _check_groups(groups, op: str) -> int:
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    return int(groups)


def _prepare(input, weight, bias, op: str):
    """Tensors for (input, weight, bias) with rank/dtype checks; input made 4-D."""
    x = as_tensor(input, op=op)
    weight = as_tensor(weight, op=op)
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) or a 3-D unbatched input "
                         f"(C, H, W), got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D weight (out, in/groups, kH, kW), got shape "
                         f"{weight.shape}")
    _check_float(x, op, "input")
    _check_float(weight, op, "weight", x)
    if bias is not None:
        bias = as_tensor(bias, op=op)
        _check_float(bias, op, "bias", x)
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    return x, weight, bias, unbatched


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D cross-correlation over a batch of images, as ``torch.nn.functional.conv2d``.

    Args:
        input: (N, C, H, W) (or unbatched (C, H, W)).
        weight: (O, C/groups, kH, kW).
        bias: (O,) or None.
        stride: int or (sH, sW).
        padding: int, (pH, pW), ``'valid'`` (no padding) or ``'same'`` (output size equals
            input size; stride 1 only; an odd total goes after).
        dilation: int or (dH, dW), the spacing between kernel taps.
        groups: split channels into this many independent groups (``groups=C`` with
            weight (C·m, 1, kH, kW) is a depthwise convolution).

    Returns:
        (N, O, Ho, Wo) with Ho = floor((H + 2pH - dH(kH - 1) - 1) / sH) + 1 (same for W),
        in channels-last memory layout (a view; values and shape as in PyTorch).
    """
    op = "conv2d"
    x, weight, bias, unbatched = _prepare(input, weight, bias, op)
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    groups = _check_groups(groups, op)
    if o % groups:
        raise ValueError(f"{op}: weight has {o} output channels, not divisible by "
                         f"groups={groups} (weight shape {weight.shape})")
    if cg * groups != c:
        expected = f"{cg * groups}" if groups == 1 else f"{cg} x groups={groups} = {cg * groups}"
        raise ValueError(f"{op}: input has {c} channels but weight expects {expected} "
                         f"(weight shape {weight.shape}, input shape {x.shape})")
    if bias is not None and bias.shape != (o,):
        raise ValueError(f"{op}: bias must have shape ({o},), got {bias.shape}")
    stride = pair(stride, "stride", op, low=1)
    dilation = pair(dilation, "dilation", op, low=1)
    pads = conv_padding(padding, (kh, kw), stride, dilation, op)
    geo = Geometry(kh, kw, *stride, *dilation, *pads, groups)
    out_hw = geo.out_size(h, w, op)
    keep = weight.requires_grad and is_grad_enabled()
    inputs = (x, weight) if bias is None else (x, weight, bias)
    out = Conv2dFn.apply(*inputs, geo=geo, out_hw=out_hw, keep_cols=keep)
    return out[0] if unbatched else out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1) -> Tensor:
    """2-D transposed convolution ("deconvolution"), as ``torch.nn.functional.conv_transpose2d``.

    The adjoint of ``conv2d`` with the same weight: each input pixel scatters a copy of the
    kernel, scaled by its value, into the output, ``stride`` apart (learnable up-sampling).

    Args:
        input: (N, Cin, H, W) (or unbatched (Cin, H, W)).
        weight: (Cin, Cout/groups, kH, kW).
        bias: (Cout,) or None.
        stride, padding, dilation: int or pair; ``padding`` removes dH(kH - 1) - ... rows
            from each side of the full output as in PyTorch.
        output_padding: int or pair, extra rows/columns added after (smaller than the
            stride or the dilation), to pick among the input sizes a strided conv maps to H.
        groups: independent channel groups (Cin and Cout divisible by it).

    Returns:
        (N, Cout, Ho, Wo) with Ho = (H - 1)·sH - 2pH + dH(kH - 1) + opH + 1.
    """
    op = "conv_transpose2d"
    x, weight, bias, unbatched = _prepare(input, weight, bias, op)
    n, c, h, w = x.shape
    cin, cout_g, kh, kw = weight.shape
    groups = _check_groups(groups, op)
    if cin != c:
        raise ValueError(f"{op}: input has {c} channels but weight expects {cin} "
                         f"(weight shape {weight.shape}, input shape {x.shape})")
    if cin % groups:
        raise ValueError(f"{op}: input channels {cin} are not divisible by groups={groups}")
    cout = cout_g * groups
    if bias is not None and bias.shape != (cout,):
        raise ValueError(f"{op}: bias must have shape ({cout},), got {bias.shape}")
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a pair, got {padding!r}")
    stride = pair(stride, "stride", op, low=1)
    dilation = pair(dilation, "dilation", op, low=1)
    ph, pw = pair(padding, "padding", op)
    oph, opw = pair(output_padding, "output_padding", op)
    for o_p, s, d, name in ((oph, stride[0], dilation[0], "H"), (opw, stride[1], dilation[1], "W")):
        if o_p >= s and o_p >= d:
            raise ValueError(f"{op}: output_padding ({o_p}) along {name} must be smaller than "
                             f"either stride ({s}) or dilation ({d})")
    ho = (h - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + oph + 1
    wo = (w - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + opw + 1
    if ho <= 0 or wo <= 0:
        raise ValueError(f"{op}: the output would be empty: input {h}x{w}, kernel {kh}x{kw}, "
                         f"stride {stride}, padding {(ph, pw)}, dilation {dilation} give "
                         f"{ho}x{wo}")
    geo = Geometry(kh, kw, *stride, *dilation, ph, ph, pw, pw, groups)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    out = ConvTranspose2dFn.apply(*inputs, geo=geo, out_hw=(ho, wo))
    return out[0] if unbatched else out
