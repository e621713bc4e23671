"""Layers working together: a small CNN overfits 50 examples; a PyTorch CNN's state_dict
loaded into the equivalent fovea model gives PyTorch's outputs."""

import numpy as np
import pytest

import fovea
from fovea import nn, optim


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(32, 10))


def test_small_cnn_overfits_50_examples_to_100_percent():
    from fovea.data import load_dataset

    d = load_dataset("digits")
    x, y = fovea.tensor(d.x_train[:50]), fovea.tensor(d.y_train[:50])
    fovea.manual_seed(0)
    model = small_cnn()
    opt = optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    model.eval()
    with fovea.no_grad():
        acc = (model(x).argmax(dim=1).numpy() == d.y_train[:50]).mean()
    assert acc == 1.0, f"training accuracy {acc} after 150 steps (loss {loss.item():.4f})"


def test_torch_cnn_state_dict_gives_torch_outputs_and_gradients():
    torch = pytest.importorskip("torch")
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 10)).double()
    with torch.no_grad():  # non-trivial running statistics
        tm[1].running_mean.uniform_(-1, 1)
        tm[1].running_var.uniform_(0.5, 2)
    fm = small_cnn().double()
    fm.load_state_dict(tm.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 1, 8, 8))
    for train in (False, True):
        tm.train(train)
        fm.train(train)
        tx = torch.tensor(x, requires_grad=True)
        fx = fovea.tensor(x, requires_grad=True)
        to, fo = tm(tx), fm(fx)
        np.testing.assert_allclose(fo.detach().numpy(), to.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        g = np.random.default_rng(1).standard_normal(to.shape)
        to.backward(torch.tensor(g))
        fo.backward(fovea.tensor(g))
        np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(fm[0].weight.grad.numpy(), tm[0].weight.grad.numpy(),
                                   rtol=1e-9, atol=1e-12)
