"""F.conv2d / F.conv_transpose2d (src/fovea/nn/functional/conv.py): forward, gradients,
finite differences and double backward through the op harness (PyTorch when installed, the
naive loops of ``tests/nn/naive.py`` always, every registered device), with the compiled
kernels on and off; then layouts, dtypes, kernel choices and argument errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from fovea import config
from fovea.backends.cpu.conv import im2col as _im2col
from fovea.backends.cpu.conv import plan as _plan
from fovea.nn.utils import conv_output_size
from nn import naive
from oracle import check_op, needs_torch, torch

TF = torch.nn.functional if torch is not None else None
JIT = [pytest.param(True, id="kernels"), pytest.param(False, id="no-jit")]


def _pads(padding, kernel, dilation):
    """(top, bottom, left, right) the way PyTorch resolves ``padding``."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    p = (padding, padding) if isinstance(padding, int) else padding
    return p[0], p[0], p[1], p[1]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _naive_conv(kw, ws):
    """The loop reference of conv2d(·, **kw) for weight shape ``ws``, as (x, w[, b]) -> y."""
    d = _pair(kw.get("dilation", 1))
    pads = _pads(kw.get("padding", 0), ws[2:], d)
    return lambda x, w, b=None: naive.conv2d(x, w, b, _pair(kw.get("stride", 1)), pads, d,
                                             kw.get("groups", 1))


def _naive_conv_transpose(kw):
    return lambda x, w, b=None: naive.conv_transpose2d(
        x, w, b, _pair(kw.get("stride", 1)), _pair(kw.get("padding", 0)),
        _pair(kw.get("output_padding", 0)), kw.get("groups", 1), _pair(kw.get("dilation", 1)))


def _torch(fn, **kw):
    def call(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about 'same' with even kernels
            return fn(*args, **kw)
    return call


def _check(fv, tf, naive_fn, arrays, jit, **kw):
    with config.override(jit=jit):
        check_op(fv, tf, arrays, numpy_fn=naive_fn, **kw)


# (input shape, weight shape, kwargs): covers every kernel path: shifted products (C >= 8),
# wide patches (C < 8, Wo >= 8), plain im2col, grouped, depthwise, 1x1.
CONV_CASES = [
    ((2, 9, 7, 9), (10, 9, 3, 3), dict(padding=1)),
    ((2, 9, 8, 8), (10, 9, 3, 3), dict(stride=2, padding=1)),
    ((2, 9, 9, 7), (8, 9, 2, 3), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    ((2, 9, 8, 9), (8, 9, 3, 3), dict(stride=3, padding=2, dilation=2)),
    ((2, 9, 7, 8), (8, 9, 4, 2), dict(padding="same")),
    ((2, 9, 7, 8), (8, 9, 3, 4), dict(padding="same", dilation=(2, 1))),
    ((2, 9, 6, 7), (8, 9, 3, 3), dict(padding="valid")),
    ((2, 9, 6, 7), (8, 9, 3, 3), dict(padding=4)),  # padding wider than the kernel
    ((2, 9, 5, 6), (8, 9, 1, 1), {}),
    ((2, 9, 7, 6), (8, 9, 1, 1), dict(stride=2)),
    ((2, 9, 5, 6), (8, 9, 1, 1), dict(padding=1)),
    ((2, 3, 9, 17), (5, 3, 7, 7), dict(padding=3)),  # RGB first layer: wide patches
    ((2, 3, 9, 18), (5, 3, 3, 3), dict(stride=2, padding=1)),
    ((2, 3, 9, 13), (5, 3, 3, 2), dict(dilation=(1, 2), padding=(1, 2))),
    ((2, 3, 5, 6), (4, 3, 3, 3), dict(padding=1)),  # plain im2col
    ((2, 3, 5, 6), (8, 3, 3, 3), dict(padding=1)),  # 8 outputs: the generated kernels
    ((2, 4, 6, 7), (6, 2, 3, 3), dict(padding=1, groups=2)),
    ((2, 12, 6, 7), (9, 4, 3, 3), dict(stride=2, padding=1, groups=3)),
    ((2, 6, 7, 8), (6, 1, 3, 3), dict(padding=1, groups=6)),  # depthwise
    ((2, 6, 7, 8), (12, 1, 3, 3), dict(stride=2, padding=1, groups=6)),  # multiplier 2
    ((2, 6, 7, 8), (6, 1, 5, 3), dict(padding=(2, 1), dilation=(1, 2), groups=6)),
    ((1, 1, 5, 5), (1, 1, 5, 5), {}),  # output 1x1
]


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,kw", CONV_CASES)
def test_conv2d_matches_torch_and_loops(xs, ws, kw, bias, jit):
    """Forward (PyTorch and naive loops), gradients and second derivatives (PyTorch), and the
    same numbers on every registered device."""
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws)]
    if bias:
        arrays.append(rng.standard_normal(ws[0]))
    _check(lambda *a: F.conv2d(*a, **kw), _torch(TF.conv2d, **kw) if TF else None,
           _naive_conv(kw, ws), arrays, jit, fd=False)


CONVT_CASES = [
    ((2, 9, 4, 5), (9, 8, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((2, 9, 4, 5), (9, 8, 4, 4), dict(stride=2, padding=1)),
    ((2, 9, 3, 4), (9, 8, 3, 2), dict(stride=(3, 1), padding=(0, 1), output_padding=(2, 0))),
    ((2, 9, 4, 4), (9, 8, 3, 3), dict(dilation=2, output_padding=1)),  # op < dilation
    ((2, 9, 4, 5), (9, 8, 1, 1), dict(stride=2)),
    ((2, 3, 4, 5), (3, 4, 3, 3), dict(stride=2, padding=1)),
    ((2, 4, 4, 5), (4, 3, 3, 3), dict(stride=2, padding=1, groups=2)),
    ((2, 4, 4, 5), (4, 2, 3, 3), dict(stride=2, padding=0, groups=4, output_padding=1)),
]


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("xs,ws,kw", CONVT_CASES)
def test_conv_transpose2d_matches_torch_and_loops(xs, ws, kw, jit):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws),
              rng.standard_normal(ws[1] * kw.get("groups", 1))]
    _check(lambda *a: F.conv_transpose2d(*a, **kw),
           _torch(TF.conv_transpose2d, **kw) if TF else None, _naive_conv_transpose(kw),
           arrays, jit, fd=False)


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("xs,ws,kw", [
    ((1, 8, 4, 5), (8, 8, 3, 3), dict(padding=1)),                    # shifted products
    ((1, 8, 5, 5), (8, 8, 3, 2), dict(stride=2, padding=(1, 0))),     # phases
    ((1, 2, 3, 9), (3, 2, 3, 3), dict(padding=1)),                    # wide patches
    ((1, 2, 4, 4), (3, 2, 2, 2), dict(stride=2, dilation=1)),         # im2col
    ((1, 4, 4, 4), (4, 2, 3, 3), dict(padding=1, groups=2)),          # grouped
    ((1, 3, 4, 5), (6, 1, 3, 3), dict(padding=1, groups=3)),          # depthwise
])
def test_conv2d_finite_differences(xs, ws, kw, jit):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])]
    _check(lambda *a: F.conv2d(*a, **kw), _torch(TF.conv2d, **kw) if TF else None,
           _naive_conv(kw, ws), arrays, jit)


@pytest.mark.parametrize("jit", JIT)
def test_conv_transpose2d_finite_differences(jit):
    rng = np.random.default_rng(6)
    kw = dict(stride=2, padding=1, output_padding=1)
    arrays = [rng.standard_normal((1, 8, 3, 3)), rng.standard_normal((8, 3, 3, 3))]
    _check(lambda *a: F.conv_transpose2d(*a, **kw),
           _torch(TF.conv_transpose2d, **kw) if TF else None, _naive_conv_transpose(kw),
           arrays, jit)


MASKS = [(True, True, True), (False, True, True), (True, False, True), (True, True, False),
         (False, False, True)]


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("mask", MASKS, ids=lambda m: "".join("xwb"[i] for i in range(3)
                                                            if m[i]))
@pytest.mark.parametrize("kw,ws", [
    (dict(stride=2, padding=1), (8, 8, 3, 3)),
    (dict(padding=1), (8, 8, 3, 3)),  # the fused stride-1 backward
    (dict(padding=1, groups=2), (6, 4, 3, 3)),
    (dict(padding=1, groups=8), (8, 1, 3, 3)),
])
def test_conv2d_second_derivatives_through_the_backward_node(kw, ws, mask, jit):
    """Double backward of conv(x, w, b)², whose upstream gradient 2·y depends on x, w and b,
    so every path of the backward node's own backward is taken, for every subset of inputs
    that need a gradient (the backward node computes only the needed ones)."""
    rng = np.random.default_rng(7)
    xs = (2, ws[1] * kw.get("groups", 1), 5, 6)
    # Scaled to values near 1: the devices' sums run in different orders, and the harness
    # compares them to within 1e-14 absolute.
    arrays = [0.3 * rng.standard_normal(xs), 0.3 * rng.standard_normal(ws),
              0.3 * rng.standard_normal(ws[0])]
    sq = _naive_conv(kw, ws)
    _check(lambda *a: F.conv2d(*a, **kw) ** 2,
           (lambda *a: TF.conv2d(*a, **kw) ** 2) if TF else None,
           lambda *a: sq(*a) ** 2, arrays, jit, fd=False, grad_mask=list(mask))


@pytest.mark.parametrize("jit", JIT)
@pytest.mark.parametrize("mask", MASKS, ids=lambda m: "".join("xwb"[i] for i in range(3)
                                                            if m[i]))
@pytest.mark.parametrize("kw,ws", [
    (dict(stride=2, padding=1, output_padding=1), (8, 3, 3, 3)),
    (dict(padding=1), (8, 8, 3, 3)),
    (dict(stride=2, padding=1, groups=2), (8, 2, 3, 3)),
])
def test_conv_transpose2d_second_derivatives_through_the_backward_node(kw, ws, mask, jit):
    rng = np.random.default_rng(8)
    arrays = [0.3 * rng.standard_normal((2, ws[0], 3, 4)), 0.3 * rng.standard_normal(ws),
              0.3 * rng.standard_normal(ws[1] * kw.get("groups", 1))]
    sq = _naive_conv_transpose(kw)
    _check(lambda *a: F.conv_transpose2d(*a, **kw) ** 2,
           (lambda *a: TF.conv_transpose2d(*a, **kw) ** 2) if TF else None,
           lambda *a: sq(*a) ** 2, arrays, jit, fd=False, grad_mask=list(mask))


@pytest.mark.parametrize("jit", JIT)
def test_third_derivative_by_finite_differences_of_the_gradient(jit):
    """The weight-gradient node's own backward (used from the third order on)."""
    rng = np.random.default_rng(9)
    x = fovea.tensor(rng.standard_normal((1, 8, 4, 4)), requires_grad=True)
    w = fovea.tensor(rng.standard_normal((8, 8, 3, 3)), requires_grad=True)
    v = fovea.tensor(rng.standard_normal((1, 8, 2, 2)))

    def grad_w(x, w):
        with fovea.enable_grad():  # gradcheck evaluates fn under no_grad
            y = F.conv2d(x, w, stride=2, padding=1)
            (gw,) = fovea.grad((y * y * v).sum(), [w], create_graph=True)
        return gw

    with config.override(jit=jit):
        assert fovea.gradcheck(grad_w, [x, w], eps=1e-3, stencil=4) < 1e-7


@pytest.mark.parametrize("jit", JIT)
def test_conv_transpose2d_third_derivative_by_finite_differences(jit):
    """The transposed convolution's backward node differentiated twice."""
    rng = np.random.default_rng(19)
    x = fovea.tensor(rng.standard_normal((1, 8, 3, 3)), requires_grad=True)
    w = fovea.tensor(rng.standard_normal((8, 3, 3, 3)), requires_grad=True)
    b = fovea.tensor(rng.standard_normal(3), requires_grad=True)
    v = fovea.tensor(rng.standard_normal((1, 3, 6, 6)))

    def grads(x, w, b):
        with fovea.enable_grad():
            y = F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)
            gx, gw, gb = fovea.grad((y * y * v).sum(), [x, w, b], create_graph=True)
        return (gx * gx).sum() + (gw * gw).sum() + (gb * gb * gb).sum()

    with config.override(jit=jit):
        assert fovea.gradcheck(grads, [x, w, b], eps=1e-3, stencil=4) < 1e-7


@pytest.mark.parametrize("channels,width", [(16, 8), (3, 16)])
def test_kernel_paths_agree(monkeypatch, channels, width):
    """Shifted products / wide patches / plain im2col give the same numbers."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, channels, 6, width))
    w = rng.standard_normal((5, channels, 3, 3))
    results = []
    for taps, wide in ((8, 4), (10**6, 4), (10**6, 1)):
        monkeypatch.setattr(_plan, "MIN_TAP_CHANNELS", taps)
        monkeypatch.setattr(_im2col, "WIDE_OUTPUTS", wide)
        fx, fw = fovea.tensor(x, requires_grad=True), fovea.tensor(w, requires_grad=True)
        y = F.conv2d(fx, fw, stride=(1, 2), padding=1)
        y.backward(fovea.tensor(np.cos(np.arange(y.numel())).reshape(y.shape)))
        results.append([y.detach().numpy(), fx.grad.numpy(), fw.grad.numpy()])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("channels_last", [False, True])
def test_float32_stays_float32_and_output_is_channels_last(channels_last):
    """Outputs are channels-last views whatever the input's layout (values as the loops')."""
    rng = np.random.default_rng(11)
    xv = rng.standard_normal((2, 16, 8, 8), dtype=np.float32)
    if channels_last:
        xv = np.ascontiguousarray(xv.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    x = fovea.tensor(xv, requires_grad=True)
    w = fovea.tensor(rng.standard_normal((16, 16, 3, 3), dtype=np.float32), requires_grad=True)
    b = fovea.tensor(np.zeros(16, dtype=np.float32), requires_grad=True)
    y = F.conv2d(x, w, b, padding=1)
    assert y.dtype == np.float32
    yv = y.detach().numpy()
    assert yv.strides[1] == 4  # channels innermost (rows may be strided views)
    y.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    assert x.grad.numpy().strides[1] == 4
    want = naive.conv2d(xv.astype(np.float64), w.detach().numpy().astype(np.float64), None,
                        (1, 1), (1, 1, 1, 1))
    np.testing.assert_allclose(yv, want, rtol=1e-4, atol=1e-4)


def test_unbatched_input():
    rng = np.random.default_rng(12)
    x, w = rng.standard_normal((3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    y = F.conv2d(fovea.tensor(x), fovea.tensor(w), padding=1)
    want = naive.conv2d(x[None], w, None, (1, 1), (1, 1, 1, 1))[0]
    np.testing.assert_allclose(y.numpy(), want, atol=1e-10)


@pytest.mark.parametrize("call,err,match", [
    (lambda: F.conv2d(fovea.zeros(2, 4, 5, 5), fovea.zeros(8, 3, 3, 3)), ValueError,
     r"input has 4 channels but weight expects 3 \(weight shape \(8, 3, 3, 3\)"),
    (lambda: F.conv2d(fovea.zeros(2, 4, 5, 5), fovea.zeros(6, 2, 3, 3), groups=3),
     ValueError, "weight expects 2 x groups=3"),
    (lambda: F.conv2d(fovea.zeros(2, 3, 5, 5), fovea.zeros(8, 3, 7, 7)), ValueError,
     "output would be empty: input size 5"),
    (lambda: F.conv2d(fovea.zeros(2, 3, 5, 5), fovea.zeros(8, 3, 3, 3), padding="same",
                      stride=2), ValueError, "not supported for strided"),
    (lambda: F.conv2d(fovea.zeros(2, 3, 5, 5), fovea.zeros(8, 3, 3, 3), padding="full"),
     ValueError, "'valid' or 'same'"),
    (lambda: F.conv2d(fovea.zeros(2, 3, 5, 5), fovea.zeros(8, 3, 3, 3), stride=0),
     ValueError, "stride"),
    (lambda: F.conv2d(fovea.zeros(3, 5, 5, 2, 1), fovea.zeros(8, 3, 3, 3)), ValueError,
     "4-D input"),
    (lambda: F.conv2d(fovea.zeros(2, 3, 5, 5), fovea.zeros(8, 3, 3, 3, dtype=fovea.float64)),
     TypeError, "weight has dtype float64 but input has dtype float32"),
    (lambda: F.conv2d(fovea.zeros(2, 3, 5, 5), fovea.zeros(8, 3, 3, 3), fovea.zeros(7)),
     ValueError, r"bias must have shape \(8,\)"),
    (lambda: F.conv_transpose2d(fovea.zeros(1, 3, 4, 4), fovea.zeros(3, 2, 3, 3), stride=2,
                                output_padding=2), ValueError, "output_padding"),
])
def test_bad_arguments_raise_clear_errors(call, err, match):
    with pytest.raises(err, match=match):
        call()


# --- conv_output_size ----------------------------------------------------------------------

@needs_torch
def test_conv_output_size_matches_torch_pooling_and_conv():
    for size in range(1, 12):
        for k in range(1, 5):
            for s in (1, 2, 3):
                for p in range(0, k // 2 + 1):
                    for d in (1, 2):
                        for ceil in (False, True):
                            x = torch.zeros(1, 1, size, size)
                            try:
                                want = TF.max_pool2d(x, k, s, p, d, ceil).shape[-1]
                            except RuntimeError:
                                want = 0
                            if want == 0:
                                with pytest.raises(ValueError, match="empty"):
                                    conv_output_size(size, k, s, p, d, ceil)
                            else:
                                assert conv_output_size(size, k, s, p, d, ceil) == want


def test_conv_output_size_formula_examples():
    assert conv_output_size(32, 3, 1, 1) == 32
    assert conv_output_size(32, 7, 1, 3) == 32
    assert conv_output_size(7, 3, 2, 0) == 3  # floor((7 - 3) / 2) + 1
    assert conv_output_size(7, 2, 2, 0, ceil_mode=True) == 4
    with pytest.raises(ValueError, match="kernel_size"):
        conv_output_size(7, 0)


@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, padding=1),
                                dict(padding=1, groups=16)])
def test_batch_large_enough_for_the_threaded_kernels_matches_the_loops(kw):
    """Row ranges split across threads (and blocked weight gradients) add up exactly: the
    forward against the loops, the gradients against PyTorch when installed (a CPU kernel
    test, so not through the harness, which also runs other devices)."""
    rng = np.random.default_rng(16)
    groups = kw.get("groups", 1)
    x, w, b = (rng.standard_normal((8, 16, 16, 16)), rng.standard_normal((16, 16 // groups, 3, 3)),
               rng.standard_normal(16))
    fx, fw, fb = (fovea.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(fx, fw, fb, **kw)
    np.testing.assert_allclose(y.detach().numpy(), _naive_conv(kw, w.shape)(x, w, b),
                               atol=1e-10)
    if torch is None:
        return
    g = rng.standard_normal(y.shape)
    y.backward(fovea.tensor(g))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    TF.conv2d(tx, tw, tb, **kw).backward(torch.tensor(g))
    for a, t in ((fx, tx), (fw, tw), (fb, tb)):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-9, rtol=1e-9)


@needs_torch
@pytest.mark.parametrize("groups,ws", [(1, (4, 6, 3, 3)), (6, (6, 1, 3, 3))])
def test_float16_runs_the_generic_paths(groups, ws):
    """Half precision has no accumulating BLAS: im2col / per-tap fallbacks, same numbers."""
    rng = np.random.default_rng(17)
    x, w = rng.standard_normal((2, 6, 5, 9)), rng.standard_normal(ws)
    fx = fovea.tensor(x.astype(np.float16), requires_grad=True)
    fw = fovea.tensor(w.astype(np.float16), requires_grad=True)
    y = F.conv2d(fx, fw, padding=1, groups=groups)
    assert y.dtype == np.float16
    y.sum().backward()
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    TF.conv2d(tx, tw, padding=1, groups=groups).sum().backward()
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=2e-2, atol=5e-2)
    np.testing.assert_allclose(fw.grad.numpy(), tw.grad.numpy(), rtol=2e-2, atol=2e-1)
