"""The backend seam: devices, the registry, ctx.xp per device, ctx.run, multi-output nodes.

The stand-in device (tests/backends/standin.py, registered by conftest.py) holds NumPy
memory in its own array type, so anything that silently leaves the device shows up.
"""

import numpy as np
import pytest

import fovea
from backends import standin
from fovea import backends
from fovea.autograd import Function
from oracle import check_op


def on_standin(a, requires_grad=False):
    return fovea.tensor(standin.to_device(np.asarray(a, dtype=np.float64)),
                        requires_grad=requires_grad)


def test_device_is_pytorch_like():
    d = fovea.device("cpu")
    assert repr(d) == "device(type='cpu')" and str(d) == "cpu"
    assert d == "cpu" and d == fovea.device("cpu") and d != "cuda"
    assert fovea.device("cuda:1") == fovea.device("cuda", 1)
    assert repr(fovea.device("cuda:1")) == "device(type='cuda', index=1)"
    assert fovea.tensor([1.0]).device == "cpu"
    with pytest.raises(ValueError):
        fovea.device("cuda:x")


def test_registry_finds_an_arrays_backend_and_the_most_specific_type_wins():
    cpu = backends.get("cpu")
    assert backends.for_array(np.zeros(2)) is cpu and backends.for_array(np.float32(1)) is cpu
    assert backends.for_array(standin.to_device([1.0])) is backends.get(standin.NAME)
    assert fovea.backends.array_module(np.zeros(1)) is np
    assert fovea.backends.array_module(standin.to_device([1.0])) is standin.xp
    with pytest.raises(TypeError, match="not an array of any registered backend"):
        backends.for_array([1.0])
    with pytest.raises(RuntimeError, match="no backend for device 'tpu'"):
        backends.get("tpu")


def test_two_devices_meeting_is_a_one_line_error_naming_the_op_and_both_devices():
    with pytest.raises(RuntimeError, match="matmul: expected all tensors on one device, got "
                                           "cpu and standin"):
        backends.for_arrays(np.zeros(2), standin.to_device([1.0]), op="matmul")
    with pytest.raises(RuntimeError, match="Mul: .* got standin and cpu"):
        on_standin([1.0]) * fovea.tensor(np.array([2.0]))
    with pytest.raises(RuntimeError, match="lt: .* got cpu and standin"):
        _ = fovea.tensor(np.array([2.0])) < on_standin([1.0])


def test_kernels_are_imported_lazily_and_a_device_without_them_gets_the_generic_ones():
    import fovea.backends.cpu as cpu_kernels
    import fovea.backends.generic as generic_kernels

    b = backends.Backend("nokernels", np, ())
    assert b._kernels is backends._NOT_LOADED  # nothing imported before first use
    assert b.kernels is generic_kernels
    assert backends.get(standin.NAME).kernels is generic_kernels
    assert backends.CPU.kernels is cpu_kernels
    broken = backends.Backend("broken", np, (), kernels="fovea.backends.no_such_package")
    with pytest.raises(ModuleNotFoundError):
        _ = broken.kernels  # a misnamed kernel package is an error, not a silent fallback


def test_ctx_kernels_follow_the_inputs_device_and_refuse_a_recorded_backward():
    import fovea.backends.cpu as cpu_kernels
    import fovea.backends.generic as generic_kernels

    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(ctx.kernels)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            if ctx.recording:
                with pytest.raises(RuntimeError, match="Probe: kernels are for raw arrays"):
                    _ = ctx.kernels
            return g * 2

    x = fovea.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (gx,) = fovea.grad(Probe.apply(x).sum(), x, create_graph=True)
    Probe.apply(on_standin([1.0]))
    assert seen == [cpu_kernels, generic_kernels]


def test_outputs_gradients_and_repr_stay_on_the_device():
    x = on_standin([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    y = (x.relu() * x.exp()).sum()
    assert y.device == standin.NAME and "device='standin'" in repr(y)
    y.backward()
    assert x.grad.device == standin.NAME
    assert isinstance(x.grad._data, standin.StandInArray)
    z = fovea.zeros_like(x)
    assert z.device == standin.NAME


class Square(Function):
    """x²: its backward calls Double through ctx.run (one body for both modes)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ctx.run(Double, g * x)


class Double(Function):
    calls = []

    @staticmethod
    def forward(ctx, x):
        Double.calls.append(type(x).__name__)
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        return ctx.run(Double, g)


def test_run_calls_forward_on_raw_arrays_and_apply_under_create_graph():
    x = fovea.tensor(np.array([1.5, -2.0]), requires_grad=True)
    Double.calls.clear()
    (g,) = fovea.grad(Square.apply(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), [3.0, -4.0])
    assert Double.calls == ["ndarray"]  # the raw forward: no node, no Tensor
    (g,) = fovea.grad(Square.apply(x).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn.name == "Double"  # recorded through apply
    (h,) = fovea.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [2.0, 2.0])  # d²(x²)/dx² = 2
    check_op(lambda t: Square.apply(t), lambda t: t * t, [np.array([0.5, -1.5, 2.0])],
             numpy_fn=np.square)


class MeanAndSumSq(Function):
    """Two outputs from one pass: (Σx/n, Σx²). Backward gets both gradients (None if unused)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.mean(x, axis=-1), ctx.xp.sum(x * x, axis=-1)

    @staticmethod
    def backward(ctx, g_mean, g_sq):
        (x,) = ctx.saved_tensors
        gx = 0
        if g_mean is not None:
            gx = ctx.xp.expand_dims(g_mean, -1) / x.shape[-1] + x * 0
        if g_sq is not None:
            gx = gx + 2 * x * ctx.xp.expand_dims(g_sq, -1)
        return gx


def test_a_function_with_two_outputs_gives_two_tensors_and_both_gradients():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    m, s = MeanAndSumSq.apply(fovea.tensor(a))
    np.testing.assert_allclose(m.numpy(), a.mean(-1))
    np.testing.assert_allclose(s.numpy(), (a * a).sum(-1))
    x = fovea.tensor(a, requires_grad=True)
    m, s = MeanAndSumSq.apply(x)
    (m * 3 + s).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 / 4 + 2 * a)
    (gs,) = fovea.grad(MeanAndSumSq.apply(x)[1].sum(), x)  # one output used: None for the other
    np.testing.assert_allclose(gs.numpy(), 2 * a)

    def combined(t):
        m, s = MeanAndSumSq.apply(t)
        return m * s

    check_op(combined, lambda t: t.mean(-1) * (t * t).sum(-1), [a])


class LeaksToNumPy(Function):
    """exp(x) with a bug: its forward calls NumPy directly instead of ctx.xp."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(np.asarray(x))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


def test_the_harness_catches_an_op_that_leaves_the_device():
    x = np.array([1.0, 2.0])
    check_op(lambda t: t.exp(), lambda t: t.exp(), [x], numpy_fn=np.exp)  # correct: passes
    with pytest.raises(AssertionError, match="standin: output is a ndarray, not a standin"):
        check_op(lambda t: LeaksToNumPy.apply(t), lambda t: t.exp(), [x], numpy_fn=np.exp)


def test_the_stand_in_refuses_numpy_functions_called_outside_its_array_module():
    """An op that calls NumPy itself on device data (``np.zeros_like(x)``) is caught, as CuPy
    would refuse it; the device's own module (``ctx.xp``) is fine."""

    class Leaky(Function):
        @staticmethod
        def forward(ctx, x):
            return np.zeros_like(x) + x

    class Clean(Function):
        @staticmethod
        def forward(ctx, x):
            return ctx.xp.zeros_like(x) + x

    x = on_standin([1.0, 2.0])
    with pytest.raises(TypeError, match="numpy.zeros_like called on a standin array"):
        Leaky.apply(x)
    assert Clean.apply(x).device == standin.NAME


def test_numpy_of_a_device_tensor_is_a_host_array_with_its_values():
    x = on_standin([[1.0, -2.0]])
    host = x.numpy()
    assert type(host) is np.ndarray and host.tolist() == [[1.0, -2.0]]
    cpu = fovea.tensor(np.array([3.0]))
    assert cpu.numpy() is cpu._data  # the CPU shares, as torch's numpy() does
