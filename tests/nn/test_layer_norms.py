"""Layer norm and group norm against PyTorch; finite differences; module checks."""

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


def _check_grads(pairs, rtol=1e-9):
    for a, ta in pairs:
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=rtol, atol=1e-11)


@pytest.mark.parametrize("shape,norm", [((4, 6), (6,)), ((2, 3, 5), (5,)),
                                        ((2, 3, 4, 5), (4, 5)), ((3, 2, 4), (2, 4))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, norm, affine):
    rng = np.random.default_rng(0)
    x, tx = _pair(rng.standard_normal(shape) * 2 + 1)
    w, tw = _pair(rng.standard_normal(norm)) if affine else (None, None)
    b, tb = _pair(rng.standard_normal(norm)) if affine else (None, None)
    y = F.layer_norm(x, norm, w, b, eps=1e-4)
    ty = torch.nn.functional.layer_norm(tx, norm, tw, tb, eps=1e-4)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    _check_grads([(x, tx)] + ([(w, tw), (b, tb)] if affine else []))


@pytest.mark.parametrize("shape,groups", [((3, 6), 2), ((2, 6, 5), 3), ((2, 4, 3, 3), 2),
                                          ((2, 4, 3, 3), 4), ((2, 4, 3, 3), 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_torch(shape, groups, affine):
    rng = np.random.default_rng(1)
    c = shape[1]
    x, tx = _pair(rng.standard_normal(shape) * 2 - 1)
    w, tw = _pair(rng.standard_normal(c)) if affine else (None, None)
    b, tb = _pair(rng.standard_normal(c)) if affine else (None, None)
    y = F.group_norm(x, groups, w, b, eps=1e-4)
    ty = torch.nn.functional.group_norm(tx, groups, tw, tb, eps=1e-4)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    _check_grads([(x, tx)] + ([(w, tw), (b, tb)] if affine else []))


def test_layer_and_group_norm_gradcheck():
    rng = np.random.default_rng(2)
    x = fovea.tensor(rng.standard_normal((3, 4, 5)), requires_grad=True)
    w = fovea.tensor(rng.standard_normal(5), requires_grad=True)
    b = fovea.tensor(rng.standard_normal(5), requires_grad=True)
    assert fovea.gradcheck(lambda x, w, b: F.layer_norm(x, 5, w, b), [x, w, b], eps=1e-5) < 1e-7
    x2 = fovea.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    w2 = fovea.tensor(rng.standard_normal(4), requires_grad=True)
    assert fovea.gradcheck(lambda x, w: F.group_norm(x, 2, w), [x2, w2], eps=1e-5) < 1e-7


def test_layer_norm_double_backward_matches_torch():
    rng = np.random.default_rng(3)
    x, tx = _pair(rng.standard_normal((3, 5)))
    w, tw = _pair(rng.standard_normal(5))
    g = rng.standard_normal((3, 5))
    gx, = fovea.grad((F.layer_norm(x, 5, w).tanh() * fovea.tensor(g)).sum(), x,
                     create_graph=True)
    (gx * gx).sum().backward()
    tgx, = torch.autograd.grad((torch.nn.functional.layer_norm(tx, (5,), tw).tanh() *
                                torch.tensor(g)).sum(), tx, create_graph=True)
    (tgx * tgx).sum().backward()
    _check_grads([(x, tx), (w, tw)])


def test_norm_modules_match_torch_and_check_inputs():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((2, 4, 3, 3))
    ln, tln = nn.LayerNorm((3, 3), dtype=np.float64), torch.nn.LayerNorm((3, 3)).double()
    gn, tgn = nn.GroupNorm(2, 4, dtype=np.float64), torch.nn.GroupNorm(2, 4).double()
    for m, tm in ((ln, tln), (gn, tgn)):
        with torch.no_grad():
            for p in tm.parameters():
                p.copy_(torch.tensor(rng.standard_normal(p.shape)))
        m.load_state_dict(tm.state_dict())
        assert list(m.state_dict()) == list(tm.state_dict())
        np.testing.assert_allclose(m(fovea.tensor(a)).detach().numpy(),
                                   tm(torch.tensor(a)).detach().numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match=r"LayerNorm\(8\): expected input of shape \(\*, 8\), "
                                         r"got \(2, 5\)"):
        nn.LayerNorm(8)(fovea.randn(2, 5))
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 4\): expected input of shape "
                                         r"\(N, 4, \*\), got \(2, 6, 3\)"):
        nn.GroupNorm(2, 4)(fovea.randn(2, 6, 3))
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="positive divisor"):
        F.group_norm(fovea.randn(2, 4), 3)
