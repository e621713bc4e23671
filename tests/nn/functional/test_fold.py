"""nn/functional/fold.py: unfold (im2col) and fold (col2im) against PyTorch through the
shared harness (every window parameter, gradients of any order, the stand-in device), an
explicit-loop reference, the adjoint identity, conv2d as unfold + matmul, and errors."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, torch

TF = torch.nn.functional if torch else None

# (input shape, kernel_size, dilation, padding, stride)
CASES = [
    ((2, 3, 5, 6), 2, 1, 0, 1), ((2, 2, 6, 7), (2, 3), 1, 1, 2), ((1, 2, 7, 7), 3, 2, 1, 1),
    ((2, 1, 6, 5), (3, 2), (1, 2), (2, 0), (2, 1)), ((3, 5, 4), 2, 1, 0, 1),
]


def _unfold_ref(a, k, d, p, s):
    """im2col with explicit loops over windows (an independent reference)."""
    def pair(v):
        return (v, v) if isinstance(v, int) else v
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = map(pair, (k, d, p, s))
    x = np.pad(a, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, h, w = x.shape
    ho, wo = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    cols = np.zeros((n, c * kh * kw, ho * wo))
    for oy in range(ho):
        for ox in range(wo):
            patch = x[:, :, oy * sh:oy * sh + dh * (kh - 1) + 1:dh,
                      ox * sw:ox * sw + dw * (kw - 1) + 1:dw]
            cols[:, :, oy * wo + ox] = patch.reshape(n, -1)
    return cols


@pytest.mark.parametrize("shape,k,d,p,s", CASES)
def test_unfold_matches_torch(shape, k, d, p, s):
    a = np.random.default_rng(51).standard_normal(shape)
    ref = None if len(shape) == 3 else (lambda x: _unfold_ref(x, k, d, p, s))
    check_op(lambda x: F.unfold(x, k, d, p, s), lambda x: TF.unfold(x, k, d, p, s), [a],
             numpy_fn=ref)


@pytest.mark.parametrize("shape,k,d,p,s", CASES)
def test_fold_matches_torch_and_is_the_adjoint_of_unfold(shape, k, d, p, s):
    rng = np.random.default_rng(52)
    x = rng.standard_normal(shape)
    cols_shape = F.unfold(fovea.tensor(x), k, d, p, s).shape
    c = rng.standard_normal(cols_shape)
    size = shape[-2:]
    check_op(lambda t: F.fold(t, size, k, d, p, s), lambda t: TF.fold(t, size, k, d, p, s), [c])
    # <unfold(x), c> = <x, fold(c)>
    lhs = np.sum(F.unfold(fovea.tensor(x), k, d, p, s).numpy() * c)
    rhs = np.sum(x * F.fold(fovea.tensor(c), size, k, d, p, s).numpy())
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


def test_conv2d_is_unfold_then_a_matrix_product():
    rng = np.random.default_rng(53)
    x, w = fovea.tensor(rng.standard_normal((2, 3, 6, 5))), fovea.tensor(rng.standard_normal(
        (4, 3, 3, 3)))
    cols = F.unfold(x, 3, padding=1, stride=2)
    y = (w.reshape(4, -1) @ cols).reshape(2, 4, 3, 3)
    np.testing.assert_allclose(y.numpy(), F.conv2d(x, w, padding=1, stride=2).numpy(),
                               rtol=1e-12, atol=1e-12)


def test_fold_and_unfold_errors():
    with pytest.raises(RuntimeError, match=r"fold: given output_size=\(4, 5\) .* expected 3 \* "
                                           r"4 = 12 sliding blocks .* got 10"):
        F.fold(fovea.randn(1, 4, 10), (4, 5), 2)
    with pytest.raises(RuntimeError, match=r"divisible by the product of kernel_size \(4\)"):
        F.fold(fovea.randn(1, 6, 12), (4, 5), 2)
    with pytest.raises(RuntimeError, match="unfold: expected a 3-d .* got shape"):
        F.unfold(fovea.randn(2, 3), 2)
    with pytest.raises(RuntimeError, match="output would be empty"):
        F.unfold(fovea.randn(1, 1, 2, 2), 3)
