"""nn/functional/pooling: max, average, adaptive pooling and max unpooling against PyTorch
through the shared harness (every device, kernels on and off), explicit loops
(``tests/nn/naive.py``) and finite differences; ties, NaN, layouts and errors."""

from __future__ import annotations

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from fovea import config
from nn import naive
from oracle import check_op, needs_torch, torch

TF = torch.nn.functional if torch else None


@pytest.fixture(params=["kernels", "numpy"])
def jit(request):
    """Max pooling has compiled kernels: every case runs with them and without."""
    with config.override(jit=request.param == "kernels"):
        yield request.param


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _channels_last(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


# (H, W, kernel, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    (8, 8, 2, None, 0, 1, False),           # the 2x2 fast case
    (7, 6, 2, None, 0, 1, False),           # odd sizes: the last row/column is dropped
    (7, 6, 2, None, 0, 1, True),            # ... or pooled alone with ceil_mode
    (7, 9, 3, 2, 1, 1, False),              # overlapping windows with padding
    (7, 9, 3, 2, 1, 1, True),
    (9, 8, 3, 1, 1, 2, False),              # dilation
    (5, 7, (2, 3), (1, 2), (1, 1), 1, True),  # non-square
    (6, 5, 4, 3, 2, 1, True),               # ceil_mode window starting in the padding
]


@pytest.mark.parametrize("h,w,k,s,p,d,ceil", MAX_CASES)
def test_max_pool2d_values_and_gradients_match_torch_and_loops(h, w, k, s, p, d, ceil):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, h, w))
    out = check_op(lambda x: F.max_pool2d(x, k, s, p, d, ceil),
                   lambda x: TF.max_pool2d(x, k, s, p, d, ceil), [x])
    want, widx = naive.max_pool2d(x, _pair(k), _pair(k if s is None else s), _pair(p),
                                  _pair(d), ceil)
    np.testing.assert_allclose(out.detach().numpy(), want)
    _, idx = F.max_pool2d(fovea.tensor(x), k, s, p, d, ceil, return_indices=True)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx.numpy(), widx)


@pytest.mark.parametrize("case", ["2x2", "3x3 s2", "padded"])
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_max_pool2d_kernels_on_and_off_match_torch_on_every_device(jit, case, layout):
    """Large enough (>= 2**14 values) for the compiled kernels, in the layouts they take."""
    rng = np.random.default_rng(1)
    x = rng.permutation(4 * 16 * 16 * 18).reshape(4, 16, 16, 18) * 1e-3  # no ties
    if layout == "channels_last":
        x = _channels_last(x)
    k, s, p = {"2x2": (2, None, 0), "3x3 s2": (3, 2, 0), "padded": (3, 2, 1)}[case]
    check_op(lambda t: F.max_pool2d(t, k, s, p), lambda t: TF.max_pool2d(t, k, s, p), [x],
             fd=False)


@needs_torch
@pytest.mark.parametrize("h,w,k,s,p,d,ceil", MAX_CASES[:5])
def test_max_pool2d_indices_match_torch(h, w, k, s, p, d, ceil):
    x = np.random.default_rng(2).standard_normal((2, 3, h, w))
    _, idx = F.max_pool2d(fovea.tensor(x), k, s, p, d, ceil, return_indices=True)
    _, tidx = TF.max_pool2d(torch.tensor(x), k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


def test_max_pool2d_ties_send_the_gradient_to_the_first_maximum(jit):
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, :2, :2] = 5.0  # a four-way tie
    x[0, 0, 2:, 2:] = [[1, 3], [3, 2]]
    fx = fovea.tensor(x, requires_grad=True)
    F.max_pool2d(fx, 2).sum().backward()
    want = np.zeros((4, 4))
    want[0, 0] = want[0, 2] = want[2, 0] = want[2, 3] = 1  # first maximum of each window
    np.testing.assert_array_equal(fx.grad.numpy()[0, 0], want)


def test_max_pool2d_propagates_nan_and_takes_the_last_nan_like_torch(jit):
    x = np.arange(32, dtype=np.float64).reshape(1, 2, 4, 4)
    x[0, 0, 0, 0] = x[0, 0, 1, 0] = np.nan
    y, idx = F.max_pool2d(fovea.tensor(x), 2, return_indices=True)
    assert np.isnan(y.numpy()[0, 0, 0, 0]) and not np.isnan(y.numpy()[0, 1]).any()
    assert idx.numpy()[0, 0, 0, 0] == 4  # (1, 0): the last NaN of the window, as PyTorch
    if torch is not None:
        ty, tidx = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
        np.testing.assert_array_equal(y.numpy(), ty.numpy())
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


AVG_CASES = [
    (8, 8, 2, None, 0, False),
    (7, 9, 3, 2, 1, False),
    (7, 9, 3, 2, 1, True),
    (5, 7, (2, 3), (1, 2), (1, 1), True),
    (6, 5, 4, 3, 2, True),
]


@pytest.mark.parametrize("divisor", [None, 3])
@pytest.mark.parametrize("count_pad", [True, False])
@pytest.mark.parametrize("h,w,k,s,p,ceil", AVG_CASES)
def test_avg_pool2d_matches_torch_and_loops(h, w, k, s, p, ceil, count_pad, divisor):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, h, w))
    out = check_op(lambda x: F.avg_pool2d(x, k, s, p, ceil, count_pad, divisor),
                   lambda x: TF.avg_pool2d(x, k, s, p, ceil, count_pad, divisor), [x],
                   fd=False)
    want = naive.avg_pool2d(x, _pair(k), _pair(k if s is None else s), _pair(p), ceil,
                            count_pad, divisor)
    np.testing.assert_allclose(out.detach().numpy(), want, atol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: F.max_pool2d(x, 2),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
    lambda x: F.adaptive_max_pool2d(x, (3, 2)),
])
def test_pooling_finite_differences(fn):
    rng = np.random.default_rng(2)
    # distinct values, well separated: the max is piecewise linear, so keep off its kinks
    x = rng.permutation(70).reshape(1, 2, 5, 7) * 0.1 + rng.uniform(0, 0.01, (1, 2, 5, 7))
    err = fovea.gradcheck(fn, [fovea.tensor(x, requires_grad=True)], eps=1e-3, stencil=4)
    assert err < 1e-7


@pytest.mark.parametrize("h,w,out", [(7, 6, (3, 4)), (8, 8, 1), (8, 8, (4, 2)), (5, 7, (5, 2)),
                                     (4, 4, (6, 3)), (6, 9, (None, 4))])
def test_adaptive_pools_match_torch_and_loops(h, w, out):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, h, w))
    avg = check_op(lambda x: F.adaptive_avg_pool2d(x, out),
                   lambda x: TF.adaptive_avg_pool2d(x, out), [x], fd=False)
    mx = check_op(lambda x: F.adaptive_max_pool2d(x, out),
                  lambda x: TF.adaptive_max_pool2d(x, out), [x], fd=False)
    o = (out, out) if isinstance(out, int) else tuple(s if v is None else v
                                                       for v, s in zip(out, (h, w)))
    np.testing.assert_allclose(avg.detach().numpy(), naive.adaptive_avg_pool2d(x, o), atol=1e-12)
    np.testing.assert_allclose(mx.detach().numpy(), naive.adaptive_max_pool2d(x, o))
    _, idx = F.adaptive_max_pool2d(fovea.tensor(x), out, return_indices=True)
    if torch is not None:
        _, tidx = TF.adaptive_max_pool2d(torch.tensor(x), out, return_indices=True)
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


@pytest.mark.parametrize("k,s,p,out_size", [(2, None, 0, None), (2, None, 0, (7, 9)),
                                            (3, 2, 1, (6, 8)), (3, 2, 1, (1, 2, 6, 8))])
def test_max_unpool2d_inverts_max_pool_like_torch_and_loops(k, s, p, out_size):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 6, 8))
    y, idx = F.max_pool2d(fovea.tensor(x), k, s, p, return_indices=True)
    # Overlapping windows can pick the same input twice: those two outputs share an index,
    # the later write wins and the gradient (a gather, as in PyTorch) is then not the exact
    # derivative for the earlier one, so finite differences only for disjoint windows.
    out = check_op(lambda v, i: F.max_unpool2d(v, i, k, s, p, out_size),
                   lambda v, i: TF.max_unpool2d(v, i, k, s, p, out_size),
                   [y.numpy(), idx.numpy()], fd=s is None)
    want = naive.max_unpool2d(y.numpy(), idx.numpy(), out.shape[2:])
    np.testing.assert_allclose(out.detach().numpy(), want)


def test_pooling_keeps_float32_and_channels_last(jit):
    rng = np.random.default_rng(5)
    x = _channels_last(rng.standard_normal((2, 4, 6, 6), dtype=np.float32))
    fx = fovea.tensor(x, requires_grad=True)
    y = F.max_pool2d(fx, 2)
    z = F.avg_pool2d(fx, 3, 1, 1)
    assert y.dtype == z.dtype == np.float32
    assert y.detach().numpy().strides[1] == 4  # channels stay innermost
    (y.sum() + z.sum()).backward()
    assert fx.grad.dtype == np.float32
    want, _ = naive.max_pool2d(x.astype(np.float64), (2, 2), (2, 2), (0, 0), (1, 1), False)
    np.testing.assert_array_equal(y.detach().numpy(), want.astype(np.float32))


def test_unbatched_inputs():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 6, 6))
    check_op(lambda t: F.max_pool2d(t, 2), lambda t: TF.max_pool2d(t, 2), [x], fd=False)
    check_op(lambda t: F.adaptive_avg_pool2d(t, 2), lambda t: TF.adaptive_avg_pool2d(t, 2),
             [x], fd=False)
    y, idx = F.max_pool2d(fovea.tensor(x), 2, return_indices=True)
    assert y.shape == (3, 3, 3) and idx.shape == (3, 3, 3)
    restored = F.max_unpool2d(y, idx, 2).numpy()
    np.testing.assert_allclose(restored.max(axis=(1, 2)), x.max(axis=(1, 2)))
    if torch is not None:
        ty, tidx = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
        np.testing.assert_allclose(restored, TF.max_unpool2d(ty, tidx, 2).numpy())


@pytest.mark.parametrize("call,match", [
    (lambda: F.max_pool2d(fovea.zeros(1, 1, 4, 4), 2, padding=2), "at most half"),
    (lambda: F.max_pool2d(fovea.zeros(1, 1, 2, 2), 3), "output would be empty"),
    (lambda: F.max_pool2d(fovea.zeros(4, 4), 2), "4-D input"),
    (lambda: F.avg_pool2d(fovea.zeros(1, 1, 4, 4), 2, divisor_override=0), "divisor_override"),
    (lambda: F.adaptive_avg_pool2d(fovea.zeros(1, 1, 4, 4), 0), "positive integers"),
    (lambda: F.max_unpool2d(fovea.zeros(1, 1, 2, 2), fovea.tensor(np.full((1, 1, 2, 2), 16)), 2),
     "invalid max index 16"),
    (lambda: F.max_unpool2d(fovea.zeros(1, 1, 2, 2), fovea.zeros(1, 1, 2, 2, dtype=np.int64), 2,
                            output_size=(9, 9)), "invalid output_size"),
    (lambda: F.max_unpool2d(fovea.zeros(1, 1, 2, 2), fovea.zeros(1, 1, 2, 1, dtype=np.int64), 2),
     "indices have shape"),
])
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match="floating"):
        F.max_pool2d(fovea.zeros(1, 1, 4, 4, dtype=np.int64), 2)
