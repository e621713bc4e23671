"""A trace replays on the device its arrays live on (the test suite's stand-in device, whose
arrays refuse to meet plain NumPy ones): outputs and gradients stay there and equal eager."""

import numpy as np

import fovea
import fovea.jit as jit
import fovea.nn as nn
import fovea.nn.functional as F
from backends import standin


def test_trace_and_train_step_on_the_stand_in_device():
    fovea.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)).double().to(standin.NAME)
    rng = np.random.default_rng(0)
    x = fovea.tensor(standin.to_device(rng.standard_normal((4, 6))))
    traced = jit.trace(model, x)
    assert traced.pass_stats["fuse"] == 1
    x2 = fovea.tensor(standin.to_device(rng.standard_normal((4, 6))), requires_grad=True)
    out = traced(x2)
    assert isinstance(out._data, standin.StandInArray)
    out.sum().backward()
    assert isinstance(x2.grad._data, standin.StandInArray)
    g = x2.grad.numpy().copy()
    x2.grad = None
    eager = model(x2)
    eager.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), eager.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g, x2.grad.numpy(), rtol=1e-12)

    opt = fovea.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    y = fovea.tensor(standin.to_device(np.array([0, 1, 2, 1])))
    step = jit.trace_train_step(model, F.cross_entropy, opt, (x, y))
    before = model[0].weight.detach().numpy().copy()
    loss = step(x, y)
    assert isinstance(loss._data, standin.StandInArray)
    assert isinstance(model[0].weight.grad._data, standin.StandInArray)
    assert not np.allclose(model[0].weight.detach().numpy(), before)
