"""Trace and replay every model of fovea.models: the same outputs, parameter gradients, input
gradients and running statistics as eager execution, on inputs other than the traced ones."""

import warnings

import numpy as np
import pytest

import fovea
import fovea.jit as jit
from fovea import config, nn
from fovea.models import MODELS, build_model

# Small enough to keep tests/jit under a minute; the rest (ImageNet-sized zoo) is slow.
FAST = {"lenet5", "mlp", "mobilenet_v1", "mobilenet_v2", "nin", "resnet20", "small_cnn",
        "squeezenet1_1", "three_layer_convnet", "two_layer"}


@pytest.fixture(autouse=True)
def _numpy_kernels():
    """NumPy kernels: compiling generated kernels for every small shape would take seconds."""
    with config.override(jit=False):
        yield


def _model(name, train=True):
    fovea.manual_seed(0)
    m = build_model(name, 3, (32, 32), 10)
    m.train(train)
    for mod in m.modules():  # dropout draws new masks every call: compare it off
        if isinstance(mod, nn.Dropout):
            mod.eval()
    return m


def _flat(out):
    return list(out) if isinstance(out, tuple) else [out]


def _step(fn, m, x):
    """Outputs, input gradient, parameter gradients and buffers after fn(x).sum().backward()."""
    m.zero_grad()
    x = x.detach().requires_grad_(True)
    outs = _flat(fn(x))
    sum((o * (k + 1)).sum() for k, o in enumerate(outs)).backward()
    grads = [None if p.grad is None else p.grad.numpy().copy() for p in m.parameters()]
    buffers = [b.numpy().copy() for b in m.buffers()]
    return [o.detach().numpy().copy() for o in outs], x.grad.numpy().copy(), grads, buffers


def _check_model(name, train=True):
    m = _model(name, train)
    rng = np.random.default_rng(0)
    x0 = fovea.tensor(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    x1 = fovea.tensor(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error", jit.TracerWarning)  # nothing data-dependent in the zoo
        traced = jit.trace(m, x0, check_trace=False)
    state = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
    got = _step(traced, m, x1)
    m.load_state_dict({k: fovea.tensor(v) for k, v in state.items()})
    want = _step(m, m, x1)
    for a, b in zip(got[0], want[0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-6)
    for a, b in zip(got[2], want[2]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(got[3], want[3]):  # running statistics and num_batches_tracked
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert len(traced.graph.nodes) <= len(traced.traced_graph.nodes)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", sorted(FAST))
def test_trace_replays_the_model_like_eager(name, train):
    _check_model(name, train)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(MODELS) - FAST))
def test_trace_replays_the_big_model_like_eager(name):
    _check_model(name)


def test_every_model_is_covered():
    assert set(MODELS) >= set(fovea.models.list_models())
    assert FAST < set(MODELS)
