"""On a real GPU (marked ``cuda``: skipped unless ``fovea.cuda.is_available()``): device
moves, memory statistics, the fused kernels against the array expressions, layers against
the CPU and PyTorch through the op harness, training steps, the loader's pinned uploads.

The rest of the op suite runs on the GPU too when one is there: ``tests/conftest.py`` adds
``"cuda"`` to the harness's devices in tests/ops, tests/engine and tests/nn.
"""

from __future__ import annotations

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F
import oracle
from fovea import backends, config
from oracle import check_op

pytestmark = pytest.mark.cuda
rng = np.random.default_rng(0)


@pytest.fixture
def on_gpu():
    """The harness runs every op on the GPU too (as in the seam directories)."""
    oracle.EXTRA_DEVICES[:] = ["cuda"]
    yield
    oracle.EXTRA_DEVICES[:] = []


def cupy():
    return backends.get("cuda").xp


def test_the_backend_is_cupy_with_the_cuda_kernels():
    b = backends.get("cuda")
    cp = cupy()
    assert b.xp.__name__ == "cupy" and cp.ndarray in b.array_types
    assert b.kernels.__name__ == "fovea.backends.cuda"
    assert fovea.cuda.device_count() >= 1 and fovea.cuda.get_device_name()


def test_moves_round_trip_and_gradients_come_back():
    x = fovea.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    g = x.cuda()
    assert g.is_cuda and g.device == "cuda" and isinstance(g._data, cupy().ndarray)
    (g * g).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy())
    assert g.cpu().tolist() == x.tolist() and float(g.sum()) == pytest.approx(float(x.sum()))
    assert fovea.randn(2, 3, device="cuda").is_cuda
    fovea.manual_seed(3)
    a = fovea.randn(5, device="cuda")
    fovea.manual_seed(3)
    assert a.cpu().tolist() == fovea.randn(5).tolist()  # drawn on the host, then moved


def test_memory_statistics():
    fovea.cuda.synchronize()
    before = fovea.cuda.memory_allocated()
    fovea.cuda.reset_peak_memory_stats()
    big = fovea.zeros(1024, 1024, device="cuda")  # 4 MiB
    assert fovea.cuda.memory_allocated() >= before + 4 * 2**20
    assert fovea.cuda.max_memory_allocated() >= before + 4 * 2**20
    del big
    assert fovea.cuda.memory_allocated() <= before + 2**16
    assert fovea.cuda.max_memory_allocated() >= before + 4 * 2**20  # the peak stays
    assert fovea.cuda.memory_reserved() >= fovea.cuda.memory_allocated()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_kernels_match_the_array_expressions(dtype):
    from fovea.backends.cuda import elementwise, norm, optim

    cp = cupy()
    x = cp.asarray(rng.standard_normal((8, 4, 5, 5)).astype(dtype))
    g = cp.asarray(rng.standard_normal((8, 4, 5, 5)).astype(dtype))
    w, b = (cp.asarray(rng.standard_normal(4).astype(dtype)) for _ in range(2))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    fused = [elementwise.relu(x), elementwise.relu_grad(elementwise.relu(x), g)]
    y, state = norm.batch_norm_train(x, w, b, 1e-5)
    fused += [y, *state.backward(g, w, True)]
    with config.override(jit=False):
        plain = [elementwise.relu(x), elementwise.relu_grad(elementwise.relu(x), g)]
        y, state = norm.batch_norm_train(x, w, b, 1e-5)
        plain += [y, *state.backward(g, w, True)]
    for a, r in zip(fused, plain):
        np.testing.assert_allclose(cp.asnumpy(a), cp.asnumpy(r), **tol)
    states = []
    for jit in (True, False):
        p, m, v = x.copy(), cp.zeros_like(x), cp.zeros_like(x)
        with config.override(jit=jit):
            for step in (1, 2):
                optim.adam_step_(p, g, m, v, 0.01 / (1 - 0.9 ** step), 0.9, 0.999, 1e-8,
                                 (1 - 0.999 ** step) ** 0.5)
        states.append([cp.asnumpy(a) for a in (p, m, v)])
    for a, r in zip(*states):
        np.testing.assert_allclose(a, r, **tol)


def test_layers_against_the_cpu_and_pytorch(on_gpu):
    torch = pytest.importorskip("torch")

    x = rng.standard_normal((2, 3, 7, 7))
    w = rng.standard_normal((4, 3, 3, 3))
    check_op(lambda a, k: F.conv2d(a, k, padding=1, stride=2),
             lambda a, k: torch.nn.functional.conv2d(a, k, padding=1, stride=2), [x, w])
    check_op(lambda a: F.max_pool2d(a, 3, 2, 1), lambda a: torch.nn.functional.max_pool2d(
        a, 3, 2, 1), [x])
    wb = rng.standard_normal(3), rng.standard_normal(3)
    check_op(lambda a, g, b: F.batch_norm(a, None, None, g, b, training=True),
             lambda a, g, b: torch.nn.functional.batch_norm(a, None, None, g, b,
                                                            training=True), [x, *wb])
    logits, target = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    check_op(F.cross_entropy, torch.nn.functional.cross_entropy, [logits, target])
    idx = np.array([0, 2, 2, 1])
    check_op(lambda a, i: a[i], lambda a, i: a[i], [rng.standard_normal((3, 2)), idx])


def test_float32_training_steps_track_the_cpu():
    def run(device):
        fovea.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 10)).to(device)
        opt = fovea.optim.Adam(model.parameters(), lr=1e-3)
        data = np.random.default_rng(1)
        losses = []
        for _ in range(5):
            x = fovea.tensor(data.standard_normal((16, 3, 8, 8)).astype(np.float32)).to(device)
            y = fovea.tensor(data.integers(0, 10, 16)).to(device)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, model, opt

    ref, _, _ = run("cpu")
    losses, model, opt = run("cuda")
    np.testing.assert_allclose(losses, ref, rtol=1e-4)
    cp = cupy()
    assert all(isinstance(p._data, cp.ndarray) for p in model.parameters())
    assert all(isinstance(b._data, cp.ndarray) for b in model.buffers())
    assert all(isinstance(s["exp_avg"]._data, cp.ndarray) for s in opt.state.values())


def test_the_loader_uploads_through_pinned_memory():
    from fovea.data import ArrayDataset, DataLoader, DeviceLoader

    x = rng.standard_normal((10, 1, 4, 4)).astype(np.float32)
    loader = DeviceLoader(DataLoader(ArrayDataset(x, np.arange(10)), batch_size=4), "cuda")
    got = list(loader)
    assert loader._stager is not None and len(got) == 3
    np.testing.assert_array_equal(np.concatenate([b[0].cpu().numpy() for b in got]), x)
    assert all(b[1].is_cuda and b[1].dtype == fovea.int64 for b in got)


def test_mixing_devices_names_both():
    with pytest.raises(RuntimeError, match="expected all tensors on one device, got cpu and "
                                           "cuda"):
        fovea.ones(2) + fovea.ones(2, device="cuda")
