"""nn/functional/upsample.py: interpolate against PyTorch's coordinate conventions through
the shared harness (every device), explicit loops (``tests/nn/naive.py``) and finite
differences; float32 coordinates; errors."""

from __future__ import annotations

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from nn import naive
from oracle import check_op, needs_torch, torch

TF = torch.nn.functional if torch else None

# (H, W, size, scale_factor, mode, align_corners, recompute_scale_factor)
CASES = [
    (4, 5, (8, 10), None, "nearest", None, None),
    (4, 5, None, 2, "nearest", None, None),
    (4, 5, None, (1.7, 2.3), "nearest", None, None),
    (5, 7, (3, 4), None, "nearest", None, None),          # down-sampling
    (5, 4, None, 2.5, "nearest-exact", None, None),
    (4, 5, (9, 3), None, "nearest-exact", None, None),
    (4, 5, (7, 9), None, "bilinear", False, None),
    (4, 5, (7, 9), None, "bilinear", True, None),
    (4, 5, None, 2, "bilinear", False, None),
    (4, 5, None, 2, "bilinear", True, None),
    (4, 5, None, (1.5, 0.6), "bilinear", False, None),
    (6, 6, (3, 2), None, "bilinear", True, None),
    (4, 5, None, 1.3, "bilinear", False, True),
    (4, 5, (1, 1), None, "bilinear", True, None),         # a single output pixel
    (1, 1, (3, 4), None, "bilinear", False, None),        # a single input pixel
]


def _naive_args(h, w, size, sf, rsf):
    if size is not None:
        return tuple(size), None
    s = (sf, sf) if not isinstance(sf, tuple) else sf
    out = (int(np.floor(h * s[0])), int(np.floor(w * s[1])))
    return out, (None if rsf else s)


@pytest.mark.parametrize("h,w,size,sf,mode,ac,rsf", CASES)
def test_interpolate_matches_torch_and_loops(h, w, size, sf, mode, ac, rsf):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, h, w))
    out = check_op(lambda x: F.interpolate(x, size, sf, mode, ac, rsf),
                   lambda x: TF.interpolate(x, size, sf, mode, ac, rsf), [x], fd=False)
    out_hw, scale = _naive_args(h, w, size, sf, rsf)
    want = naive.interpolate(x, out_hw, mode, bool(ac), scale)
    np.testing.assert_allclose(out.detach().numpy(), want, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("h,w,size,sf,mode,ac,rsf", CASES)
def test_interpolate_float32_uses_torch_float32_coordinates(h, w, size, sf, mode, ac, rsf):
    """In float32 the source coordinates are computed in float32, as PyTorch does."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, h, w)).astype(np.float32)
    y = F.interpolate(fovea.tensor(x), size, sf, mode, ac, rsf)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), TF.interpolate(torch.tensor(x), size, sf, mode, ac,
                                                         rsf).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode,ac", [("nearest", None), ("bilinear", False), ("bilinear", True)])
def test_interpolate_finite_differences(mode, ac):
    rng = np.random.default_rng(2)
    x = fovea.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    for size in ((5, 7), (2, 3)):
        err = fovea.gradcheck(lambda x, size=size: F.interpolate(x, size, mode=mode,
                                                                   align_corners=ac),
                              [x], eps=1e-3, stencil=4)
        assert err < 1e-7


def test_upsample_composes_with_conv_for_learned_upsampling():
    """Lecture 11's pieces together: nearest up-sampling then a conv, gradients to both."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 4))
    w = rng.standard_normal((4, 3, 3, 3))
    check_op(lambda x, w: F.conv2d(F.interpolate(x, scale_factor=2), w, padding=1),
             lambda x, w: TF.conv2d(TF.interpolate(x, scale_factor=2), w, padding=1), [x, w],
             fd=False)


@pytest.mark.parametrize("call,err,match", [
    (lambda: F.interpolate(fovea.zeros(1, 1, 4, 4)), ValueError, "exactly one of size"),
    (lambda: F.interpolate(fovea.zeros(1, 1, 4, 4), 8, 2), ValueError, "exactly one of size"),
    (lambda: F.interpolate(fovea.zeros(1, 1, 4, 4), 8, align_corners=True), ValueError,
     "align_corners option can only be set"),
    (lambda: F.interpolate(fovea.zeros(1, 1, 4, 4), 8, mode="bicubic"), ValueError,
     "mode must be one of"),
    (lambda: F.interpolate(fovea.zeros(1, 1, 4, 4), scale_factor=0.1), ValueError,
     "empty output"),
    (lambda: F.interpolate(fovea.zeros(1, 1, 4, 4), size=(0, 3)), ValueError,
     "positive integers"),
    (lambda: F.interpolate(fovea.zeros(4, 4), 8), ValueError, "4-D input"),
    (lambda: F.interpolate(fovea.zeros(1, 1, 4, 4, dtype=np.int64), 8), TypeError, "floating"),
])
def test_bad_arguments_raise_clear_errors(call, err, match):
    with pytest.raises(err, match=match):
        call()


# (L, size, scale_factor, mode, align_corners, recompute_scale_factor) for (N, C, L) signals
CASES_1D = [
    (5, 9, None, "nearest", None, None), (5, None, 2, "nearest", None, None),
    (7, 3, None, "nearest", None, None), (5, None, 1.7, "nearest-exact", None, None),
    (5, 11, None, "linear", False, None), (5, 11, None, "linear", True, None),
    (6, None, 2.5, "linear", False, None), (6, None, (0.6,), "linear", False, True),
    (6, (4,), None, "linear", True, None), (1, 4, None, "linear", False, None),
]


@pytest.mark.parametrize("n,size,sf,mode,ac,rsf", CASES_1D)
def test_interpolate_3d_signals_match_torch_and_the_image_of_one_row(n, size, sf, mode, ac,
                                                                      rsf):
    x = np.random.default_rng(5).standard_normal((2, 3, n))

    def as_image(a):
        # The same resize of a (N, C, 1, L) image along W only: the independent reference.
        s = None if size is None else (1, size if isinstance(size, int) else size[0])
        f = None if sf is None else (1.0, sf if not isinstance(sf, tuple) else sf[0])
        m = "bilinear" if mode == "linear" else mode
        y = F.interpolate(fovea.tensor(a[:, :, None]), s, f, m, ac, rsf)
        return y.numpy()[:, :, 0]
    check_op(lambda t: F.interpolate(t, size, sf, mode, ac, rsf),
             lambda t: TF.interpolate(t, size, sf, mode, ac, rsf), [x], numpy_fn=as_image)


@needs_torch
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear"])
@pytest.mark.parametrize("ac", [False, True])
def test_interpolate_uint8_images_match_torch_exactly(mode, ac):
    rng = np.random.default_rng(6)
    ac = ac if mode == "bilinear" else None
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(1, 12, 2))
        oh, ow = (int(v) for v in rng.integers(1, 25, 2))
        a = rng.integers(0, 256, (2, 3, h, w)).astype(np.uint8)
        y = F.interpolate(fovea.tensor(a), (oh, ow), mode=mode, align_corners=ac)
        assert y.dtype == np.uint8
        ref = TF.interpolate(torch.tensor(a), (oh, ow), mode=mode, align_corners=ac).numpy()
        np.testing.assert_array_equal(y.numpy(), ref)
    a = rng.integers(0, 256, (1, 2, 5, 7)).astype(np.uint8)
    y = F.interpolate(fovea.tensor(a), scale_factor=1.7, mode=mode, align_corners=ac)
    np.testing.assert_array_equal(y.numpy(), TF.interpolate(
        torch.tensor(a), scale_factor=1.7, mode=mode, align_corners=ac).numpy())


def test_interpolate_uint8_bilinear_rounds_half_up_after_each_pass():
    # [0, 1] to 3 samples (align_corners): the middle one is 0.5 exactly, which rounds up.
    a = np.array([[[[0, 1], [0, 1]]]], dtype=np.uint8)
    y = F.interpolate(fovea.tensor(a), (2, 3), mode="bilinear", align_corners=True)
    assert y.numpy().tolist() == [[[[0, 1, 1], [0, 1, 1]]]]


def test_interpolate_uint8_nearest_of_a_signal_is_a_gather():
    a = np.arange(4, dtype=np.uint8).reshape(1, 1, 4)
    assert F.interpolate(fovea.tensor(a), scale_factor=2).numpy().tolist() == [
        [[0, 0, 1, 1, 2, 2, 3, 3]]]


@pytest.mark.parametrize("call,match", [
    (lambda: F.interpolate(fovea.zeros(1, 1, 4), 8, mode="bilinear"),
     "got a 3-D input, but bilinear mode needs a 4-D input"),
    (lambda: F.interpolate(fovea.zeros(1, 1, 4, 4), 8, mode="linear"),
     "got a 4-D input, but linear mode needs a 3-D input"),
    (lambda: F.interpolate(fovea.zeros(1, 1, 4, dtype=np.uint8), 8, mode="linear"),
     "uint8 for the nearest and bilinear modes"),
    (lambda: F.interpolate(fovea.zeros(1, 1, 4), (8, 8)), "tuple of 1 for a 3-D input"),
])
def test_interpolate_3d_and_uint8_errors(call, match):
    with pytest.raises((RuntimeError, TypeError, ValueError), match=match):
        call()
