"""Module.to / cpu / cuda / float / double / half / type against PyTorch: what is cast, what
keeps its identity, gradients and buffers, and moves between devices."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from oracle import devices, needs_torch, torch


def fovea_model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def torch_model():
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                               torch.nn.ReLU(), torch.nn.Linear(4, 2))


def dtypes_of(model):
    return {k: str(v.dtype).replace("torch.", "") for k, v in model.state_dict().items()}


@needs_torch
@pytest.mark.parametrize("call", ["to64", "to_kw", "double", "half", "float", "type64",
                                  "to_tensor", "to_cpu64"])
def test_casts_change_the_same_entries_as_torch_and_keep_parameter_identity(call):
    f, t = fovea_model(), torch_model()
    f_params, t_params = list(f.parameters()), list(t.parameters())
    ops = {
        "to64": (lambda m: m.to(fovea.float64), lambda m: m.to(torch.float64)),
        "to_kw": (lambda m: m.to(dtype=fovea.float64), lambda m: m.to(dtype=torch.float64)),
        "double": (lambda m: m.double(), lambda m: m.double()),
        "half": (lambda m: m.half(), lambda m: m.half()),
        "float": (lambda m: m.double().float(), lambda m: m.double().float()),
        "type64": (lambda m: m.type(fovea.float64), lambda m: m.type(torch.float64)),
        "to_tensor": (lambda m: m.to(fovea.zeros(1, dtype=fovea.float64)),
                      lambda m: m.to(torch.zeros(1, dtype=torch.float64))),
        "to_cpu64": (lambda m: m.to("cpu", fovea.float64),
                     lambda m: m.to("cpu", torch.float64)),
    }
    fo, to = ops[call]
    assert fo(f) is f and to(t) is t
    assert dtypes_of(f) == dtypes_of(t)
    for fp, tp, new_fp, new_tp in zip(f_params, t_params, f.parameters(), t.parameters()):
        assert (fp is new_fp) == (tp is new_tp) is True
        assert isinstance(new_fp, nn.Parameter) and new_fp.requires_grad


@needs_torch
def test_buffers_are_replaced_and_an_integer_dtype_is_refused_as_torch():
    f, t = fovea_model(), torch_model()
    fb, tb = f[1].running_mean, t[1].running_mean
    f.double()
    t.double()
    assert (f[1].running_mean is fb) == (t[1].running_mean is tb)
    assert f[1].num_batches_tracked.dtype == np.int64
    with pytest.raises(TypeError):
        t.to(torch.int64)
    with pytest.raises(TypeError, match="Module.to: only floating dtypes are accepted, got "
                                        "dtype=int64"):
        f.to(fovea.int64)


def test_gradients_are_cast_with_their_parameters_and_optimizers_keep_working():
    model = nn.Linear(3, 2)
    opt = fovea.optim.SGD(model.parameters(), lr=0.1)
    model(fovea.ones(1, 3)).sum().backward()
    model.double()
    assert model.weight.grad.dtype == np.float64 and model.weight.dtype == np.float64
    w = model.weight.detach().numpy().copy()
    opt.step()  # the optimizer holds the same Parameter objects
    np.testing.assert_allclose(model.weight.detach().numpy(), w - 0.1)
    y = model(fovea.ones(1, 3, dtype=fovea.float64))
    assert y.dtype == np.float64


@pytest.mark.parametrize("device", devices())
def test_module_to_a_device_moves_parameters_buffers_and_gradients(device):
    model = fovea_model()
    model(fovea.randn(5, 3)).sum().backward()
    params = list(model.parameters())
    grads = [p.grad.detach().numpy().copy() for p in params]
    assert model.to(device) is model
    for p, g in zip(model.parameters(), grads):
        assert p.device == device and p.grad.device == device
        np.testing.assert_array_equal(p.grad.numpy(), g)
    assert all(b.device == device for b in model.buffers())
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    out = model(fovea.randn(5, 3).to(device))
    out.sum().backward()
    assert out.device == device and model[0].weight.grad.device == device
    assert model.cpu() is model and all(p.device == "cpu" for p in model.parameters())
