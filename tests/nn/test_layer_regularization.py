"""Weight penalties (hand-worked formulas, PyTorch's weight-decay relation) and max-norm
(against torch.renorm)."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def _weights(seed=0):
    rng = np.random.default_rng(seed)
    return [fovea.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 4), (5,))]


def test_penalties_values_and_gradients_match_formulas():
    ws = _weights()
    arrays = [w.detach().numpy() for w in ws]
    l2 = F.l2_penalty(ws, 0.3)
    assert l2.item() == pytest.approx(0.3 * sum((a ** 2).sum() for a in arrays), rel=1e-14)
    l2.backward()
    for w, a in zip(ws, arrays):
        np.testing.assert_allclose(w.grad.numpy(), 2 * 0.3 * a, rtol=1e-14)
    ws = _weights()
    l1 = F.l1_penalty(ws, 0.2)
    assert l1.item() == pytest.approx(0.2 * sum(np.abs(a).sum() for a in arrays), rel=1e-14)
    l1.backward()
    for w, a in zip(ws, arrays):
        np.testing.assert_allclose(w.grad.numpy(), 0.2 * np.sign(a), rtol=1e-14)
    ws = _weights()
    en = F.elastic_net_penalty(ws, l1=0.1, l2=0.4)
    expected = sum(0.4 * (a ** 2).sum() + 0.1 * np.abs(a).sum() for a in arrays)
    assert en.item() == pytest.approx(expected, rel=1e-14)
    assert F.l2_penalty(ws[0], 1.0).item() == pytest.approx((arrays[0] ** 2).sum())


def test_l2_penalty_with_half_weight_decay_gives_torchs_sgd_step():
    # SGD(weight_decay=wd) adds wd·W to the gradient = the gradient of l2_penalty(reg=wd/2).
    rng = np.random.default_rng(1)
    a, wd, lr = rng.standard_normal((3, 4)), 0.1, 0.5
    tw = torch.tensor(a, requires_grad=True)
    opt = torch.optim.SGD([tw], lr=lr, weight_decay=wd)
    (tw.sum() * 0).backward()
    opt.step()
    w = fovea.tensor(a, requires_grad=True)
    F.l2_penalty([w], wd / 2).backward()
    np.testing.assert_allclose(a - lr * w.grad.numpy(), tw.detach().numpy(), rtol=1e-14)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_norm_matches_torch_renorm(dim):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((5, 4, 3)) * rng.uniform(0.1, 2, (5, 1, 1))
    w = nn.Parameter(fovea.tensor(a))
    out = F.max_norm_(w, 1.5, dim=dim)
    assert out is w and w.requires_grad
    expected = torch.renorm(torch.tensor(a), 2, dim, 1.5).numpy()
    np.testing.assert_allclose(w.detach().numpy(), expected, rtol=1e-12)
    axes = tuple(i for i in range(3) if i != dim % 3)
    norms = np.sqrt((w.detach().numpy() ** 2).sum(axes))
    assert (norms <= 1.5 + 1e-9).all()


def test_max_norm_on_linear_weight_bounds_each_neurons_incoming_weights():
    layer = nn.Linear(10, 6, dtype=np.float64)
    with fovea.no_grad():
        layer.weight.mul_(20.0)
    F.max_norm_(layer.weight, 2.0)
    norms = np.linalg.norm(layer.weight.detach().numpy(), axis=1)
    np.testing.assert_allclose(norms, 2.0, rtol=1e-6)


def test_regularization_errors():
    with pytest.raises(ValueError, match="reg must be a non-negative number"):
        F.l2_penalty(_weights(), -1.0)
    with pytest.raises(TypeError, match="params must be Tensors"):
        F.l1_penalty([np.zeros(3)], 1.0)
    with pytest.raises(ValueError, match="max_norm must be positive"):
        F.max_norm_(fovea.randn(3, 3), 0.0)
