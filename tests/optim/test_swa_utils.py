"""AveragedModel (SWA / EMA weight averaging) and update_bn against torch.optim.swa_utils."""

from __future__ import annotations

import numpy as np
import pytest

import fovea
from fovea.nn import Module, Parameter
from fovea.optim import swa_utils


class Head(Module):
    def __init__(self, v):
        super().__init__()
        self.v = Parameter(v)

    def forward(self, h):
        return h @ self.v


class Net(Module):
    """tanh(x W^T + b) v * scale, with a buffer ``scale`` and a nested module."""

    def __init__(self, w, b, v, scale):
        super().__init__()
        self.weight = Parameter(w)
        self.bias = Parameter(b)
        self.register_buffer("scale", fovea.tensor(scale))
        self.head = Head(v)

    def forward(self, x):
        return self.head(fovea.tanh(x @ self.weight.T + self.bias)) * self.scale


def _torch_net(torch, w, b, v, scale):
    class THead(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.v = torch.nn.Parameter(torch.tensor(v))

        def forward(self, h):
            return h @ self.v

    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.tensor(w))
            self.bias = torch.nn.Parameter(torch.tensor(b))
            self.register_buffer("scale", torch.tensor(scale))
            self.head = THead()

        def forward(self, x):
            return self.head(torch.tanh(x @ self.weight.T + self.bias)) * self.scale

    return TNet()


def _weights(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((4, 3)), rng.standard_normal(4), rng.standard_normal(4), \
        np.array([1.5])


def _drift(torch, rng, fovea_model, torch_model):
    """Move both models' weights (and buffers) by the same random step, as training would."""
    mine = list(fovea_model.parameters()) + list(fovea_model.buffers())
    theirs = list(torch_model.parameters()) + list(torch_model.buffers())
    assert len(mine) == len(theirs)
    for p, q in zip(mine, theirs):
        step = 0.3 * rng.standard_normal(p.shape)
        p._data = p._data + step
        with torch.no_grad():
            q.add_(torch.tensor(step))


def _check_same(fovea_avg, torch_avg, rtol=1e-13):
    fs, ts = fovea_avg.state_dict(), torch_avg.state_dict()
    assert list(fs) == list(ts)
    for k in ts:
        np.testing.assert_allclose(np.asarray(fs[k].numpy(), dtype=float),
                                   ts[k].numpy().astype(float), rtol=rtol, err_msg=k)


@pytest.mark.parametrize("config", ["swa", "ema_multi", "ema_single", "ema_buffers", "custom"])
def test_averaged_model_matches_pytorch(config):
    torch = pytest.importorskip("torch")
    tsu = torch.optim.swa_utils
    w = _weights()
    model, tmodel = Net(*w), _torch_net(torch, *w)
    kwargs = {
        "swa": ({}, {}),
        "ema_multi": ({"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.8)},
                      {"multi_avg_fn": tsu.get_ema_multi_avg_fn(0.8)}),
        "ema_single": ({"avg_fn": swa_utils.get_ema_avg_fn(0.7)},
                       {"avg_fn": tsu.get_ema_avg_fn(0.7)}),
        "ema_buffers": ({"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.6),
                         "use_buffers": True},
                        {"multi_avg_fn": tsu.get_ema_multi_avg_fn(0.6), "use_buffers": True}),
        "custom": ({"avg_fn": lambda a, b, n: a + (b - a) * 0.25},
                   {"avg_fn": lambda a, b, n: a + (b - a) * 0.25}),
    }[config]
    avg = swa_utils.AveragedModel(model, **kwargs[0])
    tavg = tsu.AveragedModel(tmodel, **kwargs[1])
    rng = np.random.default_rng(1)
    for _ in range(6):
        _drift(torch, rng, model, tmodel)
        avg.update_parameters(model)
        tavg.update_parameters(tmodel)
        _check_same(avg, tavg)
    assert int(avg.n_averaged.item()) == 6
    # Forward runs the averaged copy, not the live model.
    x = np.random.default_rng(2).standard_normal((5, 3))
    out = avg(fovea.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), tavg(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)
    assert not np.allclose(out.detach().numpy(), model(fovea.tensor(x)).detach().numpy())


def test_swa_average_is_the_mean_of_the_snapshots():
    w = _weights(3)
    model = Net(*w)
    avg = swa_utils.AveragedModel(model)
    snapshots = []
    rng = np.random.default_rng(0)
    for _ in range(5):
        model.weight._data = model.weight._data + rng.standard_normal((4, 3))
        snapshots.append(model.weight._data.copy())
        avg.update_parameters(model)
    np.testing.assert_allclose(avg.module.weight.detach().numpy(), np.mean(snapshots, axis=0),
                               rtol=1e-12)
    # The averaged model is a deep copy: it did not share arrays with the model.
    assert avg.module.weight._data is not model.weight._data
    assert list(avg.state_dict()) == ["n_averaged", "module.weight", "module.bias",
                                      "module.scale", "module.head.v"]


def test_ema_helpers_validate_decay_and_averaged_model_its_arguments():
    with pytest.raises(ValueError, match="decay"):
        swa_utils.get_ema_multi_avg_fn(1.5)
    with pytest.raises(ValueError, match="decay"):
        swa_utils.get_ema_avg_fn(-0.1)
    model = Net(*_weights())
    with pytest.raises(ValueError, match="not both"):
        swa_utils.AveragedModel(model, avg_fn=swa_utils.get_ema_avg_fn(),
                                multi_avg_fn=swa_utils.get_ema_multi_avg_fn())
    with pytest.raises(TypeError, match="Module"):
        swa_utils.AveragedModel([model])
    avg = swa_utils.AveragedModel(model)
    other = Head(np.zeros(4))
    with pytest.raises(ValueError, match="has 1 parameters but the averaged copy has 3"):
        avg.update_parameters(other)


class FakeBatchNorm(Module):
    """The running-statistics contract of PyTorch's BatchNorm1d (momentum=None: cumulative)."""

    def __init__(self, n):
        super().__init__()
        self.momentum = 0.1
        self.register_buffer("running_mean", fovea.tensor(np.zeros(n)))
        self.register_buffer("running_var", fovea.tensor(np.ones(n)))
        self.register_buffer("num_batches_tracked", fovea.tensor(np.array(0)))

    def reset_running_stats(self):
        self.running_mean._data[...] = 0
        self.running_var._data[...] = 1
        self.num_batches_tracked._data[...] = 0

    def forward(self, x):
        if self.training:
            a = x.detach().numpy()
            self.num_batches_tracked._data += 1
            f = 1 / int(self.num_batches_tracked._data) if self.momentum is None else \
                self.momentum
            self.running_mean._data[...] = (1 - f) * self.running_mean._data + f * a.mean(0)
            self.running_var._data[...] = (1 - f) * self.running_var._data + f * a.var(0, ddof=1)
        return x


def test_update_bn_recomputes_running_statistics_like_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((6, 3)) * (i + 1) + i for i in range(4)]
    bn = FakeBatchNorm(3)
    bn.running_mean._data[...] = 7.0
    bn.eval()
    tbn = torch.nn.BatchNorm1d(3, dtype=torch.float64).eval()
    swa_utils.update_bn([(fovea.tensor(b), 0) for b in batches], bn)
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], tbn)
    np.testing.assert_allclose(bn.running_mean.numpy(), tbn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), tbn.running_var.numpy(), rtol=1e-12)
    assert bn.momentum == 0.1 and not bn.training


def test_n_averaged_stays_a_0d_int64_array_and_counts():
    """The counter is a 0-d int64 array after updates (not a NumPy scalar), so it saves,
    loads and moves as any buffer."""
    model = fovea.nn.Linear(3, 2)
    avg = swa_utils.AveragedModel(model)
    for _ in range(3):
        avg.update_parameters(model)
    data = avg.n_averaged._data
    assert isinstance(data, np.ndarray) and data.shape == () and data.dtype == np.int64
    assert int(avg.n_averaged) == 3
    fresh = swa_utils.AveragedModel(model)
    fresh.load_state_dict(avg.state_dict())
    assert int(fresh.n_averaged) == 3
