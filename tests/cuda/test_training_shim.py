"""Training on the CUDA backend's code paths without a GPU: the stand-in device running
fovea.backends.cuda (cuda_shim), against the same steps on the CPU. Moves, buffers,
optimizer state, mixed-device errors and the namespace's scatter-adds."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_shim import NAME, cuda_on_standin

import fovea
import fovea.nn as nn
from backends import standin
from fovea import backends


def convnet():
    fovea.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 3 * 3, 5)).double()


def train(model, device, steps=3):
    opt = fovea.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(1)
    losses = []
    for _ in range(steps):
        x = fovea.tensor(rng.standard_normal((6, 2, 6, 6))).to(device)
        y = fovea.tensor(rng.integers(0, 5, 6)).to(device)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, opt


def test_training_steps_match_the_cpu():
    ref_losses, _ = train(ref := convnet(), "cpu")
    with cuda_on_standin() as b:
        model = convnet()
        weight = model[0].weight
        assert model.to(NAME) is model and model[0].weight is weight  # same Parameters
        losses, opt = train(model, NAME)
        for t in list(model.parameters()) + list(model.buffers()):
            assert backends.for_array(t._data) is b, "a parameter or buffer stayed behind"
        for state in opt.state.values():
            assert all(backends.for_array(v._data) is b for k, v in state.items()
                       if k != "step")
        assert model[1].running_mean.device == NAME
        np.testing.assert_allclose(losses, ref_losses, rtol=1e-12)
        for (k, a), r in zip(model.state_dict().items(), ref.state_dict().values()):
            # Adam divides by √v: last-bit differences of the generic convolution's sums
            # grow where gradients are tiny.
            np.testing.assert_allclose(a.cpu().numpy(), r.numpy(), rtol=1e-7, atol=1e-8,
                                       err_msg=k)
        model.cpu()
        assert all(isinstance(p._data, np.ndarray) and type(p._data) is np.ndarray
                   for p in model.parameters())


def test_mixing_devices_names_both():
    with cuda_on_standin():
        a = fovea.ones(2)
        b = fovea.ones(2).to(NAME)
        with pytest.raises(RuntimeError, match=f"expected all tensors on one device, got cpu "
                                               f"and {NAME}"):
            a + b
        with pytest.raises(RuntimeError, match=f"Linear: .*got cpu and {NAME}"):
            nn.Linear(2, 2).to(NAME)(a[None])


def test_index_gradients_scatter_through_the_namespace():
    calls = []
    idx = np.array([0, 2, 2, 1, 2])
    w = np.random.default_rng(2).standard_normal((4, 3))
    ref = fovea.tensor(w, requires_grad=True)
    ref[fovea.tensor(idx)].sum().backward()
    with cuda_on_standin(calls):
        t = fovea.tensor(standin.to_device(w), requires_grad=True)
        t[fovea.tensor(idx).to(NAME)].sum().backward()
        assert calls, "the gradient of a repeated-index read did not go through scatter_add"
        np.testing.assert_array_equal(t.grad.cpu().numpy(), ref.grad.numpy())
        emb = nn.Embedding(4, 3).to(NAME)
        emb(fovea.tensor(idx).to(NAME)).sum().backward()
        np.testing.assert_array_equal(emb.weight.grad.cpu().numpy()[:, 0], [1, 1, 3, 0])
