"""The convolution plan: which kernels select() chooses for which geometry, dtype and flags,
that every chosen plan computes the convolution's formula (and its exact adjoints), and that
the choice is made once per convolution node.

Oracles: the forward against the defining sum evaluated with NumPy on the padded input; the
input and weight gradients through the adjoint identities
<conv(x, W), gy> = <x, dx(gy)> = <W, dW(x, gy)>, which a wrong gradient fails for random
arrays; PyTorch for whole layers elsewhere (tests/nn/test_conv.py, test_jit_taps.py).
"""

from __future__ import annotations

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from backends.conv_formula import conv_formula
from fovea import config
from fovea.backends.conv_geometry import Geometry
from fovea.backends.cpu import conv, llvm
from fovea.backends.cpu.conv import plan as plan_module

LLVM = llvm.available()
TAP_KINDS = ("depthwise", "llvm", "taps")


def _geo(k=3, stride=1, pad=1, dil=1, groups=1, kw=None):
    kh, kw = k, k if kw is None else kw
    return Geometry(kh, kw, stride, stride, dil, dil, pad, pad, pad, pad, groups)


def _select(geo, n=2, c=16, o=16, h=9, w=10, dtype=np.float64):
    return conv.select(geo, (n, c, h, w), (o, c // geo.groups, geo.kh, geo.kw), dtype)


# --- which plan is chosen -------------------------------------------------------------------

# (description, geometry, C, O, W, dtype, forward kind with the kernels on, ... off)
CHOICES = [
    ("3x3 16->16", _geo(), 16, 16, 10, np.float32, "llvm", "taps"),
    ("1x1 unpadded 16->16", _geo(1, pad=0), 16, 16, 10, np.float32, "llvm", "im2col"),
    ("RGB 7x7 3->32", _geo(7, pad=3), 3, 32, 16, np.float64, "llvm", "wide"),
    ("RGB 3->6 (no vector width divides 6)", _geo(), 3, 6, 16, np.float32, "wide", "wide"),
    ("RGB narrow output", _geo(), 3, 6, 6, np.float32, "im2col", "im2col"),
    ("4->4: too few channels for BLAS taps", _geo(), 4, 4, 10, np.float64, "llvm", "wide"),
    ("grouped", _geo(groups=2), 16, 16, 10, np.float32, "im2col", "im2col"),
    ("depthwise", _geo(groups=16), 16, 16, 10, np.float32, "depthwise", "depthwise"),
    ("depthwise float16", _geo(groups=16), 16, 16, 10, np.float16, "im2col", "im2col"),
    ("float16", _geo(), 16, 16, 10, np.float16, "wide", "wide"),
]


@pytest.mark.parametrize("jit", [True, False])
@pytest.mark.parametrize("case", CHOICES, ids=[c[0] for c in CHOICES])
def test_select_chooses_the_forward_kernel_by_geometry_dtype_and_flags(case, jit):
    _, geo, c, o, w, dtype, with_jit, without = case
    with config.override(jit=jit):
        plan = _select(geo, c=c, o=o, w=w, dtype=dtype)
    want = with_jit if jit and LLVM else without
    assert plan.forward_kind == want, plan
    if want in ("wide", "im2col") and geo.groups == 1:
        assert plan.weight_grad_kind == want  # the weight gradient reuses the forward's buffers


@pytest.mark.parametrize("jit", [True, False])
def test_small_images_with_many_channels_take_im2col(jit):
    """A 3x3 convolution with padding 1 on 2x2 images computes 9 grid positions per 4 outputs
    with shifted products: im2col wastes nothing there; on 16x16 images (1.13 positions per
    output) the shifted products stay."""
    with config.override(jit=jit):
        small = _select(_geo(), c=64, o=64, h=2, w=2, dtype=np.float32)
        large = _select(_geo(), c=64, o=64, h=16, w=16, dtype=np.float32)
        few = _select(_geo(), c=16, o=16, h=2, w=2, dtype=np.float32)
    assert small.forward_kind == "im2col" and small.input_grad_kind == "im2col", small
    assert large.forward_kind == ("llvm" if jit and LLVM else "taps"), large
    assert few.forward_kind == ("llvm" if jit and LLVM else "taps"), few  # few channels


def test_the_input_gradient_is_chosen_for_its_own_product():
    """conv 3 -> 32 (an RGB layer): the input gradient is a 32 -> 3 product, which the
    generated kernels cannot vectorise (3 output channels), but BLAS taps can't take (3 < 8)."""
    with config.override(jit=True):
        plan = _select(_geo(), c=3, o=32, w=16)
    assert plan.input_grad_kind == "im2col"
    assert plan.forward_kind == ("llvm" if LLVM else "wide")
    with config.override(jit=False):
        plan = _select(_geo(), c=16, o=16)
    assert plan.input_grad_kind == "taps" and plan.fused_backward


def test_depthwise_without_the_shifted_scheme_has_its_own_gradients():
    plan = _select(_geo(groups=16), dtype=np.float16)
    assert plan.input_grad_kind == plan.weight_grad_kind == "depthwise_im2col"
    assert not plan.fused_backward


def test_padding_beyond_the_kernel_reach_and_strides_turn_the_fused_backward_off():
    over = _select(_geo(3, pad=3))  # the flipped convolution would need negative padding
    assert over.forward_kind in TAP_KINDS and over.input_grad_kind == "im2col"
    assert not over.fused_backward
    strided = _select(_geo(3, stride=2))
    assert strided.input_grad_kind in TAP_KINDS and not strided.fused_backward
    assert _select(_geo()).fused_backward


# --- every plan computes the formula ---------------------------------------------------------


GEOMETRIES = [  # (name, geometry, C, O, H, W, kernels on?)
    ("3x3", _geo(), 16, 16, 7, 9, True),
    ("3x3 blas", _geo(), 16, 16, 7, 9, False),
    ("5x3 stride 2 dilation", Geometry(5, 3, 2, 2, 1, 2, 2, 1, 2, 2), 8, 8, 11, 12, True),
    ("stride 2 blas", _geo(3, stride=2), 8, 16, 9, 9, False),
    ("RGB wide", _geo(3), 3, 6, 6, 17, False),
    ("1x1", _geo(1, pad=0), 16, 16, 5, 5, False),
    ("grouped", _geo(groups=4), 8, 12, 6, 6, True),
    ("depthwise x2", _geo(groups=8), 8, 16, 7, 8, True),
    ("depthwise stride 2", _geo(3, stride=2, groups=8), 8, 8, 9, 9, True),
    ("padding beyond reach", _geo(3, pad=3), 8, 8, 5, 5, False),
]


@pytest.mark.parametrize("case", GEOMETRIES, ids=[g[0] for g in GEOMETRIES])
def test_every_plan_matches_the_formula_and_its_gradients_are_adjoints(case):
    _, geo, c, o, h, w, jit = case
    rng = np.random.default_rng(abs(hash(case[0])) % 2**32)
    n = 2
    with config.override(jit=jit):
        plan = conv.select(geo, (n, c, h, w), (o, c // geo.groups, geo.kh, geo.kw), np.float64)
        x = rng.standard_normal((n, h, w, c))
        weight = rng.standard_normal((o, c // geo.groups, geo.kh, geo.kw))
        bias = rng.standard_normal(o)
        y = plan.forward(x, weight, bias, keep=True)
        gy = rng.standard_normal(y.shape)
        dx = plan.grad_input(gy, weight)
        dw = plan.grad_weight(x, gy)
        fused = plan.backward(x, gy, weight, True, True, True)
    ho, wo = geo.out_size(h, w)
    assert y.shape == (n, ho, wo, o) and dx.shape == x.shape and dw.shape == weight.shape
    np.testing.assert_allclose(y, conv_formula(x, weight, geo, ho, wo) + bias, atol=1e-10)
    inner = np.sum((y - bias) * gy)
    np.testing.assert_allclose(np.sum(x * dx), inner, rtol=1e-10)
    np.testing.assert_allclose(np.sum(weight * dw), inner, rtol=1e-10)
    for got, want in zip(fused, (dx, dw, gy.sum(axis=(0, 1, 2)))):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_the_plan_keeps_its_forward_buffers_within_a_budget(monkeypatch):
    rng = np.random.default_rng(1)
    x, weight = rng.standard_normal((2, 8, 8, 16)), rng.standard_normal((16, 16, 3, 3))
    plan = _select(_geo(), h=8, w=8)
    y = plan.forward(x, weight, None, keep=True)
    assert plan.kept is not None
    gy = rng.standard_normal(y.shape)
    with_kept = plan.grad_weight(np.zeros_like(x), gy)  # the kept buffers, not x, are read
    plan.release()
    assert plan.kept is None
    np.testing.assert_allclose(with_kept, plan.grad_weight(x, gy), rtol=1e-12)
    monkeypatch.setattr(plan_module, "MAX_KEPT_BYTES", 0)
    plan.forward(x, weight, None, keep=True)
    assert plan.kept is None


def test_a_convolution_node_chooses_its_kernels_once(monkeypatch):
    """Forward, input, weight and bias gradients of one conv2d: one select, one decision per
    product (forward and input gradient), none in backward."""
    calls = {"select": 0, "product": 0}
    select, product_kind = conv.select, plan_module._product_kind

    def counting_select(*a, **k):
        calls["select"] += 1
        return select(*a, **k)

    def counting_product(*a, **k):
        calls["product"] += 1
        return product_kind(*a, **k)

    monkeypatch.setattr(conv, "select", counting_select)
    monkeypatch.setattr(plan_module, "_product_kind", counting_product)
    rng = np.random.default_rng(2)
    for stride in (1, 2):
        calls.update(select=0, product=0)
        x = fovea.tensor(rng.standard_normal((2, 16, 8, 8)), requires_grad=True)
        w = fovea.tensor(rng.standard_normal((16, 16, 3, 3)), requires_grad=True)
        b = fovea.tensor(rng.standard_normal(16), requires_grad=True)
        F.conv2d(x, w, b, stride=stride, padding=1).sum().backward()
        assert calls == {"select": 1, "product": 2}
        assert x.grad is not None and w.grad is not None and b.grad is not None
