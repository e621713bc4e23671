"""Activations (functional and modules) against PyTorch: values, gradients with a random
upstream gradient, second derivatives, kinks and extreme inputs; erf against math.erf."""

import math

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
TF = torch.nn.functional

# (id, fovea function, torch function)
ELEMENTWISE = [
    ("leaky_relu", lambda x: F.leaky_relu(x), lambda x: TF.leaky_relu(x)),
    ("leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    ("elu", lambda x: F.elu(x), lambda x: TF.elu(x)),
    ("elu_0.5", lambda x: F.elu(x, 0.5), lambda x: TF.elu(x, 0.5)),
    ("selu", F.selu, TF.selu),
    ("gelu", F.gelu, TF.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda x: TF.gelu(x, approximate="tanh")),
    ("softplus", lambda x: F.softplus(x), lambda x: TF.softplus(x)),
    ("softplus_b2_t3", lambda x: F.softplus(x, 2.0, 3.0), lambda x: TF.softplus(x, 2.0, 3.0)),
    ("silu", F.silu, TF.silu),
    ("hardtanh", lambda x: F.hardtanh(x), lambda x: TF.hardtanh(x)),
    ("hardtanh_-2_0.5", lambda x: F.hardtanh(x, -2.0, 0.5), lambda x: TF.hardtanh(x, -2.0, 0.5)),
    ("sigmoid", F.sigmoid, torch.sigmoid),
    ("tanh", F.tanh, torch.tanh),
    ("erf", F.erf, torch.erf),
    ("erfc", F.erfc, torch.erfc),
]
IDS = [e[0] for e in ELEMENTWISE]


def _pair(a, requires_grad=True):
    return (fovea.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def _inputs(seed, shape=(4, 5, 3)):
    return np.random.default_rng(seed).standard_normal(shape) * 3


@pytest.mark.parametrize("name,fn,tfn", ELEMENTWISE, ids=IDS)
def test_activation_forward_backward_match_torch(name, fn, tfn):
    a = _inputs(0)
    x, tx = _pair(a)
    y, ty = fn(x), tfn(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-15)
    g = np.random.default_rng(1).standard_normal(a.shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("name,fn,tfn", ELEMENTWISE, ids=IDS)
def test_activation_second_derivative_matches_torch(name, fn, tfn):
    a = _inputs(2, (7,))
    x, tx = _pair(a)
    g = np.random.default_rng(3).standard_normal(a.shape)
    gx, = fovea.grad((fn(x) * fovea.tensor(g)).sum(), x, create_graph=True)
    tgx, = torch.autograd.grad((tfn(tx) * torch.tensor(g)).sum(), tx, create_graph=True)
    (tgx * tgx).sum().backward()
    if not gx.requires_grad:
        # Piecewise linear: the first derivative is constant in x, so the second one is 0.
        assert name.startswith(("leaky_relu", "hardtanh"))
        assert (tx.grad.numpy() == 0).all()
        return
    (gx * gx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name,fn,tfn", ELEMENTWISE, ids=IDS)
def test_activation_kinks_and_extremes_match_torch(name, fn, tfn):
    # The kinks of relu-like functions (0, ±1, -2, 0.5), softplus' threshold and huge inputs.
    a = np.array([0.0, -0.0, 1.0, -1.0, -2.0, 0.5, 1.5, 3.0, 20.0, 20.5, 1e3, -1e3, 40.0, -40.0])
    x, tx = _pair(a)
    y, ty = fn(x), tfn(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-15)
    y.backward(fovea.ones_like(y))
    ty.backward(torch.ones_like(ty))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("name,fn,tfn", ELEMENTWISE, ids=IDS)
def test_activation_keeps_float32(name, fn, tfn):
    a = _inputs(4).astype(np.float32)
    y = fn(fovea.tensor(a))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), tfn(torch.tensor(a)).numpy(), rtol=2e-6, atol=1e-6)


def test_erf_and_erfc_reach_float64_accuracy_against_math():
    rng = np.random.default_rng(5)
    xs = np.concatenate([rng.uniform(-7, 7, 5000), rng.uniform(-0.5, 0.5, 1000),
                         np.linspace(-30, 30, 601), [0.0, 0.46875, -0.46875, 4.0, -4.0, 1e-300]])
    erf = F.erf(fovea.tensor(xs)).numpy()
    erfc = F.erfc(fovea.tensor(xs)).numpy()
    ref = np.array([math.erf(v) for v in xs])
    refc = np.array([math.erfc(v) for v in xs])
    rel = np.abs(erf - ref) / np.maximum(np.abs(ref), 1e-300)
    assert rel.max() < 2e-15
    pos = refc > 1e-300
    relc = np.abs(erfc[pos] - refc[pos]) / refc[pos]
    assert relc.max() < 2e-15 and (erfc[~pos] < 1e-300).all()
    special = F.erf(fovea.tensor(np.array([np.inf, -np.inf, np.nan]))).numpy()
    assert special[0] == 1 and special[1] == -1 and np.isnan(special[2])


@pytest.mark.parametrize("shape,k", [((4, 3, 2, 2), 3), ((5, 6), 1), ((4, 1, 3), 1)])
def test_prelu_matches_torch(shape, k):
    rng = np.random.default_rng(6)
    x, tx = _pair(rng.standard_normal(shape))
    w, tw = _pair(rng.uniform(0.05, 0.5, k))
    y, ty = F.prelu(x, w), TF.prelu(tx, tw)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-13)
    g = rng.standard_normal(shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


def test_prelu_gradcheck_and_module():
    rng = np.random.default_rng(7)
    x = fovea.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    w = fovea.tensor(np.array([0.2, -0.3]), requires_grad=True)
    assert fovea.gradcheck(F.prelu, [x, w]) < 1e-7
    m = nn.PReLU(2)
    assert np.allclose(m.weight.detach().numpy(), 0.25)
    with pytest.raises(ValueError, match=r"PReLU\(num_parameters=2\): expected input of shape "
                                         r"\(N, 2, \*\), got \(3, 5\)"):
        m(fovea.randn(3, 5))


@pytest.mark.parametrize("shape,k,dim", [((4, 6), 2, 1), ((2, 6, 3, 3), 3, 1), ((3, 8), 4, -1)])
def test_maxout_matches_torch_reshape_max(shape, k, dim):
    rng = np.random.default_rng(8)
    x, tx = _pair(rng.standard_normal(shape))
    y = F.maxout(x, k, dim)
    d = dim % len(shape)
    tgrouped = tx.reshape(*shape[:d], shape[d] // k, k, *shape[d + 1:])
    ty = tgrouped.max(d + 1).values
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    g = rng.standard_normal(ty.shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_maxout_of_linear_is_max_of_affine_pieces():
    # Lecture 6: maxout(w1ᵀx + b1, w2ᵀx + b2) for one unit with two pieces.
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 3))
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    layer = nn.Sequential(nn.Linear(3, 2, dtype=np.float64), nn.Maxout(2))
    layer[0].load_state_dict({"weight": w, "bias": b})
    expected = np.maximum(x @ w[0] + b[0], x @ w[1] + b[1])[:, None]
    np.testing.assert_allclose(layer(fovea.tensor(x)).detach().numpy(), expected, rtol=1e-14)
    with pytest.raises(ValueError, match=r"Maxout\(2\): expected input whose dimension 1 is a "
                                         r"multiple of 2, got shape \(5, 3\)"):
        nn.Maxout(2)(fovea.randn(5, 3))


MODULES = [
    (nn.ReLU(), torch.nn.ReLU()), (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
    (nn.ELU(0.7), torch.nn.ELU(0.7)), (nn.SELU(), torch.nn.SELU()),
    (nn.GELU(), torch.nn.GELU()), (nn.GELU("tanh"), torch.nn.GELU("tanh")),
    (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.Tanh(), torch.nn.Tanh()),
    (nn.Softplus(2.0, 10.0), torch.nn.Softplus(2.0, 10.0)), (nn.SiLU(), torch.nn.SiLU()),
    (nn.Hardtanh(-0.5, 2.0), torch.nn.Hardtanh(-0.5, 2.0)),
    (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)), (nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(-1)),
]


@pytest.mark.parametrize("m,tm", MODULES, ids=[type(m).__name__ for m, _ in MODULES])
def test_activation_modules_match_torch(m, tm):
    a = _inputs(10)
    x, tx = _pair(a)
    y, ty = m(x), tm(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-15)
    g = np.random.default_rng(11).standard_normal(a.shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-11, atol=1e-15)
    with pytest.raises(TypeError, match=f"{type(m).__name__}: expected a floating input"):
        m(fovea.tensor([1, 2, 3]))


def test_activation_argument_errors():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        F.gelu(fovea.randn(3), approximate="fast")
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(fovea.randn(3), 1.0, -1.0)
    with pytest.raises(ValueError, match="num_pieces"):
        F.maxout(fovea.randn(3, 4), 0)
    with pytest.raises(ValueError, match=r"prelu: weight has 3 values"):
        F.prelu(fovea.randn(2, 4), fovea.randn(3))
