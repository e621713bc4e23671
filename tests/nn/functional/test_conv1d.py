"""nn/functional: conv1d, conv_transpose1d and the 1-D pools against PyTorch through the
shared harness (values, gradients, double backward, finite differences, the stand-in
device), with hand-worked NumPy references for runs without PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import fovea.nn.functional as F
from oracle import check_op, torch

TF = torch.nn.functional if torch else None


def _conv1d_ref(x, w, b, stride, padding, dilation):
    """Direct sum: y[n, o, i] = b[o] + Σ_c Σ_t w[o, c, t] · xpad[n, c, i·s + t·d]."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    k = w.shape[2]
    lo = (xp.shape[2] - dilation * (k - 1) - 1) // stride + 1
    y = np.zeros((x.shape[0], w.shape[0], lo)) + b[None, :, None]
    for t in range(k):
        taps = xp[:, :, t * dilation: t * dilation + stride * (lo - 1) + 1: stride]
        y += np.einsum("oc,ncl->nol", w[:, :, t], taps)
    return y


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 1, 2)])
def test_conv1d_matches_pytorch_and_a_direct_sum(stride, padding, dilation):
    rng = np.random.default_rng(stride + 10 * padding)
    x, w, b = (rng.standard_normal((2, 3, 12)),
               rng.standard_normal((4, 3, 3)), rng.standard_normal(4))
    check_op(lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation),
             (lambda x, w, b: TF.conv1d(x, w, b, stride, padding, dilation)) if torch else None,
             [x, w, b], numpy_fn=lambda x, w, b: _conv1d_ref(x, w, b, stride, padding, dilation))


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv1d_groups_and_string_padding(padding):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 2, 4))
    check_op(lambda x, w: F.conv1d(x, w, padding=padding, groups=2),
             (lambda x, w: TF.conv1d(x, w, padding=padding, groups=2)) if torch else None, [x, w])


def test_conv1d_unbatched_input_gives_an_unbatched_output():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 7)), rng.standard_normal((5, 3, 2))
    check_op(lambda x, w: F.conv1d(x, w), (lambda x, w: TF.conv1d(x, w)) if torch else None,
             [x, w], numpy_fn=lambda x, w: _conv1d_ref(x[None], w, np.zeros(5), 1, 0, 1)[0])


@pytest.mark.parametrize("stride,padding,output_padding,groups,dilation",
                         [(1, 0, 0, 1, 1), (2, 1, 1, 1, 1), (3, 0, 2, 2, 1), (2, 1, 0, 1, 2)])
def test_conv_transpose1d_matches_pytorch(stride, padding, output_padding, groups, dilation):
    rng = np.random.default_rng(stride)
    x, w, b = (rng.standard_normal((2, 4, 6)), rng.standard_normal((4, 3, 3)),
               rng.standard_normal(3 * groups))
    check_op(lambda x, w, b: F.conv_transpose1d(x, w, b, stride, padding, output_padding,
                                                groups, dilation),
             (lambda x, w, b: TF.conv_transpose1d(x, w, b, stride, padding, output_padding,
                                                  groups, dilation)) if torch else None,
             [x, w, b])


def test_conv_transpose1d_is_the_adjoint_of_conv1d():
    """<conv1d(x, w), y> == <x, conv_transpose1d(y, w)> for any x, y: no PyTorch needed."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 11)), rng.standard_normal((5, 3, 3))
    y = rng.standard_normal(F.conv1d(x, w, stride=2, padding=1).shape)
    lhs = float((F.conv1d(x, w, stride=2, padding=1).numpy() * y).sum())
    rhs = float((x * F.conv_transpose1d(y, w, stride=2, padding=1).numpy()).sum())
    assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode",
                         [(2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 2, 1, 2, True)])
def test_max_pool1d_values_indices_and_gradient(kernel, stride, padding, dilation, ceil_mode):
    x = np.random.default_rng(4).standard_normal((2, 3, 13))
    check_op(lambda x: F.max_pool1d(x, kernel, stride, padding, dilation, ceil_mode),
             (lambda x: TF.max_pool1d(x, kernel, stride, padding, dilation, ceil_mode))
             if torch else None, [x])
    vals, idx = F.max_pool1d(x, kernel, stride, padding, dilation, ceil_mode,
                             return_indices=True)
    # Each index points at the input element that holds the value (positions along L).
    np.testing.assert_array_equal(np.take_along_axis(x, idx.numpy(), axis=2), vals.numpy())
    if torch:
        _, t_idx = TF.max_pool1d(torch.tensor(x), kernel, stride, padding, dilation, ceil_mode,
                                 return_indices=True)
        np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool1d(count_include_pad):
    x = np.random.default_rng(5).standard_normal((2, 3, 10))
    ref = None
    if count_include_pad:  # windows of 3, stride 2, one zero on each side, divided by 3
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1)))
        def ref(x):
            return np.stack([xp[..., i:i + 3].mean(-1) for i in range(0, 10, 2)], -1)
    check_op(lambda x: F.avg_pool1d(x, 3, 2, 1, count_include_pad=count_include_pad),
             (lambda x: TF.avg_pool1d(x, 3, 2, 1, count_include_pad=count_include_pad))
             if torch else None, [x], numpy_fn=ref)


@pytest.mark.parametrize("size,out", [(10, 4), (7, 7), (5, 1), (3, 5)])
def test_adaptive_pools_1d(size, out):
    x = np.random.default_rng(size).standard_normal((2, 3, size))
    bins = [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]
    check_op(lambda x: F.adaptive_avg_pool1d(x, out),
             (lambda x: TF.adaptive_avg_pool1d(x, out)) if torch else None, [x],
             numpy_fn=lambda x: np.stack([x[..., a:b].mean(-1) for a, b in bins], -1))
    check_op(lambda x: F.adaptive_max_pool1d(x, out),
             (lambda x: TF.adaptive_max_pool1d(x, out)) if torch else None, [x],
             numpy_fn=lambda x: np.stack([x[..., a:b].max(-1) for a, b in bins], -1))


@pytest.mark.parametrize("call,message", [
    (lambda: F.conv1d(np.zeros((2, 3, 4, 5)), np.zeros((1, 3, 2))), "conv1d: expected a 3-D in"),
    (lambda: F.conv1d(np.zeros((2, 3, 5)), np.zeros((1, 3, 2, 2))), "conv1d: expected a 3-D we"),
    (lambda: F.conv1d(np.zeros((2, 3, 5)), np.zeros((1, 3, 2)), stride=0), "conv1d: stride must"),
    (lambda: F.max_pool1d(np.zeros((2, 3, 5, 5)), 2), "max_pool1d: expected a 3-D input"),
    (lambda: F.avg_pool1d(np.zeros((2, 3, 5)), (2, 2)), "avg_pool1d: kernel_size must"),
])
def test_bad_arguments_name_the_op(call, message):
    with pytest.raises(ValueError, match=message):
        call()
