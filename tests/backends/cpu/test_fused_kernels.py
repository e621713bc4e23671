"""The compiled (Numba) paths of ReLU and batch norm against NumPy, PyTorch and by hand.

Each case runs twice: with the compiled kernels and with NumPy only
(``config.override(jit=False)``, as ``FOVEA_JIT=0``); both must give PyTorch's values. Shapes
are large enough (>= 2**14 values) for the kernels to be used, and include the layouts a
network produces: contiguous NCHW, dense channels-last, and the channels-last *crop* of a
padded buffer that a 3×3 convolution hands out.
"""

from __future__ import annotations

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from fovea import config
from fovea.backends.cpu import elementwise, layout
from fovea.backends.cpu import numba as nb
from oracle import needs_torch, torch

pytestmark = pytest.mark.skipif(not nb.available(), reason="Numba is not installed")


@pytest.fixture(params=["jit", "numpy"])
def path(request):
    with config.override(jit=request.param == "jit"):
        yield request.param


def _layouts(rng, shape, dtype):
    """{name: array} with the same values in three memory layouts."""
    n, c, h, w = shape
    base = rng.standard_normal(shape).astype(dtype)
    cl = np.ascontiguousarray(base.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    padded = np.zeros((n, h + 2, w + 3, c), dtype=dtype)  # crop of a padded NHWC buffer
    padded[:, :h, :w] = base.transpose(0, 2, 3, 1)
    crop = padded[:, :h, :w].transpose(0, 3, 1, 2)
    return {"nchw": base, "channels_last": cl, "crop": crop}


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "crop"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_forward_backward(path, layout, dtype):
    rng = np.random.default_rng(0)
    xv = _layouts(rng, (4, 16, 16, 18), dtype)[layout]
    gv = _layouts(np.random.default_rng(1), (4, 16, 16, 18), dtype)[layout]
    x = fovea.tensor(xv, requires_grad=True)
    y = F.relu(x)
    y.backward(fovea.tensor(gv))
    np.testing.assert_array_equal(y.detach().numpy(), np.maximum(xv, 0))
    np.testing.assert_array_equal(x.grad.numpy(), np.where(xv > 0, gv, 0))
    assert y.dtype == x.grad.dtype == dtype


def test_relu_keeps_nan_and_gives_zero_gradient_where_not_positive(path):
    xv = np.random.default_rng(2).standard_normal((1 << 15,))
    xv[::7] = np.nan
    xv[1::7] = 0.0
    x = fovea.tensor(xv, requires_grad=True)
    y = F.relu(x)
    y.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), np.maximum(xv, 0))
    np.testing.assert_array_equal(x.grad.numpy(), (xv > 0).astype(float))


@needs_torch
@pytest.mark.parametrize("layout", ["nchw", "channels_last", "crop"])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_torch(path, layout, affine):
    rng = np.random.default_rng(3)
    shape = (4, 16, 16, 18)
    xv = _layouts(rng, shape, np.float64)[layout] * 3 + 5  # a mean far from 0
    gv = _layouts(np.random.default_rng(4), shape, np.float64)["channels_last"]
    c = shape[1]
    wv, bv = rng.standard_normal(c), rng.standard_normal(c)
    x = fovea.tensor(xv, requires_grad=True)
    w = fovea.tensor(wv, requires_grad=True) if affine else None
    b = fovea.tensor(bv, requires_grad=True) if affine else None
    rm, rv = fovea.zeros(c, dtype=np.float64), fovea.ones(c, dtype=np.float64)
    y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5)
    y.backward(fovea.tensor(gv))

    tx = torch.tensor(np.ascontiguousarray(xv), requires_grad=True)
    tw = torch.tensor(wv, requires_grad=True) if affine else None
    tb = torch.tensor(bv, requires_grad=True) if affine else None
    trm, trv = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=True, momentum=0.1,
                                        eps=1e-5)
    ty.backward(torch.tensor(np.ascontiguousarray(gv)))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)
    if affine:
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_batch_norm_float32_stays_float32_and_is_accurate(path):
    rng = np.random.default_rng(5)
    xv = (_layouts(rng, (8, 16, 16, 16), np.float32)["crop"] * 10 + 100).astype(np.float32)
    x = fovea.tensor(xv, requires_grad=True)
    w = fovea.tensor(np.ones(16, np.float32), requires_grad=True)
    b = fovea.tensor(np.zeros(16, np.float32), requires_grad=True)
    y = F.batch_norm(x, None, None, w, b, training=True)
    (y * y).sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == np.float32
    x64 = xv.astype(np.float64)
    mean = x64.mean(axis=(0, 2, 3), keepdims=True)
    want = (x64 - mean) / np.sqrt(x64.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(y.detach().numpy(), want, atol=2e-4)


@needs_torch
def test_batch_norm_of_a_real_convolution_output(path):
    """The crop a padded 3×3 convolution hands out, through conv -> BN -> ReLU -> sum."""
    rng = np.random.default_rng(6)
    xv = rng.standard_normal((2, 16, 16, 16))
    wv = rng.standard_normal((16, 16, 3, 3)) * 0.2
    x, w = fovea.tensor(xv), fovea.tensor(wv, requires_grad=True)
    h = F.conv2d(x, w, padding=1)
    y = F.relu(F.batch_norm(h, None, None, training=True))
    (y * y).sum().backward()
    tw = torch.tensor(wv, requires_grad=True)
    th = torch.nn.functional.conv2d(torch.tensor(xv), tw, padding=1)
    ty = torch.relu(torch.nn.functional.batch_norm(th, None, None, training=True))
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-8, atol=1e-8)


def test_base_of_a_crop_is_its_padded_buffer_and_unprovable_views_are_left_alone():
    buf = np.zeros((3, 5, 7 * 4), dtype=np.float32)
    crop = buf[:, :4, :6 * 4]
    base = layout.rows_base(crop)
    assert base.shape == (3, 5, 28) and base.flags.c_contiguous
    assert np.shares_memory(base, buf)
    assert layout.rows_base(buf) is buf
    every_other = buf[:, ::2, :8]  # image stride 560 B is not a multiple of the row's 224 B
    assert layout.rows_base(every_other) is every_other


def test_jit_can_be_turned_off():
    with config.override(jit=False):
        assert not nb.available()
        assert not nb.enabled(np.zeros(1 << 16))
        x = np.random.default_rng(0).standard_normal(1 << 16)
        np.testing.assert_array_equal(elementwise.relu(x), np.maximum(x, 0))  # NumPy's pass
        with pytest.raises(RuntimeError, match="not available"):
            elementwise._relu(np.zeros(4), np.zeros(4))
    assert nb.enabled(np.zeros(1 << 16))
    assert not nb.enabled(np.zeros(16))  # too small to pay for a launch


@needs_torch
@pytest.mark.parametrize("layout", ["nchw", "channels_last", "crop"])
@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 2), (3, 1), ((2, 3), (1, 2))])
def test_max_pool_matches_torch_with_ties_and_nan(path, layout, kernel, stride):
    rng = np.random.default_rng(7)
    shape = (4, 16, 17, 18)
    xv = np.round(_layouts(rng, shape, np.float64)[layout] * 2) / 2  # many ties
    xv[0, 0, 0, 0] = np.nan
    x = fovea.tensor(xv, requires_grad=True)
    y, idx = F.max_pool2d(x, kernel, stride, return_indices=True)
    gv = np.random.default_rng(8).standard_normal(y.shape)
    y.backward(fovea.tensor(gv))
    tx = torch.tensor(np.ascontiguousarray(xv), requires_grad=True)
    ty, tidx = torch.nn.functional.max_pool2d(tx, kernel, stride, return_indices=True)
    ty.backward(torch.tensor(gv))
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@needs_torch
def test_max_pool_double_backward_through_the_compiled_path(path):
    rng = np.random.default_rng(9)
    xv = _layouts(rng, (4, 16, 16, 16), np.float64)["channels_last"]
    x = fovea.tensor(xv, requires_grad=True)
    y = F.max_pool2d(x, 2)
    (gx,) = fovea.grad((y * y).sum(), [x], create_graph=True)
    gx.sum().backward()
    tx = torch.tensor(np.ascontiguousarray(xv), requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, 2)
    (tgx,) = torch.autograd.grad((ty * ty).sum(), [tx], create_graph=True)
    tgx.sum().backward()
    np.testing.assert_allclose(gx.detach().numpy(), tgx.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-12)
