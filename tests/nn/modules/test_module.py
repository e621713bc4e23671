"""nn/modules/module.py (and the containers): a PyTorch state_dict loaded into the
equivalent fovea model gives PyTorch's outputs and gradients in train and eval mode;
train/eval reach every submodule; a small net overfits a small batch; loading a state dict,
casting and zeroing gradients keep each parameter on its device."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F
from oracle import devices, needs_torch, to_device, torch


def _models():
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8),
                                 torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    return model, tmodel


@needs_torch
def test_torch_state_dict_gives_torchs_outputs_in_train_and_eval():
    model, tmodel = _models()
    rng = np.random.default_rng(0)
    # Give the batch norm non-trivial running statistics first.
    tmodel.train()
    for _ in range(3):
        tmodel(torch.tensor(rng.standard_normal((10, 5)) * 2 + 1))
    model.double().load_state_dict(tmodel.state_dict())
    assert list(model.state_dict()) == list(tmodel.state_dict())
    a = rng.standard_normal((6, 5))
    for train in (False, True):
        model.train(train)
        tmodel.train(train)
        x = fovea.tensor(a, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        y, ty = model(x), tmodel(tx)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        target = rng.integers(0, 3, 6)
        F.cross_entropy(y, fovea.tensor(target)).backward()
        torch.nn.functional.cross_entropy(ty, torch.tensor(target)).backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
        tparams = dict(tmodel.named_parameters())
        for name, p in model.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-9,
                                       atol=1e-12)
        model.zero_grad()
        tmodel.zero_grad()
    # The running statistics moved identically during the training-mode pass.
    for k, v in tmodel.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[k].numpy(), v.numpy(), rtol=1e-12)


def test_train_eval_propagates_to_dropout_and_batch_norm():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4))
    x = fovea.randn(8, 4)
    model.eval()
    assert not model[1].training and not model[2].training
    np.testing.assert_array_equal(model(x).detach().numpy(), model(x).detach().numpy())
    model.train()
    assert model[1].training


def test_small_net_overfits_a_small_batch():
    rng = np.random.default_rng(3)
    fovea.manual_seed(0)
    x = fovea.tensor(rng.standard_normal((16, 10)).astype(np.float32))
    y = fovea.tensor(rng.integers(0, 4, 16))
    model = nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.GELU(), nn.Dropout(0.1),
                          nn.Linear(32, 4))
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(150):
        loss = loss_fn(model(x), y) + F.l2_penalty([model[0].weight, model[4].weight], 1e-4)
        model.zero_grad()
        loss.backward()
        with fovea.no_grad():
            for p in model.parameters():
                p.sub_(p.grad * 0.1)
    model.eval()
    accuracy = (model(x).argmax(1).numpy() == y.numpy()).mean()
    assert accuracy == 1.0 and loss.item() < 0.1


def _linear_on(device):
    """nn.Linear(3, 2) in float64 whose parameters live on ``device``."""
    layer = nn.Linear(3, 2, dtype=np.float64)
    layer.weight = nn.Parameter(to_device(layer.weight.detach().numpy(), device))
    layer.bias = nn.Parameter(to_device(layer.bias.detach().numpy(), device))
    return layer


@pytest.mark.parametrize("device", devices())
def test_load_state_dict_copies_onto_each_parameters_device(device):
    layer = _linear_on(device)
    w, b = np.arange(6.0).reshape(2, 3), np.array([1.0, -1.0])
    layer.load_state_dict({"weight": w, "bias": b})  # from host arrays
    assert layer.weight.device == device and layer.bias.device == device
    np.testing.assert_array_equal(np.asarray(layer.weight.detach().numpy()), w)
    other = _linear_on(device)
    other.load_state_dict(layer.state_dict())  # from fovea tensors: copies, not shares
    assert other.weight.device == device
    np.testing.assert_array_equal(np.asarray(other.bias.detach().numpy()), b)
    with fovea.no_grad():
        layer.bias.fill_(0.0)
    np.testing.assert_array_equal(np.asarray(other.bias.detach().numpy()), b)


@pytest.mark.parametrize("device", devices())
def test_cast_and_zero_grad_keep_the_device(device):
    layer = _linear_on(device)
    out = layer(to_device(np.ones((4, 3)), device))
    assert out.device == device
    out.sum().backward()
    layer.zero_grad(set_to_none=False)
    assert layer.weight.grad.device == device and not layer.weight.grad.numpy().any()
    layer.float()
    assert layer.weight.dtype == np.float32 and layer.weight.device == device


def test_load_state_dict_names_every_problem():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"size mismatch for weight.*\n.*missing keys: 'bias'"):
        layer.load_state_dict({"weight": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="unexpected keys: 'extra'"):
        layer.load_state_dict({**layer.state_dict(), "extra": np.zeros(1)})
