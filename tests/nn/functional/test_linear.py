"""nn/functional/linear.py: F.linear against PyTorch through the shared harness (forward,
gradients of input, weight and bias, finite differences, double backward, the stand-in
device) for inputs of any rank, with and without bias; float32; errors."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, torch


@pytest.mark.parametrize("xshape", [(7,), (5, 7), (2, 3, 7), (0, 7)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(xshape, bias):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(xshape), rng.standard_normal((4, 7))]
    if bias:
        arrays.append(rng.standard_normal(4))
    check_op(F.linear, lambda *a: torch.nn.functional.linear(*a), arrays, rtol=1e-12, atol=1e-12)


def test_linear_gradient_penalty_matches_torch():
    # ‖d(Σ g ⊙ tanh(linear))/dx‖², differentiated again w.r.t. x, W and b (a third derivative
    # in the harness' double backward).
    rng = np.random.default_rng(2)

    def penalty(lin, grad, tanh, enable_grad):
        def fn(x, w, b, g):
            with enable_grad():  # also under the finite differences' no_grad
                (gx,) = grad((tanh(lin(x, w, b)) * g).sum(), x, create_graph=True)
                return (gx * gx).sum()
        return fn

    fv = penalty(F.linear, fovea.grad, fovea.tanh, fovea.enable_grad)
    tv = penalty(lambda *a: torch.nn.functional.linear(*a),
                 lambda *a, **k: torch.autograd.grad(*a, **k), lambda t: torch.tanh(t),
                 lambda: torch.enable_grad())
    check_op(fv, tv, [rng.standard_normal((3, 5)), rng.standard_normal((4, 5)),
                      rng.standard_normal(4), rng.standard_normal((3, 4))],
             grad_mask=[True, True, True, False])


def test_linear_keeps_float32():
    x, w, b = fovea.randn(4, 3), fovea.randn(2, 3), fovea.randn(2)
    y = F.linear(x, w, b)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), x.numpy() @ w.numpy().T + b.numpy(), rtol=1e-6)


def test_linear_errors_name_the_shapes():
    with pytest.raises(ValueError, match="weight must be 2-D"):
        F.linear(fovea.randn(2, 3), fovea.randn(3))
    with pytest.raises(ValueError, match=r"bias must be a float32 tensor of shape \(2,\)"):
        F.linear(fovea.randn(2, 3), fovea.randn(2, 3), fovea.randn(3))
    with pytest.raises(ValueError, match=r"input of shape \(2, 4\) does not match weight"):
        F.linear(fovea.randn(2, 4), fovea.randn(2, 3))
    with pytest.raises(TypeError, match="same floating dtype"):
        F.linear(fovea.randn(2, 3, dtype=np.float64), fovea.randn(2, 3))
    with pytest.raises(TypeError, match="expected Tensors"):
        F.linear(np.zeros((2, 3)), fovea.randn(2, 3))
