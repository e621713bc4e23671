"""The generic convolution plan (src/fovea/backends/generic/conv.py) against the CPU plan and
the defining sum, on NumPy arrays and on the stand-in device (results stay on it).

Oracles: the forward against the convolution's formula (NumPy loops over taps and groups);
every gradient against the CPU plan's kernels (themselves checked against PyTorch and the
adjoint identities in tests/backends/cpu/test_conv_plan.py) and against the adjoint identity
<conv(x, W), gy> = <x, dx(gy)> = <W, dW(x, gy)>. Whole layers on the stand-in device run
through the op harness in tests/nn/functional/test_conv.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from backends import standin
from backends.conv_formula import conv_formula
from fovea import config
from fovea.backends.conv_geometry import Geometry
from fovea.backends.cpu import conv as cpu_conv
from fovea.backends.generic import conv as generic_conv


def _geo(k=3, stride=1, pad=1, dil=1, groups=1):
    return Geometry(k, k, stride, stride, dil, dil, pad, pad, pad, pad, groups)


CASES = [  # (name, geometry, C, O, H, W, out_hw or None)
    ("3x3", _geo(), 16, 16, 7, 9, None),
    ("5x3 stride 2 dilation, asymmetric padding", Geometry(5, 3, 2, 1, 1, 2, 2, 1, 2, 0),
     8, 8, 11, 12, None),
    ("1x1 unpadded", _geo(1, pad=0), 9, 8, 5, 6, None),
    ("RGB 7x7", _geo(7, pad=3), 3, 5, 9, 17, None),
    ("grouped", _geo(groups=4), 8, 12, 6, 6, None),
    ("depthwise x2 stride 2", _geo(3, stride=2, groups=8), 8, 16, 9, 9, None),
    ("padding beyond reach", _geo(3, pad=4), 8, 8, 5, 5, None),
    ("rows the windows do not reach (output_padding)", _geo(3, stride=2, pad=1), 8, 8, 10, 9,
     (5, 4)),
    ("output cut short (output_padding >= stride)", _geo(3, dil=2, pad=0), 4, 4, 9, 9, (4, 5)),
]


def _arrays(geo, c, o, h, w, out_hw, seed):
    rng = np.random.default_rng(seed)
    ho, wo = geo.out_size(h, w) if out_hw is None else out_hw
    x = rng.standard_normal((2, h, w, c))
    weight = rng.standard_normal((o, c // geo.groups, geo.kh, geo.kw))
    return x, weight, rng.standard_normal(o), rng.standard_normal((2, ho, wo, o)), (ho, wo)


def _all(plan, x, weight, bias, gy):
    """Every computation of a plan: forward, both gradients, both fused backwards."""
    y = plan.forward(x, weight, bias, keep=True)
    out = [y, plan.grad_input(gy, weight), plan.grad_weight(x, gy)]
    out += plan.backward(x, gy, weight, True, True, True)
    plan.release()
    out += plan.transpose_backward(x, gy, weight, True, True, True)
    return out


@pytest.mark.parametrize("jit", [True, False])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_generic_plan_matches_the_formula_the_cpu_plan_and_the_adjoints(case, jit):
    _, geo, c, o, h, w, out_hw = case
    x, weight, bias, gy, (ho, wo) = _arrays(geo, c, o, h, w, out_hw, len(case[0]))
    shapes = ((2, c, h, w), weight.shape, np.float64, out_hw)
    plan = generic_conv.select(geo, *shapes)
    assert (plan.forward_kind, plan.fused_backward) == ("generic", False)
    got = _all(plan, x, weight, bias, gy)
    with config.override(jit=jit):
        want = _all(cpu_conv.select(geo, *shapes), x, weight, bias, gy)
    np.testing.assert_allclose(got[0], conv_formula(x, weight, geo, ho, wo) + bias,
                               atol=1e-10)
    for a, b in zip(got, want):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    y, dx, dw = got[0] - bias, got[1], got[2]
    inner = np.sum(y * gy)
    np.testing.assert_allclose(np.sum(x * dx), inner, rtol=1e-10)
    np.testing.assert_allclose(np.sum(weight * dw), inner, rtol=1e-10)
    # The transposed convolution's backward: (conv(gx, W), dW(gx, gy), Σ gx) with gx = x.
    np.testing.assert_allclose(got[6], y, atol=1e-10)
    np.testing.assert_allclose(got[7], dw, atol=1e-10)
    np.testing.assert_allclose(got[8], x.sum(axis=(0, 1, 2)), atol=1e-10)


@pytest.mark.parametrize("case", CASES[::2], ids=[c[0] for c in CASES[::2]])
def test_generic_plan_keeps_results_on_the_arguments_device(case):
    """On stand-in arrays (which refuse to meet NumPy arrays) every result is a stand-in
    array with the NumPy results' values, from strided NHWC views of NCHW arrays."""
    _, geo, c, o, h, w, out_hw = case
    x, weight, bias, gy, _ = _arrays(geo, c, o, h, w, out_hw, 3)
    plan = generic_conv.select(geo, (2, c, h, w), weight.shape, np.float64, out_hw)
    on_cpu = _all(plan, x, weight, bias, gy)

    def dev(a):  # an NHWC view of an NCHW stand-in array, like the ops pass
        return standin.to_device(np.ascontiguousarray(a.transpose(0, 3, 1, 2))) \
            .transpose(0, 2, 3, 1) if a.ndim == 4 else standin.to_device(a)

    on_dev = _all(plan, dev(x), standin.to_device(weight), standin.to_device(bias), dev(gy))
    for a, b in zip(on_dev, on_cpu):
        assert isinstance(a, standin.StandInArray), type(a)
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-12, atol=1e-12)


def test_only_the_needed_gradients_are_computed_and_the_kept_input_is_read():
    geo = _geo()
    x, weight, bias, gy, _ = _arrays(geo, 8, 8, 6, 7, None, 4)
    plan = generic_conv.select(geo, (2, 8, 6, 7), weight.shape, np.float64)
    plan.forward(x, weight, None, keep=True)
    assert plan.kept is not None
    dx, dw, db = plan.backward(np.zeros_like(x), gy, weight, False, True, False)
    assert dx is None and db is None
    plan.release()
    assert plan.kept is None
    np.testing.assert_allclose(dw, plan.grad_weight(x, gy), rtol=1e-12)  # x, not the zeros
    assert plan.transpose_backward(x, gy, weight, False, False, True)[:2] == (None, None)
