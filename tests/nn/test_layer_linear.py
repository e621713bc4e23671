"""F.linear and nn.Linear: forward/backward against PyTorch, finite differences, double
backward, initialisation and input errors."""

import math

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def _pair(a, requires_grad=True):
    return (fovea.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


@pytest.mark.parametrize("xshape", [(7,), (5, 7), (2, 3, 7), (0, 7)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_forward_and_backward(xshape, bias):
    rng = np.random.default_rng(0)
    x, tx = _pair(rng.standard_normal(xshape))
    w, tw = _pair(rng.standard_normal((4, 7)))
    b, tb = _pair(rng.standard_normal(4)) if bias else (None, None)
    y = F.linear(x, w, b)
    ty = torch.nn.functional.linear(tx, tw, tb)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(ty.shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    for a, ta in ((x, tx), (w, tw)) + (((b, tb),) if bias else ()):
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_linear_gradcheck_all_inputs():
    rng = np.random.default_rng(1)
    x = fovea.tensor(rng.standard_normal((3, 2, 5)), requires_grad=True)
    w = fovea.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    b = fovea.tensor(rng.standard_normal(4), requires_grad=True)
    assert fovea.gradcheck(F.linear, [x, w, b]) < 1e-7


def test_linear_double_backward_matches_torch():
    rng = np.random.default_rng(2)
    x, tx = _pair(rng.standard_normal((3, 5)))
    w, tw = _pair(rng.standard_normal((4, 5)))
    b, tb = _pair(rng.standard_normal(4))
    g = rng.standard_normal((3, 4))
    # A gradient penalty: ‖d(Σ g ⊙ tanh(linear))/dx‖², differentiated w.r.t. x, w and b.
    gx, = fovea.grad((F.linear(x, w, b).tanh() * fovea.tensor(g)).sum(), x, create_graph=True)
    (gx * gx).sum().backward()
    tgx, = torch.autograd.grad((torch.tanh(torch.nn.functional.linear(tx, tw, tb)) *
                                torch.tensor(g)).sum(), tx, create_graph=True)
    (tgx * tgx).sum().backward()
    for a, ta in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_linear_keeps_float32():
    layer = nn.Linear(3, 2)
    y = layer(fovea.randn(4, 3))
    assert y.dtype == np.float32 and layer.weight.dtype == np.float32


def test_linear_default_init_bounds_and_spread():
    fovea.manual_seed(0)
    layer = nn.Linear(400, 300, dtype=np.float64)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    bound = 1 / math.sqrt(400)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-a, a) has variance a²/3 (torch: kaiming_uniform_(a=√5) gives the same bound).
    assert abs(w.var() - bound ** 2 / 3) < 0.02 * bound ** 2 / 3
    tl = torch.nn.Linear(400, 300)
    assert np.abs(tl.weight.detach().numpy()).max() <= bound


def test_linear_module_matches_torch_with_loaded_weights():
    rng = np.random.default_rng(3)
    tl = torch.nn.Linear(6, 3).double()
    layer = nn.Linear(6, 3, dtype=np.float64)
    layer.load_state_dict(tl.state_dict())
    x = rng.standard_normal((4, 6))
    np.testing.assert_allclose(layer(fovea.tensor(x)).detach().numpy(),
                               tl(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    assert "in_features=6, out_features=3, bias=True" in repr(layer)


def test_linear_without_bias_registers_none():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None and list(layer.state_dict()) == ["weight"]


def test_linear_errors_name_the_layer_and_shapes():
    layer = nn.Linear(3, 8)
    with pytest.raises(ValueError, match=r"Linear\(3, 8\): expected input with last dimension 3, "
                                         r"got shape \(4, 5\)"):
        layer(fovea.randn(4, 5))
    with pytest.raises(TypeError, match=r"Linear\(3, 8\): expected input of dtype float32"):
        layer(fovea.randn(4, 3, dtype=np.float64))
    with pytest.raises(TypeError, match="expected a Tensor"):
        layer(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="weight must be 2-D"):
        F.linear(fovea.randn(2, 3), fovea.randn(3))
    with pytest.raises(ValueError, match=r"bias must be a float32 tensor of shape \(2,\)"):
        F.linear(fovea.randn(2, 3), fovea.randn(2, 3), fovea.randn(3))
