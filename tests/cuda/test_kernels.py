"""The CUDA kernel package on the CPU: each family's fallback (a NumPy stand-in for CuPy
arrays) and its fused path (a fake CuPy whose ElementwiseKernel runs the kernels' formulas
in NumPy, see cuda_shim.EMULATED) against the CPU kernels; the namespace's scatter-adds.

What this cannot test: the CUDA C of the fused kernels (compiled and run only on a GPU,
tests/cuda/test_gpu.py)."""

from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import pytest
from cuda_shim import FakeElementwiseKernel

import fovea
from backends import standin
from fovea import config
from fovea._arrayns import ArrayNamespace
from fovea.backends.cpu import elementwise as cpu_elementwise
from fovea.backends.cpu import norm as cpu_norm
from fovea.backends.cuda import elementwise, fused, norm, optim, runtime

rng = np.random.default_rng(0)
dev = standin.to_device


def host(a):
    return np.asarray(a.view(np.ndarray))


@pytest.fixture(params=["fallback", "fused"])
def path(request, monkeypatch):
    """Run each test on the fallback (stand-in arrays are not CuPy's) and on the fused path
    (a fake CuPy module whose ndarray is the stand-in's)."""
    monkeypatch.setattr(fused, "_built", {})
    if request.param == "fused":
        cp = types.ModuleType("cupy")
        cp.ndarray = standin.StandInArray
        cp.ElementwiseKernel = FakeElementwiseKernel
        monkeypatch.setitem(sys.modules, "cupy", cp)
    else:
        monkeypatch.setitem(sys.modules, "cupy", None)
    return request.param


def test_usable_decides_the_fused_path(path):
    x32 = dev(rng.standard_normal(4).astype(np.float32))
    expected = path == "fused"
    assert fused.usable(x32) is expected
    assert fused.usable(x32, dev(np.ones(4, np.float32))) is expected
    assert not fused.usable(x32, dev(np.ones(4)))          # mixed dtypes
    assert not fused.usable(dev(np.arange(4)))              # integers
    assert not fused.usable(x32.view(np.ndarray))           # not the GPU's array type
    with config.override(jit=False):                        # FOVEA_JIT=0: array expressions
        assert not fused.usable(x32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_and_its_gradient_match_the_cpu(path, dtype):
    x = rng.standard_normal((3, 5)).astype(dtype)
    x[0, 0], x[1, 1] = np.nan, 0.0
    g = rng.standard_normal((3, 5)).astype(dtype)
    y = elementwise.relu(dev(x))
    assert isinstance(y, standin.StandInArray) and y.dtype == dtype
    np.testing.assert_array_equal(host(y), cpu_elementwise.relu(x))
    gy = elementwise.relu_grad(y, dev(g))
    np.testing.assert_array_equal(host(gy), cpu_elementwise.relu_grad(cpu_elementwise.relu(x), g))
    assert (path == "fused") == ("relu" in fused._built)


@pytest.mark.parametrize("shape,affine", [((4, 3, 5, 6), True), ((8, 2), False),
                                          ((2, 3, 4), True)])
def test_batch_norm_matches_the_cpu(path, shape, affine):
    x = rng.standard_normal(shape) * 3 + 1
    c = shape[1]
    w, b = (rng.standard_normal(c), rng.standard_normal(c)) if affine else (None, None)
    g = rng.standard_normal(shape)
    with config.override(jit=False):
        y_ref, s_ref = cpu_norm.batch_norm_train(x, w, b, 1e-5)
        ref = s_ref.backward(g, w, True)
    on = [None if a is None else dev(a) for a in (x, w, b)]
    y, state = norm.batch_norm_train(*on, 1e-5)
    np.testing.assert_allclose(host(y), y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(host(state.mean), s_ref.mean, rtol=1e-12)
    np.testing.assert_allclose(host(state.var), s_ref.var, rtol=1e-12)
    assert state.count == s_ref.count
    got = state.backward(dev(g), on[1], True)
    for a, r in zip(got, ref):
        assert isinstance(a, standin.StandInArray)
        np.testing.assert_allclose(host(a), r, rtol=1e-10, atol=1e-12)
    assert state.backward(dev(g), on[1], False)[0] is None
    assert (path == "fused") == ("bn_grad" in fused._built)


@pytest.mark.parametrize("beta1", [0.9, 0.3])
def test_adam_step_matches_fovea_optim_on_the_cpu(path, beta1):
    p0 = rng.standard_normal((6, 7)).astype(np.float32)
    grads = [rng.standard_normal(p0.shape).astype(np.float32) for _ in range(3)]
    p_cpu = fovea.nn.Parameter(fovea.tensor(p0.copy()))
    opt = fovea.optim.Adam([p_cpu], lr=0.01, betas=(beta1, 0.99), eps=1e-6)
    p, m, v = dev(p0.copy()), dev(np.zeros_like(p0)), dev(np.zeros_like(p0))
    for step, g in enumerate(grads, 1):
        p_cpu.grad = fovea.tensor(g)
        opt.step()
        optim.adam_step_(p, dev(g), m, v, 0.01 / (1 - beta1 ** step), beta1, 0.99, 1e-6,
                         np.sqrt(1 - 0.99 ** step))
    assert p.dtype == np.float32
    np.testing.assert_allclose(host(p), p_cpu.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(host(m), opt.state[p_cpu]["exp_avg"].numpy(), rtol=1e-6)
    np.testing.assert_allclose(host(v), opt.state[p_cpu]["exp_avg_sq"].numpy(), rtol=1e-6)
    assert (path == "fused") == ("adam" in fused._built)


def test_the_package_delegates_other_families_to_generic():
    import fovea.backends.cuda as cuda_kernels
    from fovea.backends.generic import conv, pool

    assert cuda_kernels.conv is conv and cuda_kernels.pool is pool
    assert cuda_kernels.norm is norm and cuda_kernels.optim is optim
    with pytest.raises(AttributeError, match="no kernel family 'nothing'"):
        cuda_kernels.nothing  # noqa: B018


@pytest.mark.skipif(importlib.util.find_spec("cupy") is None, reason="CuPy is not installed")
def test_real_cupy_accepts_every_kernel_definition(monkeypatch):
    """CuPy parses each kernel's parameters at construction (compiling waits for a GPU)."""
    import cupy

    monkeypatch.setattr(fused, "_built", {})
    for name, (in_params, out_params, _) in fused.SOURCES.items():
        k = fused.kernel(name, cupy)
        assert isinstance(k, cupy.ElementwiseKernel) and k.name == f"fovea_{name}"
        assert (k.nin, k.nout) == (len(in_params.split(",")), len(out_params.split(",")))
    assert [p.name for p in fused.kernel("adam").params[:9]] == [
        "g", "step_size", "beta1", "beta2", "eps", "bc2_sqrt", "p", "m", "v"]


# --- the namespace ------------------------------------------------------------------------
def test_namespace_scatter_adds_accumulate_through_the_hook():
    calls = []
    def scatter_add(out, key, v):
        calls.append(1)
        standin.xp.add.at(out, key, v)

    ns = runtime.CudaNamespace(standin.xp, None, scatter_add)
    cpu = ArrayNamespace(np)
    idx = np.array([0, 2, 2, 1, 2])
    values = rng.standard_normal((5, 3))
    got = ns.scatter_add_zeros((4, 3), dev(idx), dev(values))
    np.testing.assert_array_equal(host(got), cpu.scatter_add_zeros((4, 3), idx, values))
    assert calls == [1]
    mask = np.array([True, False, True, False])
    got = ns.scatter_add_zeros((4, 3), dev(mask), dev(values[:2]))  # a mask: a plain write
    np.testing.assert_array_equal(host(got), cpu.scatter_add_zeros((4, 3), mask, values[:2]))
    got = ns.scatter_add_zeros((4, 3), (slice(1, 3),), dev(values[:2]))
    np.testing.assert_array_equal(host(got), cpu.scatter_add_zeros((4, 3), (slice(1, 3),),
                                                                   values[:2]))
    assert calls == [1]


@pytest.mark.parametrize("shape,ishape,axis", [((3, 4), (3, 1), 1), ((3, 4), (3, 6), 1),
                                               ((5, 2, 3), (2, 2, 3), 0), ((4, 5), (2, 3), 1)])
def test_namespace_put_along_axis_zeros_matches_the_cpu(shape, ishape, axis):
    ns = runtime.CudaNamespace(standin.xp, None, standin.xp.add.at)
    idx = rng.integers(0, shape[axis], ishape)
    values = rng.standard_normal(ishape)
    got = ns.put_along_axis_zeros(shape, dev(idx), dev(values), axis)
    ref = ArrayNamespace(np).put_along_axis_zeros(shape, idx, values, axis)
    np.testing.assert_allclose(host(got), ref, rtol=1e-15)


def test_namespace_open_grid_matches_numpy():
    ns = runtime.CudaNamespace(standin.xp, None, None)
    for got, ref in zip(ns.indices((2, 3, 4), sparse=True), np.indices((2, 3, 4), sparse=True)):
        np.testing.assert_array_equal(host(got), ref)
    np.testing.assert_array_equal(host(ns.indices((2, 3))), np.indices((2, 3)))
