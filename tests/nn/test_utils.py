"""nn/utils: gradient clipping and parameter vectors against PyTorch and against their
formulas (so they are checked without PyTorch too), on every device."""

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
from oracle import devices, needs_torch, to_device, torch

SHAPES = [(3, 4), (4,), (2, 2, 2)]


def _grads(scale, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) * scale for s in SHAPES]


def _params(grads, device="cpu"):
    """Parameters (their values do not matter) holding ``grads`` as .grad, on ``device``."""
    params = []
    for g in grads:
        p = nn.Parameter(to_device(np.zeros(g.shape), device))
        p.grad = to_device(g, device)
        params.append(p)
    return params


def _clipped_by_formula(grads, max_norm, norm_type):
    flat = np.concatenate([g.ravel() for g in grads])
    total = np.abs(flat).max() if math.isinf(norm_type) else \
        (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    coef = min(max_norm / (total + 1e-6), 1.0)
    return total, [g * coef for g in grads]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_clip_grad_norm_matches_its_formula(norm_type, scale, device):
    grads = _grads(scale)
    params = _params(grads, device)
    total = clip_grad_norm_(params, 1.0, norm_type)
    expected_total, expected = _clipped_by_formula(grads, 1.0, norm_type)
    assert total.device == device and total.item() == pytest.approx(expected_total, rel=1e-12)
    for p, e in zip(params, expected):
        assert p.grad.device == device
        np.testing.assert_allclose(np.asarray(p.grad.numpy()), e, rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_clip_grad_norm_matches_torch(norm_type, scale):
    grads = _grads(scale)
    params = _params(grads)
    theirs = []
    for g in grads:
        tp = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64))
        tp.grad = torch.tensor(g)
        theirs.append(tp)
    total = clip_grad_norm_(params, 1.0, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-12)
    for p, tp in zip(params, theirs):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_skips_missing_grads_and_checks_finiteness():
    p, q = nn.Parameter(fovea.ones(3)), nn.Parameter(fovea.ones(2))
    p.grad = fovea.tensor([3.0, 4.0, 0.0])
    assert clip_grad_norm_([p, q], 10.0).item() == pytest.approx(5.0)
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8, 0.0], rtol=1e-5)
    assert clip_grad_norm_([q], 1.0).item() == 0.0
    p.grad = fovea.tensor([np.inf, 1.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(p, -1.0)


@pytest.mark.parametrize("device", devices())
def test_clip_grad_value_clips_elementwise(device):
    grads = _grads(3.0, seed=1)
    params = _params(grads, device)
    clip_grad_value_(params, 0.5)
    for p, g in zip(params, grads):
        assert p.grad.device == device
        np.testing.assert_array_equal(np.asarray(p.grad.numpy()), np.clip(g, -0.5, 0.5))
    if torch is not None:
        theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
        for tp, g in zip(theirs, grads):
            tp.grad = torch.tensor(g)
        torch.nn.utils.clip_grad_value_(theirs, 0.5)
        for p, tp in zip(params, theirs):
            np.testing.assert_array_equal(np.asarray(p.grad.numpy()), tp.grad.numpy())
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(params, -1)


@needs_torch
def test_parameters_to_vector_and_back_match_torch():
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Linear(4, 2, dtype=np.float64))
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)).double()
    model.load_state_dict(tmodel.state_dict())
    vec = parameters_to_vector(model.parameters())
    np.testing.assert_array_equal(vec.detach().numpy(),
                                  torch.nn.utils.parameters_to_vector(tmodel.parameters())
                                  .detach().numpy())
    new = np.linspace(-1, 1, vec.shape[0])
    vector_to_parameters(fovea.tensor(new), model.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tmodel.parameters())
    for (k, v), (tk, tv) in zip(model.state_dict().items(), tmodel.state_dict().items()):
        assert k == tk
        np.testing.assert_array_equal(v.numpy(), tv.numpy())


@pytest.mark.parametrize("device", devices())
def test_parameters_to_vector_is_differentiable_and_round_trips(device):
    values = _grads(1.0, seed=2)
    params = [nn.Parameter(to_device(v, device)) for v in values]
    vec = parameters_to_vector(params)
    assert vec.device == device
    np.testing.assert_array_equal(np.asarray(vec.detach().numpy()),
                                  np.concatenate([v.ravel() for v in values]))
    # d(v·c)/dθ = c, scattered back to the parameters.
    c = np.arange(vec.shape[0], dtype=np.float64)
    (vec * to_device(c, device)).sum().backward()
    np.testing.assert_array_equal(np.asarray(params[0].grad.numpy()).ravel(), c[:12])
    new = np.linspace(-1, 1, vec.shape[0])
    vector_to_parameters(to_device(new, device), params)
    assert params[1].device == device
    np.testing.assert_array_equal(np.asarray(params[1].detach().numpy()), new[12:16])
    with pytest.raises(ValueError, match="vec has 3 elements but the parameters have 24"):
        vector_to_parameters(fovea.zeros(3), params)
