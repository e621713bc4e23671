"""Devices as PyTorch programs use them: fovea.device, Tensor.to / cpu / cuda, is_cuda,
fovea.cuda, fovea.backends.cudnn, moves through the backends registry (the test suite's
stand-in device, and the stand-in registered under the name "cuda" playing a GPU)."""

import contextlib

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from backends import standin
from fovea import backends
from oracle import needs_torch, torch

NO_CUDA = ("no CUDA device: fovea's GPU backend needs CuPy and an NVIDIA GPU; "
           "fovea.cuda.is_available\\(\\) is False")


@needs_torch
def test_device_objects_match_torch_device():
    for args in [("cpu",), ("cuda",), ("cuda:0",), ("cuda", 1), ("cpu", 0)]:
        f, t = fovea.device(*args), torch.device(*args)
        assert repr(f) == repr(t) and str(f) == str(t)
        assert f.type == t.type and f.index == t.index
        assert f == fovea.device(str(t)) and t == torch.device(str(f))
        assert f == str(f)  # fovea's extension: a device equals its string (torch: False)
    assert (fovea.device("cuda") == fovea.device("cuda:0")) == \
        (torch.device("cuda") == torch.device("cuda:0"))
    assert fovea.device(fovea.device("cuda:1")) == "cuda:1"
    assert len({fovea.device("cpu"), fovea.device("cpu"), fovea.device("cuda")}) == 2
    with pytest.raises(ValueError):
        fovea.device("cuda:x")


def test_tensors_and_parameters_know_their_device():
    x = fovea.zeros(2)
    p = nn.Parameter(fovea.zeros(2))
    assert x.device == "cpu" and p.device == fovea.device("cpu")
    assert not x.is_cuda and x.is_cpu and not p.is_cuda
    s = fovea.zeros(2, device="standin")
    assert s.device == "standin" and not s.is_cpu


@needs_torch
def test_to_parses_torchs_argument_forms():
    x64 = fovea.tensor(np.ones(2))
    forms = [
        (("cpu",), {}), ((fovea.float32,), {}), (("cpu", fovea.float32), {}),
        ((), {"dtype": fovea.float32}), ((), {"device": "cpu"}),
        ((), {"device": "cpu", "dtype": fovea.int64}), ((fovea.device("cpu"),), {}),
        ((fovea.float32, False, True), {}), (("cpu", fovea.float64, True), {}),
        ((fovea.zeros(1, dtype=fovea.int32),), {}), (("cpu",), {"non_blocking": True}),
        ((fovea.float64,), {"copy": True}), (("float32",), {}),
    ]
    t64 = torch.ones(2, dtype=torch.float64)
    tmap = {fovea.float32: torch.float32, fovea.float64: torch.float64,
            fovea.int64: torch.int64}
    for args, kw in forms:
        targs = [tmap.get(a, a) if not isinstance(a, fovea.Tensor | fovea.device | str) else
                 (torch.zeros(1, dtype=torch.int32) if isinstance(a, fovea.Tensor) else
                  torch.device(str(a)) if isinstance(a, fovea.device) else
                  getattr(torch, a) if a == "float32" else a) for a in args]
        tkw = {k: tmap.get(v, v) for k, v in kw.items()}
        f, t = x64.to(*args, **kw), t64.to(*targs, **tkw)
        assert str(f.dtype) == str(t.dtype).replace("torch.", ""), (args, kw)
        assert (f is x64) == (t is t64), (args, kw)  # self only when nothing changes


def test_to_with_copy_gives_its_own_memory_and_bad_arguments_are_clear():
    x = fovea.ones(3)
    c = x.to("cpu", copy=True)
    assert c is not x and c.data_ptr() != x.data_ptr() and c.tolist() == x.tolist()
    with pytest.raises(TypeError, match="to: unexpected keyword argument 'devcie'"):
        x.to(devcie="cpu")
    with pytest.raises(RuntimeError, match="no backend for device 'tpu'"):
        x.to("tpu")


def test_to_another_device_moves_the_values_with_that_devices_backend():
    a = np.arange(6.0).reshape(2, 3)
    x = fovea.tensor(a)
    s = x.to("standin")
    assert s.device == "standin" and isinstance(s._data, standin.StandInArray)
    assert s.numpy().tolist() == a.tolist() and s.dtype == np.float64
    back = s.to("cpu")
    assert type(back._data) is np.ndarray and back.tolist() == a.tolist()
    assert s.cpu().device == "cpu"
    s[0, 0] = 100.0  # a move is a copy: the source does not change
    assert x[0, 0].item() == 0.0
    both = x.to("standin", fovea.float32)
    assert both.device == "standin" and both.dtype == np.float32
    assert x.to(s).device == "standin"  # to(other): other's device and dtype
    assert s.to(s) is s


def test_gradients_flow_back_across_a_move_to_the_source_device():
    x = fovea.tensor(np.array([1.0, -2.0]), requires_grad=True)
    y = (x.to("standin") * fovea.tensor(standin.to_device([3.0, 4.0]))).sum()
    assert y.device == "standin"
    y.backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [3.0, 4.0]
    s = fovea.tensor(standin.to_device([2.0]), requires_grad=True)
    (g,) = fovea.grad((s.to("cpu") ** 3).sum(), s, create_graph=True)  # 3 s²
    (h,) = fovea.grad(g.sum(), s)  # 6 s
    assert g.device == h.device == "standin" and h.tolist() == [12.0]


def test_without_a_gpu_backend_every_way_to_cuda_is_one_clear_error():
    assert not fovea.cuda.is_available() and fovea.cuda.device_count() == 0
    x = fovea.zeros(2)
    for attempt in (lambda: x.cuda(), lambda: x.to("cuda"), lambda: x.to("cuda:0"),
                    lambda: x.to(0), lambda: fovea.zeros(2, device="cuda"),
                    lambda: fovea.randn(2, device=fovea.device("cuda")),
                    lambda: nn.Linear(2, 2).cuda(), lambda: nn.Linear(2, 2).to("cuda"),
                    lambda: fovea.cuda.current_device()):
        with pytest.raises(RuntimeError, match=NO_CUDA):
            attempt()
    # the device-aware idiom runs unchanged on the CPU
    device = fovea.device("cuda" if fovea.cuda.is_available() else "cpu")
    model = nn.Linear(3, 2).to(device)
    assert model(fovea.ones(1, 3).to(device)).device == "cpu"
    fovea.cuda.manual_seed(0)
    fovea.cuda.manual_seed_all(0)


@contextlib.contextmanager
def standin_as_cuda():
    """The stand-in device registered under the name "cuda" (as the CuPy backend will be)."""
    backends.unregister(standin.NAME)
    backends.register(backends.Backend("cuda", standin.xp, (standin.StandInArray,)))
    try:
        yield
    finally:
        backends.unregister("cuda")
        standin.register()


def test_cuda_uses_whatever_backend_is_registered_as_cuda():
    x = fovea.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with standin_as_cuda():
        assert fovea.cuda.is_available() and fovea.cuda.device_count() == 1
        assert fovea.cuda.current_device() == 0
        g = x.cuda()
        assert g.is_cuda and g.device == "cuda" and isinstance(g._data, standin.StandInArray)
        assert x.to("cuda:0").is_cuda and fovea.ones(2, device="cuda").is_cuda
        (g * g).sum().backward()
        assert x.grad.device == "cpu" and x.grad.tolist() == [2.0, 4.0]
        model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).cuda()
        assert all(p.is_cuda for p in model.parameters())
        assert all(b.is_cuda for b in model.buffers())
        out = model(fovea.randn(4, 2).cuda())
        assert out.is_cuda
        assert model.cpu()[0].weight.device == "cpu"
    assert not fovea.cuda.is_available()


@needs_torch
def test_cudnn_flags_are_accepted_and_documented_no_ops():
    cudnn = fovea.backends.cudnn
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (
        torch.backends.cudnn.enabled, torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic)
    assert cudnn.is_available() is False and cudnn.version() is None
    x = fovea.randn(1, 2, 5, 5, generator=fovea.Generator().manual_seed(0))
    conv = nn.Conv2d(2, 3, 3)
    before = conv(x).detach().numpy().copy()
    try:
        cudnn.benchmark, cudnn.deterministic, cudnn.enabled = True, True, False
        np.testing.assert_array_equal(conv(x).detach().numpy(), before)
    finally:
        cudnn.benchmark, cudnn.deterministic, cudnn.enabled = False, False, True
