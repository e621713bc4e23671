"""Pooling and un-pooling against PyTorch, explicit loops and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F
from nn import naive
from oracle import check_op

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


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
def test_max_pool2d_values_indices_and_gradients_match_torch(h, w, k, s, p, d, ceil):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, h, w))
    out = check_op(lambda x: F.max_pool2d(x, k, s, p, d, ceil),
                   lambda x: TF.max_pool2d(x, k, s, p, d, ceil), [x])
    _, idx = F.max_pool2d(fovea.tensor(x), k, s, p, d, ceil, return_indices=True)
    _, tidx = TF.max_pool2d(torch.tensor(x), k, s, p, d, ceil, return_indices=True)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    want, widx = naive.max_pool2d(x, _pair(k), _pair(k if s is None else s), _pair(p),
                                  _pair(d), ceil)
    np.testing.assert_allclose(out.detach().numpy(), want)
    np.testing.assert_array_equal(idx.numpy(), widx)


def test_max_pool2d_ties_send_the_gradient_to_the_first_maximum():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, :2, :2] = 5.0  # a four-way tie
    x[0, 0, 2:, 2:] = [[1, 3], [3, 2]]
    fx, tx = fovea.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.max_pool2d(fx, 2).sum().backward()
    TF.max_pool2d(tx, 2).sum().backward()
    np.testing.assert_array_equal(fx.grad.numpy(), tx.grad.numpy())
    assert fx.grad.numpy()[0, 0, 0, 0] == 1 and fx.grad.numpy()[0, 0, :2, :2].sum() == 1


def test_max_pool2d_propagates_nan_like_torch():
    x = np.arange(32, dtype=np.float64).reshape(1, 2, 4, 4)
    x[0, 0, 1, 0] = np.nan
    y, idx = F.max_pool2d(fovea.tensor(x), 2, return_indices=True)
    ty, tidx = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())  # NaN where torch has NaN
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
                   fd=False, second_order=False)
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
    _, tidx = TF.adaptive_max_pool2d(torch.tensor(x), out, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


@pytest.mark.parametrize("k,s,p,out_size", [(2, None, 0, None), (2, None, 0, (7, 9)),
                                            (3, 2, 1, (6, 8)), (3, 2, 1, (1, 2, 6, 8))])
def test_max_unpool2d_inverts_max_pool_like_torch(k, s, p, out_size):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 6, 8))
    y, idx = F.max_pool2d(fovea.tensor(x), k, s, p, return_indices=True)
    ty, tidx = TF.max_pool2d(torch.tensor(x), k, s, p, return_indices=True)
    # Overlapping windows can pick the same input twice: those two outputs share an index,
    # the later write wins and the gradient (a gather, as in PyTorch) is then not the exact
    # derivative for the earlier one, so finite differences only for disjoint windows.
    out = check_op(lambda v: F.max_unpool2d(v, idx, k, s, p, out_size),
                   lambda v: TF.max_unpool2d(v, tidx, k, s, p, out_size), [y.numpy()],
                   fd=s is None)
    hw = out.shape[2:]
    np.testing.assert_allclose(out.detach().numpy(), naive.max_unpool2d(y.numpy(), idx.numpy(),
                                                                        hw))


def test_pooling_keeps_float32_and_channels_last():
    rng = np.random.default_rng(5)
    x = np.ascontiguousarray(rng.standard_normal((2, 4, 6, 6), dtype=np.float32)
                             .transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    fx = fovea.tensor(x, requires_grad=True)
    y = F.max_pool2d(fx, 2)
    z = F.avg_pool2d(fx, 3, 1, 1)
    assert y.dtype == z.dtype == np.float32
    assert y.detach().numpy().strides[1] == 4  # channels stay innermost
    (y.sum() + z.sum()).backward()
    assert fx.grad.dtype == np.float32
    want = TF.max_pool2d(torch.tensor(x), 2).numpy()
    np.testing.assert_array_equal(y.detach().numpy(), want)


def test_unbatched_inputs():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 6, 6))
    y, idx = F.max_pool2d(fovea.tensor(x), 2, return_indices=True)
    ty, tidx = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_allclose(F.max_unpool2d(y, idx, 2).numpy(),
                               TF.max_unpool2d(ty, tidx, 2).numpy())
    np.testing.assert_allclose(F.adaptive_avg_pool2d(fovea.tensor(x), 2).numpy(),
                               TF.adaptive_avg_pool2d(torch.tensor(x), 2).numpy())


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


def test_modules_match_torch_repr_and_values():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 8, 8))
    pairs = [
        (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
        (nn.AvgPool2d((3, 2), 2, 1), torch.nn.AvgPool2d((3, 2), 2, 1)),
        (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
        (nn.AdaptiveMaxPool2d((2, 3)), torch.nn.AdaptiveMaxPool2d((2, 3))),
    ]
    for m, t in pairs:
        assert repr(m) == repr(t)
        np.testing.assert_allclose(m(fovea.tensor(x)).numpy(), t(torch.tensor(x)).numpy())
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    assert repr(unpool) == repr(torch.nn.MaxUnpool2d(2))
    y, idx = pool(fovea.tensor(x))
    restored = unpool(y, idx)
    assert restored.shape == x.shape
    np.testing.assert_allclose(restored.numpy().max(axis=(2, 3)), x.max(axis=(2, 3)))
