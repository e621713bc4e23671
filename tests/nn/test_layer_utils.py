"""Gradient clipping and parameter vectors against PyTorch."""

import math

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from fovea.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def _params_with_grads(scale, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    ours, theirs = [], []
    for s in shapes:
        a, g = rng.standard_normal(s), rng.standard_normal(s) * scale
        p = nn.Parameter(fovea.tensor(a))
        p.grad = fovea.tensor(g)
        tp = torch.nn.Parameter(torch.tensor(a))
        tp.grad = torch.tensor(g)
        ours.append(p)
        theirs.append(tp)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_clip_grad_norm_matches_torch(norm_type, scale):
    ours, theirs = _params_with_grads(scale)
    total = clip_grad_norm_(ours, 1.0, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-12)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_skips_missing_grads_and_checks_finiteness():
    p, q = nn.Parameter(fovea.ones(3)), nn.Parameter(fovea.ones(2))
    p.grad = fovea.tensor([3.0, 4.0, 0.0])
    assert clip_grad_norm_([p, q], 10.0).item() == pytest.approx(5.0)
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8, 0.0], rtol=1e-5)
    p.grad = fovea.tensor([np.inf, 1.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(p, -1.0)


def test_clip_grad_value_matches_torch():
    ours, theirs = _params_with_grads(3.0, seed=1)
    clip_grad_value_(ours, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy())
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(ours, -1)


def test_parameters_to_vector_and_back_match_torch():
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Linear(4, 2, dtype=np.float64))
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)).double()
    model.load_state_dict(tmodel.state_dict())
    vec = parameters_to_vector(model.parameters())
    np.testing.assert_array_equal(vec.detach().numpy(),
                                  torch.nn.utils.parameters_to_vector(tmodel.parameters())
                                  .detach().numpy())
    # Differentiable: d(v·c)/dθ = c, scattered back to the parameters.
    c = np.arange(vec.shape[0], dtype=np.float64)
    (vec * fovea.tensor(c)).sum().backward()
    np.testing.assert_array_equal(model[0].weight.grad.numpy().ravel(), c[:12])
    new = np.linspace(-1, 1, vec.shape[0])
    vector_to_parameters(fovea.tensor(new), model.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tmodel.parameters())
    for (k, v), (tk, tv) in zip(model.state_dict().items(), tmodel.state_dict().items()):
        assert k == tk
        np.testing.assert_array_equal(v.numpy(), tv.numpy())
    with pytest.raises(ValueError, match="vec has 3 elements but the parameters have 26"):
        vector_to_parameters(fovea.zeros(3), model.parameters())
