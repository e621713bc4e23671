"""A traced training step gives the parameters, optimizer state and losses of the eager step
after several steps on different batches (SGD with momentum, Adam), dropout off, batch norm
on (its running statistics and counter too)."""

import numpy as np
import pytest

import fovea
import fovea.jit as jit
import fovea.nn as nn
import fovea.nn.functional as F
from fovea import config


@pytest.fixture(autouse=True)
def _numpy_kernels():
    with config.override(jit=False):
        yield


def _net():
    fovea.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 16), nn.ReLU(),
                         nn.Linear(16, 5))


def _batches(n=4):
    rng = np.random.default_rng(1)
    return [(fovea.tensor(rng.standard_normal((6, 3, 8, 8)).astype(np.float32)),
             fovea.tensor(rng.integers(0, 5, 6))) for _ in range(n)]


OPTIMIZERS = {
    "sgd_momentum": lambda ps: fovea.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    "adam": lambda ps: fovea.optim.Adam(ps, lr=1e-2),
}


def _run(optimizer, traced: bool, loss_fn=F.cross_entropy):
    model = _net()
    opt = OPTIMIZERS[optimizer](model.parameters())
    batches = _batches()
    if traced:
        step = jit.trace_train_step(model, loss_fn, opt, batches[0])
    else:
        def step(x, y):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss
    losses = [float(step(x, y)) for x, y in batches]
    return model, losses


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_traced_train_step_equals_eager(optimizer):
    m_e, l_e = _run(optimizer, traced=False)
    m_t, l_t = _run(optimizer, traced=True)
    np.testing.assert_allclose(l_t, l_e, rtol=1e-6)
    assert len(set(l_e)) == len(l_e)  # the batches differ: labels are not frozen in the trace
    se, st = m_e.state_dict(), m_t.state_dict()
    assert list(se) == list(st)
    for k in se:
        np.testing.assert_allclose(st[k].detach().numpy(), se[k].detach().numpy(),
                                   rtol=1e-6, atol=1e-7, err_msg=k)
    assert int(st["1.num_batches_tracked"].item()) == len(l_e)


def test_train_step_with_a_loss_module_and_the_engine_path():
    # A hook on a parameter sends the step through the engine's backward instead of the plan.
    m_e, l_e = _run("sgd_momentum", traced=False, loss_fn=nn.CrossEntropyLoss())
    model = _net()
    seen = []
    model[0].weight.register_hook(lambda g: seen.append(g.shape))
    opt = OPTIMIZERS["sgd_momentum"](model.parameters())
    batches = _batches()
    step = jit.trace_train_step(model, nn.CrossEntropyLoss(), opt, batches[0])
    l_t = [float(step(x, y)) for x, y in batches]
    np.testing.assert_allclose(l_t, l_e, rtol=1e-6)
    assert seen == [(4, 3, 3, 3)] * 4
    for a, b in zip(model.parameters(), m_e.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_train_step_refuses_bad_n_targets():
    model = _net()
    opt = OPTIMIZERS["adam"](model.parameters())
    with pytest.raises(ValueError, match="n_targets"):
        jit.trace_train_step(model, F.cross_entropy, opt, _batches(1)[0], n_targets=2)


def test_train_step_refuses_a_loss_that_is_not_a_scalar():
    model = _net()
    opt = OPTIMIZERS["adam"](model.parameters())
    x, y = _batches(1)[0]
    step = jit.trace_train_step(model, lambda out, t: F.cross_entropy(out, t, reduction="none"),
                                opt, (x, y))
    with pytest.raises(RuntimeError, match="the loss must be a scalar, got shape \\(6,\\)"):
        step(x, y)
