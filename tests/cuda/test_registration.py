"""The cuda backend's probe and registration, and fovea.cuda, without a GPU: the real
probe on this machine, and the whole API against a fake CuPy module."""

from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import pytest
from cuda_shim import FakeElementwiseKernel

import fovea
from backends import standin
from fovea import backends
from fovea.backends.cuda import fused, runtime

no_gpu = pytest.mark.skipif(fovea.cuda.is_available(), reason="a GPU is there")


@no_gpu
def test_without_a_gpu_everything_imports_and_reports_unavailable():
    assert not fovea.cuda.is_available()
    assert fovea.cuda.device_count() == 0
    assert fovea.cuda.memory_allocated() == 0 and fovea.cuda.max_memory_allocated() == 0
    fovea.cuda.manual_seed(0)  # accepted, as PyTorch without CUDA
    fovea.cuda.reset_peak_memory_stats()
    why = runtime.reason()
    if importlib.util.find_spec("cupy") is None:
        assert why.startswith("CuPy is not installed")
    else:  # CuPy imports without a GPU; its runtime call fails (no driver / no device)
        assert why.startswith(("CUDA runtime:", "the CUDA runtime sees no GPU"))
    for reach in (lambda: fovea.zeros(2).cuda(), lambda: fovea.zeros(2).to("cuda:0"),
                  lambda: fovea.zeros(2, device="cuda"), fovea.cuda.current_device,
                  fovea.cuda.synchronize, lambda: fovea.nn.Linear(2, 2).cuda()):
        with pytest.raises(RuntimeError, match=r"no CUDA device: .*\(.+\)$"):
            reach()


class _Runtime:
    def __init__(self, count):
        self.count, self.synced, self.device = count, 0, 1

    def getDeviceCount(self):  # noqa: N802 - CUDA's names
        if isinstance(self.count, Exception):
            raise self.count
        return self.count

    def getDevice(self):  # noqa: N802
        return self.device

    def getDeviceProperties(self, i):  # noqa: N802
        return {"name": f"Fake GPU {i}".encode()}

    def deviceSynchronize(self):  # noqa: N802
        self.synced += 1


class _Pool:
    used = 0

    def used_bytes(self):
        return self.used

    def total_bytes(self):
        return 2 * self.used

    def free_all_blocks(self):
        self.used = 0


def fake_cupy(count):
    """A module with CuPy's runtime calls, arrays of the stand-in device."""
    cp = types.ModuleType("cupy")
    for name in dir(standin.xp):
        if not name.startswith("_"):
            setattr(cp, name, getattr(standin.xp, name))
    cp.ndarray = standin.StandInArray
    cp.cuda = types.SimpleNamespace(runtime=_Runtime(count))
    cp.random = types.SimpleNamespace(seeds=[])
    cp.random.seed = cp.random.seeds.append
    cp.pool = _Pool()
    cp.get_default_memory_pool = lambda: cp.pool
    cp.asnumpy = lambda a: np.array(a.view(np.ndarray))
    cp.ElementwiseKernel = FakeElementwiseKernel
    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add = lambda out, key, values: standin.xp.add.at(out, key, values)
    return cp, cupyx


@pytest.fixture
def fake_gpu(monkeypatch):
    """A fake CuPy with one GPU, the probe not yet run, the stand-in device unregistered
    (the fake's arrays are the stand-in's); everything restored afterwards."""
    cp, cupyx = fake_cupy(1)
    monkeypatch.setitem(sys.modules, "cupy", cp)
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    monkeypatch.setitem(runtime._probe, "done", False)
    monkeypatch.setitem(runtime._probe, "reason", None)
    monkeypatch.setattr(fused, "_built", {})  # kernels of the fake, not of a real CuPy
    previous = backends.registered_backend("cuda")
    backends.unregister(standin.NAME)
    backends.unregister("cuda")
    try:
        yield cp
    finally:
        backends.unregister("cuda")
        if previous is not None:
            backends.register(previous)
        standin.register()


@pytest.mark.parametrize("count,expected", [
    (RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected\ndetails"),
     "CUDA runtime: cudaErrorNoDevice: no CUDA-capable device is detected"),
    (0, "the CUDA runtime sees no GPU"),
])
def test_probe_says_why_in_one_line(monkeypatch, count, expected):
    cp, _ = fake_cupy(count)
    monkeypatch.setitem(sys.modules, "cupy", cp)
    assert runtime.probe() == (None, expected)


def test_probe_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import raises ImportError
    assert runtime.probe() == (None, "CuPy is not installed (pip install 'fovea[cuda]')")


def test_a_gpu_registers_the_backend_on_first_use(fake_gpu):
    cp = fake_gpu
    assert fovea.cuda.is_available()
    b = backends.get("cuda")
    assert b.xp is cp and b.array_types == (standin.StandInArray,) and b.to_host is cp.asnumpy
    assert b.kernels.__name__ == "fovea.backends.cuda"
    assert isinstance(b.ns, runtime.CudaNamespace)
    x = fovea.tensor([[1.0, -2.0]]).cuda()
    assert x.is_cuda and x.device == "cuda" and isinstance(x._data, standin.StandInArray)
    assert x.relu().cpu().tolist() == [[1.0, 0.0]]
    assert "fovea_relu" in FakeElementwiseKernel.built  # the fused kernel's wrapper ran
    assert fovea.nn.Linear(2, 3).cuda()(x).device == "cuda"


def test_fovea_cuda_api_asks_cupy(fake_gpu):
    cp = fake_gpu
    cp.cuda.runtime.count = 2
    assert fovea.cuda.device_count() == 2
    assert fovea.cuda.current_device() == 1
    assert fovea.cuda.get_device_name() == "Fake GPU 1"
    assert fovea.cuda.get_device_name("cuda:0") == "Fake GPU 0"
    fovea.cuda.synchronize()
    assert cp.cuda.runtime.synced == 1
    fovea.cuda.manual_seed(7)
    fovea.cuda.manual_seed_all(8)
    assert cp.random.seeds == [7, 8]


def test_memory_statistics_follow_the_pool(fake_gpu):
    cp = fake_gpu
    cp.pool.used = 1000
    fovea.cuda.reset_peak_memory_stats()
    assert fovea.cuda.memory_allocated() == 1000 and fovea.cuda.memory_reserved() == 2000
    cp.pool.used = 5000
    assert fovea.cuda.update_peak() == 5000
    cp.pool.used = 3000
    assert fovea.cuda.max_memory_allocated() == 5000  # the peak stays
    fovea.cuda.reset_peak_memory_stats()
    assert fovea.cuda.max_memory_allocated() == 3000
    fovea.cuda.empty_cache()
    assert fovea.cuda.memory_allocated() == 0


def test_a_cupy_array_handed_to_fovea_registers_the_backend(fake_gpu):
    cls = type("ndarray", (standin.StandInArray,), {"__module__": "cupy._core.core"})
    fake_gpu.ndarray = cls
    a = np.zeros(3).view(cls)
    assert backends.for_array(a).name == "cuda"


def test_the_probe_runs_once(monkeypatch):
    calls = []
    monkeypatch.setitem(runtime._probe, "done", False)
    monkeypatch.setitem(runtime._probe, "reason", None)
    monkeypatch.setattr(runtime, "probe", lambda: calls.append(1) or (None, "no GPU here"))
    previous = backends.registered_backend("cuda")
    backends.unregister("cuda")
    try:
        assert runtime.ensure() is None and runtime.ensure() is None
        assert calls == [1] and runtime.reason() == "no GPU here"
    finally:
        if previous is not None:
            backends.register(previous)
