"""nn/modules/linear.py: nn.Linear's initialisation (PyTorch's bounds), its forward with
PyTorch's weights loaded, float32 by default, no bias, and errors that name the layer."""

import math

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from oracle import needs_torch, torch


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


@needs_torch
def test_torchs_linear_has_the_same_init_bound():
    tl = torch.nn.Linear(400, 300)
    assert np.abs(tl.weight.detach().numpy()).max() <= 1 / math.sqrt(400)


@needs_torch
def test_linear_module_matches_torch_with_loaded_weights():
    tl = torch.nn.Linear(6, 3).double()
    layer = nn.Linear(6, 3, dtype=np.float64)
    layer.load_state_dict(tl.state_dict())
    x = np.random.default_rng(3).standard_normal((4, 6))
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
