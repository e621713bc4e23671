"""conv2d / conv_transpose2d / Conv2d / ConvTranspose2d against PyTorch, loops and numerics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F
from fovea.backends.cpu.conv import im2col as _im2col
from fovea.backends.cpu.conv import plan as _plan
from fovea.nn.utils import conv_output_size
from nn import naive
from oracle import check_op

torch = pytest.importorskip("torch")
TF = torch.nn.functional


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


def _compare_with_torch(x, w, b, kw, *, transpose=False, atol=1e-10, seed=0):
    """Forward and backward (random upstream gradient) of fovea vs torch, float64."""
    rng = np.random.default_rng(seed)
    f_fn, t_fn = (F.conv_transpose2d, TF.conv_transpose2d) if transpose else (F.conv2d,
                                                                             TF.conv2d)
    fx, fw = fovea.tensor(x, requires_grad=True), fovea.tensor(w, requires_grad=True)
    fb = None if b is None else fovea.tensor(b, requires_grad=True)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    y = f_fn(fx, fw, fb, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about 'same' with even kernels
        ty = t_fn(tx, tw, tb, **kw)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=atol, rtol=1e-9)
    g = rng.standard_normal(y.shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    for a, t in ((fx, tx), (fw, tw), (fb, tb)):
        if a is not None:
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=atol, rtol=1e-9)
    return y


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
    ((2, 4, 6, 7), (6, 2, 3, 3), dict(padding=1, groups=2)),
    ((2, 12, 6, 7), (9, 4, 3, 3), dict(stride=2, padding=1, groups=3)),
    ((2, 6, 7, 8), (6, 1, 3, 3), dict(padding=1, groups=6)),  # depthwise
    ((2, 6, 7, 8), (12, 1, 3, 3), dict(stride=2, padding=1, groups=6)),  # multiplier 2
    ((2, 6, 7, 8), (6, 1, 5, 3), dict(padding=(2, 1), dilation=(1, 2), groups=6)),
    ((1, 1, 5, 5), (1, 1, 5, 5), {}),  # output 1x1
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,kw", CONV_CASES)
def test_conv2d_forward_backward_match_torch(xs, ws, kw, bias):
    rng = np.random.default_rng(1)
    b = rng.standard_normal(ws[0]) if bias else None
    _compare_with_torch(rng.standard_normal(xs), rng.standard_normal(ws), b, kw)


@pytest.mark.parametrize("xs,ws,kw", CONV_CASES[::3])
def test_conv2d_matches_naive_loops(xs, ws, kw):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    k = ws[2:]
    d = _pair(kw.get("dilation", 1))
    pads = _pads(kw.get("padding", 0), k, d)
    want = naive.conv2d(x, w, b, _pair(kw.get("stride", 1)), pads, d, kw.get("groups", 1))
    got = F.conv2d(fovea.tensor(x), fovea.tensor(w), fovea.tensor(b), **kw).numpy()
    np.testing.assert_allclose(got, want, atol=1e-10)


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


@pytest.mark.parametrize("xs,ws,kw", CONVT_CASES)
def test_conv_transpose2d_forward_backward_match_torch(xs, ws, kw):
    rng = np.random.default_rng(3)
    b = rng.standard_normal(ws[1] * kw.get("groups", 1))
    _compare_with_torch(rng.standard_normal(xs), rng.standard_normal(ws), b, kw,
                        transpose=True)


@pytest.mark.parametrize("xs,ws,kw", CONVT_CASES[::2])
def test_conv_transpose2d_matches_naive_scatter(xs, ws, kw):
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    want = naive.conv_transpose2d(x, w, None, _pair(kw.get("stride", 1)),
                                  _pair(kw.get("padding", 0)),
                                  _pair(kw.get("output_padding", 0)), kw.get("groups", 1),
                                  _pair(kw.get("dilation", 1)))
    got = F.conv_transpose2d(fovea.tensor(x), fovea.tensor(w), **kw).numpy()
    np.testing.assert_allclose(got, want, atol=1e-10)


@pytest.mark.parametrize("xs,ws,kw", [
    ((1, 8, 4, 5), (8, 8, 3, 3), dict(padding=1)),                    # shifted products
    ((1, 8, 5, 5), (8, 8, 3, 2), dict(stride=2, padding=(1, 0))),     # phases
    ((1, 2, 3, 9), (3, 2, 3, 3), dict(padding=1)),                    # wide patches
    ((1, 2, 4, 4), (3, 2, 2, 2), dict(stride=2, dilation=1)),         # im2col
    ((1, 4, 4, 4), (4, 2, 3, 3), dict(padding=1, groups=2)),          # grouped
    ((1, 3, 4, 5), (6, 1, 3, 3), dict(padding=1, groups=3)),          # depthwise
])
def test_conv2d_finite_differences(xs, ws, kw):
    rng = np.random.default_rng(5)
    x = fovea.tensor(rng.standard_normal(xs), requires_grad=True)
    w = fovea.tensor(rng.standard_normal(ws), requires_grad=True)
    b = fovea.tensor(rng.standard_normal(ws[0]), requires_grad=True)
    err = fovea.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), [x, w, b], eps=1e-3,
                          stencil=4)
    assert err < 1e-7


def test_conv_transpose2d_finite_differences():
    rng = np.random.default_rng(6)
    x = fovea.tensor(rng.standard_normal((1, 8, 3, 3)), requires_grad=True)
    w = fovea.tensor(rng.standard_normal((8, 3, 3, 3)), requires_grad=True)
    err = fovea.gradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1,
                                                          output_padding=1), [x, w],
                          eps=1e-3, stencil=4)
    assert err < 1e-7


@pytest.mark.parametrize("kw,ws", [
    (dict(stride=2, padding=1), (8, 8, 3, 3)),
    (dict(padding=1, groups=2), (6, 4, 3, 3)),
    (dict(padding=1, groups=8), (8, 1, 3, 3)),
])
def test_conv2d_second_derivatives_match_torch(kw, ws):
    """Double backward: the backward pass is made of conv nodes, so it differentiates again."""
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((2, 8, 5, 6)), rng.standard_normal(ws),
              rng.standard_normal(ws[0])]
    check_op(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw),
             arrays, fd=False)


def test_conv_transpose2d_second_derivatives_match_torch():
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal((2, 8, 3, 4)), rng.standard_normal((8, 3, 3, 3))]
    kw = dict(stride=2, padding=1, output_padding=1)
    check_op(lambda x, w: F.conv_transpose2d(x, w, **kw),
             lambda x, w: TF.conv_transpose2d(x, w, **kw), arrays, fd=False)


def test_third_derivative_by_finite_differences_of_the_gradient():
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

    assert fovea.gradcheck(grad_w, [x, w], eps=1e-3, stencil=4) < 1e-7


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
    """Outputs are channels-last views whatever the input's layout (values as PyTorch's)."""
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
    want = TF.conv2d(torch.tensor(xv), torch.tensor(w.detach().numpy()), padding=1).numpy()
    np.testing.assert_allclose(yv, want, rtol=1e-4, atol=1e-4)


def test_unbatched_input():
    rng = np.random.default_rng(12)
    x, w = rng.standard_normal((3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    y = F.conv2d(fovea.tensor(x), fovea.tensor(w), padding=1)
    np.testing.assert_allclose(y.numpy(), TF.conv2d(torch.tensor(x), torch.tensor(w),
                                                    padding=1).numpy(), atol=1e-10)


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


# --- modules -------------------------------------------------------------------------------

def test_conv2d_module_parameters_init_and_repr_like_torch():
    gen = np.random.default_rng(0)
    m = nn.Conv2d(6, 8, 3, stride=2, padding=1, groups=2, generator=gen)
    t = torch.nn.Conv2d(6, 8, 3, stride=2, padding=1, groups=2)
    assert m.weight.shape == tuple(t.weight.shape) == (8, 3, 3, 3)
    assert m.bias.shape == (8,)
    assert list(m.state_dict()) == list(t.state_dict())
    assert repr(m) == repr(t)
    bound = 1 / np.sqrt(3 * 9)
    wv = m.weight.detach().numpy()
    assert wv.dtype == np.float32 and np.abs(wv).max() <= bound
    assert np.abs(wv).max() > 0.8 * bound  # fills the range: U(-b, b)
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    for kw in (dict(padding="same", bias=False), dict(dilation=2, padding_mode="reflect")):
        assert repr(nn.Conv2d(3, 4, 3, **kw)) == repr(torch.nn.Conv2d(3, 4, 3, **kw))


def test_conv2d_module_with_torch_weights_matches_torch():
    rng = np.random.default_rng(13)
    t = torch.nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1).double()
    m = nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1).double()
    m.load_state_dict(t.state_dict())
    x = rng.standard_normal((2, 3, 7, 6))
    np.testing.assert_allclose(m(fovea.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), atol=1e-10)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_padding_modes_match_torch(mode):
    rng = np.random.default_rng(14)
    t = torch.nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode=mode).double()
    m = nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode=mode).double()
    m.load_state_dict(t.state_dict())
    x = rng.standard_normal((2, 2, 5, 6))
    fx, tx = fovea.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(fx), t(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(y.shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), atol=1e-10)


def test_conv_transpose2d_module_output_size_and_repr():
    rng = np.random.default_rng(15)
    t = torch.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1).double()
    m = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1).double()
    assert repr(m) == repr(t)
    assert m.weight.shape == (4, 3, 3, 3)
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / np.sqrt(3 * 9)  # fan_in = 3·3·3
    m.load_state_dict(t.state_dict())
    x = rng.standard_normal((1, 4, 5, 5))
    y = m(fovea.tensor(x), output_size=(10, 10))
    ty = t(torch.tensor(x), output_size=(10, 10))
    assert y.shape == (1, 3, 10, 10)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-10)
    with pytest.raises(ValueError, match="not reachable"):
        m(fovea.tensor(x), output_size=(12, 10))


def test_module_input_checks_name_the_layer():
    m = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8\): expected input of shape "
                                         r"\(N, 3, H, W\), got \(4, 32, 32\)"):
        m(fovea.zeros(4, 32, 32))
    with pytest.raises(TypeError, match=r"input dtype float64 does not match the layer's "
                                        "float32"):
        m(fovea.zeros(1, 3, 8, 8, dtype=fovea.float64))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 8, 3, padding_mode="mirror")
    assert m(fovea.zeros(3, 8, 8)).shape == (8, 6, 6)  # unbatched


def test_seeded_generator_makes_initialisation_repeatable():
    a = nn.Conv2d(3, 4, 3, generator=np.random.default_rng(7))
    b = nn.Conv2d(3, 4, 3, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())


@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, padding=1),
                                dict(padding=1, groups=16)])
def test_batch_large_enough_for_the_threaded_kernels_matches_torch(kw):
    """Row ranges split across threads (and blocked weight gradients) add up exactly."""
    rng = np.random.default_rng(16)
    groups = kw.get("groups", 1)
    _compare_with_torch(rng.standard_normal((8, 16, 16, 16)),
                        rng.standard_normal((16, 16 // groups, 3, 3)),
                        rng.standard_normal(16), kw, atol=1e-9)


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
