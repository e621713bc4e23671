"""nn/functional/regularization.py: the weight penalties against their formulas (and
PyTorch's weight decay) through the shared harness, max-norm against torch.renorm and on
every device; errors."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F
from oracle import check_op, devices, needs_torch, to_device, torch


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((3, 4)), rng.standard_normal(5)]


@pytest.mark.parametrize("name", ["l2", "l1", "elastic_net", "l2_one_tensor"])
def test_penalties_match_their_formulas(name):
    penalties = {
        "l2": (lambda a, b: F.l2_penalty([a, b], 0.3),
               lambda a, b: 0.3 * ((a ** 2).sum() + (b ** 2).sum())),
        "l1": (lambda a, b: F.l1_penalty([a, b], 0.2),
               lambda a, b: 0.2 * (abs(a).sum() + abs(b).sum())),
        "elastic_net": (lambda a, b: F.elastic_net_penalty([a, b], l1=0.1, l2=0.4),
                        lambda a, b: sum(0.4 * (w ** 2).sum() + 0.1 * abs(w).sum()
                                         for w in (a, b))),
        "l2_one_tensor": (lambda a, b: F.l2_penalty(a, 1.0), lambda a, b: (a ** 2).sum()),
    }
    fn, formula = penalties[name]
    # The formula is written with operators only: it runs on NumPy arrays and torch tensors.
    check_op(fn, formula, _arrays(), numpy_fn=formula, rtol=1e-14, atol=0,
             grad_mask=[True, name != "l2_one_tensor"])


@needs_torch
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


def _renorm(a, dim, c, eps=1e-7):
    """torch.renorm(a, 2, dim, c) in NumPy: slices along dim with norm > c rescaled to c."""
    axes = tuple(i for i in range(a.ndim) if i != dim % a.ndim)
    norms = np.sqrt((a ** 2).sum(axes, keepdims=True))
    return a * np.where(norms > c, c / (norms + eps), 1.0)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_norm_matches_renorm(dim, device):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((5, 4, 3)) * rng.uniform(0.1, 2, (5, 1, 1))
    w = nn.Parameter(to_device(a, device))
    out = F.max_norm_(w, 1.5, dim=dim)
    assert out is w and w.requires_grad and w.device == device
    np.testing.assert_allclose(np.asarray(w.detach().numpy()), _renorm(a, dim, 1.5), rtol=1e-12)
    if torch is not None:
        expected = torch.renorm(torch.tensor(a), 2, dim, 1.5).numpy()
        np.testing.assert_allclose(np.asarray(w.detach().numpy()), expected, rtol=1e-12)


def test_max_norm_on_linear_weight_bounds_each_neurons_incoming_weights():
    layer = nn.Linear(10, 6, dtype=np.float64)
    with fovea.no_grad():
        layer.weight.mul_(20.0)
    F.max_norm_(layer.weight, 2.0)
    norms = np.linalg.norm(layer.weight.detach().numpy(), axis=1)
    np.testing.assert_allclose(norms, 2.0, rtol=1e-6)


def test_regularization_errors():
    ws = [fovea.tensor(a, requires_grad=True) for a in _arrays()]
    with pytest.raises(ValueError, match="reg must be a non-negative number"):
        F.l2_penalty(ws, -1.0)
    with pytest.raises(TypeError, match="params must be Tensors"):
        F.l1_penalty([np.zeros(3)], 1.0)
    with pytest.raises(ValueError, match="params is empty"):
        F.l1_penalty([], 1.0)
    with pytest.raises(ValueError, match="max_norm must be positive"):
        F.max_norm_(fovea.randn(3, 3), 0.0)
