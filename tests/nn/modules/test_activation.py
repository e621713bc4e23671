"""nn/modules/activation.py: the activation layers against PyTorch's (through the shared
harness), PReLU's parameter and Maxout, and the layers' input errors."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F
from oracle import check_op, needs_torch, torch

# (fovea layer, the name and arguments of PyTorch's)
MODULES = [
    (nn.ReLU(), "ReLU", ()), (nn.LeakyReLU(0.1), "LeakyReLU", (0.1,)),
    (nn.ELU(0.7), "ELU", (0.7,)), (nn.SELU(), "SELU", ()),
    (nn.GELU(), "GELU", ()), (nn.GELU("tanh"), "GELU", ("tanh",)),
    (nn.Sigmoid(), "Sigmoid", ()), (nn.Tanh(), "Tanh", ()),
    (nn.Softplus(2.0, 10.0), "Softplus", (2.0, 10.0)), (nn.SiLU(), "SiLU", ()),
    (nn.Hardtanh(-0.5, 2.0), "Hardtanh", (-0.5, 2.0)),
    (nn.Softmax(dim=1), "Softmax", (1,)), (nn.LogSoftmax(dim=-1), "LogSoftmax", (-1,)),
    (nn.ReLU6(), "ReLU6", ()), (nn.Hardswish(), "Hardswish", ()),
    (nn.Mish(), "Mish", ()), (nn.CELU(), "CELU", ()), (nn.Softsign(), "Softsign", ()),
    (nn.Softmin(dim=1), "Softmin", (1,)), (nn.LogSigmoid(), "LogSigmoid", ()),
    (nn.Tanhshrink(), "Tanhshrink", ()), (nn.Threshold(0.3, -1.0), "Threshold", (0.3, -1.0)),
    (nn.GLU(dim=0), "GLU", (0,)), (nn.Hardshrink(0.7), "Hardshrink", (0.7,)),
    (nn.Softshrink(0.7), "Softshrink", (0.7,)),
]


@pytest.mark.parametrize("m,tname,targs", MODULES, ids=[type(m).__name__ for m, _, _ in MODULES])
def test_activation_modules_match_torch(m, tname, targs):
    a = np.random.default_rng(10).standard_normal((4, 5, 3)) * 3
    check_op(m, lambda x: getattr(torch.nn, tname)(*targs)(x), [a],
             tol={"forward": (1e-12, 1e-15), "grad": (1e-11, 1e-15)})
    with pytest.raises(TypeError, match=f"{type(m).__name__}: expected a floating input"):
        m(fovea.tensor([1, 2, 3]))


def test_prelu_module_starts_at_a_quarter_and_matches_the_functional():
    m = nn.PReLU(2)
    assert np.allclose(m.weight.detach().numpy(), 0.25)
    x = fovea.randn(3, 2, 4)
    np.testing.assert_array_equal(m(x).detach().numpy(), F.prelu(x, m.weight).detach().numpy())
    with pytest.raises(ValueError, match=r"PReLU\(num_parameters=2\): expected input of shape "
                                         r"\(N, 2, \*\), got \(3, 5\)"):
        m(fovea.randn(3, 5))


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


def test_hardsigmoid_module_matches_torch():
    # PyTorch's gradient uses 1/6 rounded to float32 (see the functional test).
    a = np.random.default_rng(10).standard_normal((4, 6)) * 3
    check_op(nn.Hardsigmoid(), lambda x: torch.nn.Hardsigmoid()(x), [a],
             tol={"forward": (1e-12, 1e-15), "grad": (1e-7, 1e-15)})


REPRS = [
    ("ReLU", ()), ("ReLU", (True,)), ("ReLU6", ()), ("ReLU6", (True,)),
    ("Hardtanh", (-2.0, 3.0, True)), ("Hardswish", ()), ("Hardsigmoid", (True,)),
    ("SiLU", (True,)), ("Mish", ()), ("Mish", (True,)), ("ELU", (0.5, True)),
    ("CELU", (2.0,)), ("SELU", (True,)), ("LeakyReLU", (0.2, True)),
    ("Threshold", (0.1, 20.0)), ("Threshold", (0.1, 20, True)), ("GLU", ()), ("GLU", (1,)),
    ("Softmin", (1,)), ("Softsign", ()), ("LogSigmoid", ()), ("Tanhshrink", ()),
    ("Hardshrink", ()), ("Softshrink", (0.3,)), ("GELU", ("tanh",)),
]


@needs_torch
@pytest.mark.parametrize("name,args", REPRS, ids=[f"{n}{a}" for n, a in REPRS])
def test_activation_module_reprs_match_torch(name, args):
    assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_inplace_modules_write_into_their_input():
    x = fovea.tensor(np.array([-1.0, 0.5, 8.0]))
    for layer, want in ((nn.ReLU6(inplace=True), [0.0, 0.5, 6.0]),
                        (nn.Threshold(1.0, -3.0, inplace=True), [-3.0, -3.0, 6.0])):
        assert layer(x) is x and x.tolist() == want
