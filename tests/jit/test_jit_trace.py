"""fovea.jit.trace: replay equals eager (values and gradients), parameters stay live, the
graph prints, shape/dtype/mode changes re-trace or raise, and what a trace cannot follow
(data-dependent control flow, random numbers, arrays computed outside the ops) is warned about
or handled (fovea.jit.wrap, bound array parameters, in-place writes)."""

import warnings

import numpy as np
import pytest

import fovea
import fovea.jit as jit
import fovea.nn as nn
import fovea.nn.functional as F
from fovea.errors import DTypeError, ShapeError


def _t(*shape, seed=0, grad=False, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return fovea.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=grad)


def _fn(x, y):
    h = (x * y + x.exp()).tanh()
    return h.sum(dim=1), (h @ y.T).relu().mean()


def test_function_replay_equals_eager_values_and_gradients():
    traced = jit.trace(_fn, (_t(3, 4), _t(3, 4, seed=1)))
    x, y = _t(3, 4, seed=2, grad=True), _t(3, 4, seed=3, grad=True)
    a, b = traced(x, y)
    (a.sum() * 2 + b).backward()
    gx, gy = x.grad.numpy().copy(), y.grad.numpy().copy()
    x.grad = y.grad = None
    ea, eb = _fn(x, y)
    (ea.sum() * 2 + eb).backward()
    np.testing.assert_allclose(a.detach().numpy(), ea.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.item(), eb.item(), rtol=1e-12)
    np.testing.assert_allclose(gx, x.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gy, y.grad.numpy(), rtol=1e-12)
    assert a.requires_grad and a.grad_fn is not None


def test_no_grad_replay_makes_no_graph():
    traced = jit.trace(_fn, (_t(3, 4), _t(3, 4, seed=1)))
    with fovea.no_grad():
        a, _ = traced(_t(3, 4, grad=True), _t(3, 4, seed=1))
    assert not a.requires_grad


def test_graph_prints_inputs_live_parameters_nodes_and_return():
    lin = nn.Linear(4, 2).double()
    traced = jit.trace(lin, _t(3, 4))
    text = str(traced.graph)
    assert text.startswith("graph(%0 : float64[3, 4]")
    assert "live weight" in text and "live bias" in text
    assert "= Linear(%0, %1, %2)" in text
    assert text.endswith("return (%3)")


def test_parameters_stay_live_so_updates_are_seen():
    lin = nn.Linear(4, 2).double()
    x = _t(3, 4)
    traced = jit.trace(lin, x)
    with fovea.no_grad():
        lin.weight.mul_(2.0)
        lin.bias.add_(1.0)
    np.testing.assert_allclose(traced(x).detach().numpy(), lin(x).detach().numpy())
    lin.load_state_dict({"weight": fovea.zeros(2, 4, dtype=fovea.float64),
                         "bias": fovea.ones(2, dtype=fovea.float64)})
    np.testing.assert_allclose(traced(x).detach().numpy(), np.ones((3, 2)))


def test_captured_tensor_that_requires_grad_is_live_and_gets_gradients():
    w = _t(4, 2, seed=5, grad=True)
    traced = jit.trace(lambda x: (x @ w).sum(), _t(3, 4))
    x = _t(3, 4, seed=6)
    traced(x).backward()
    np.testing.assert_allclose(w.grad.numpy(), np.repeat(x.numpy().sum(0)[:, None], 2, 1))


def test_shape_change_retraces_by_default_and_keeps_both_traces():
    traced = jit.trace(_fn, (_t(3, 4), _t(3, 4, seed=1)))
    a, _ = traced(_t(5, 4), _t(5, 4, seed=1))
    assert a.shape == (5,)
    assert traced.graph.inputs and traced.graph.values[0].shape == (5, 4)
    assert len(traced._traces) == 2


def test_shape_and_dtype_change_raise_with_on_shape_change_error():
    traced = jit.trace(_fn, (_t(3, 4), _t(3, 4, seed=1)), on_shape_change="error")
    with pytest.raises(ShapeError, match=r"input 0 has shape \(5, 4\) but the trace was "
                                         r"recorded for \(3, 4\)"):
        traced(_t(5, 4), _t(5, 4))
    with pytest.raises(DTypeError, match="input 1 has dtype float32"):
        traced(_t(3, 4), _t(3, 4, dtype=np.float32))
    with pytest.raises(ValueError, match="on_shape_change must be one of"):
        jit.trace(_fn, (_t(3, 4), _t(3, 4)), on_shape_change="ignore")


def test_train_eval_change_of_a_module_retraces_or_raises():
    fovea.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)).double()
    m.eval()
    x = _t(3, 4)
    traced = jit.trace(m, x, on_shape_change="error")
    m.train()
    with pytest.raises(RuntimeError, match="train/eval mode changed"):
        traced(x)
    m.eval()
    np.testing.assert_allclose(traced(x).detach().numpy(), m(x).detach().numpy())


@pytest.mark.filterwarnings("ignore::fovea.jit.TracerWarning")
def test_argument_errors():
    traced = jit.trace(_fn, (_t(3, 4), _t(3, 4)))
    with pytest.raises(TypeError, match="takes 2 tensor argument"):
        traced(_t(3, 4))
    with pytest.raises(TypeError, match="must be Tensors"):
        traced(_t(3, 4), np.zeros((3, 4)))
    with pytest.raises(TypeError, match="example inputs must be Tensors"):
        jit.trace(_fn, (np.zeros(3), np.zeros(3)))
    with pytest.raises(ValueError, match="returned a list"):
        jit.trace(lambda x: [x.exp()], _t(2))
    assert isinstance(jit.trace(lambda x: [x.exp()], _t(2), strict=False)(_t(2)), list)
    with pytest.raises(TypeError, match="must return tensors"):
        jit.trace(lambda x: x.sum().item(), _t(2))


def test_trace_module_takes_the_forward_inputs():
    lin = nn.Linear(4, 2).double()
    traced = jit.trace_module(lin, {"forward": _t(3, 4)})
    assert isinstance(traced, jit.TracedModule)
    assert list(traced.parameters()) == list(lin.parameters())
    with pytest.raises(ValueError, match="only the 'forward' method"):
        jit.trace_module(lin, {"other": _t(3, 4)})


def test_second_backward_through_a_replay_is_refused():
    traced = jit.trace(lambda x: (x * x).sum(), _t(3))
    x = _t(3, grad=True)
    out = traced(x)
    out.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="second time"):
        out.backward()


# --- what a trace cannot follow --------------------------------------------------------------

def _branchy(x):
    if x.sum() > 0:  # Python control flow on data
        return x * 2
    return x * -1


def test_data_dependent_control_flow_is_warned_and_the_check_catches_it():
    x = fovea.tensor([1.0, 2.0])
    with pytest.warns(jit.TracerWarning) as record:
        jit.trace(_branchy, x)
    messages = [str(r.message) for r in record]
    assert any("Python boolean" in m for m in messages)
    assert any("differs from the Python callable on other inputs" in m for m in messages)


def test_item_on_a_traced_value_warns_but_on_a_constant_does_not():
    three = fovea.tensor(3.0)  # made before the trace: a constant

    def fn(x):
        return x * three.item()

    with warnings.catch_warnings():
        warnings.simplefilter("error", jit.TracerWarning)
        jit.trace(fn, _t(2))
    with pytest.warns(jit.TracerWarning, match=r"Python number \(item\)"):
        jit.trace(lambda x: x * x.sum().item(), _t(2), check_trace=False)
    with pytest.warns(jit.TracerWarning, match=r"Python boolean"):  # a comparison's result
        jit.trace(lambda x: x * 2 if (x > 0).all() else x, _t(2), check_trace=False)


def test_random_numbers_drawn_during_tracing_are_warned_about():
    with pytest.warns(jit.TracerWarning, match="random numbers drawn during tracing"):
        jit.trace(lambda x: F.dropout(x, 0.5, training=True), _t(10), check_trace=False)
    with pytest.warns(jit.TracerWarning, match="random numbers drawn during tracing"):
        jit.trace(lambda x: x + fovea.randn(10, dtype=fovea.float64), _t(10),
                  check_trace=False)


def test_array_computed_outside_the_ops_is_warned_and_wrap_fixes_it():
    def top(x):
        return x.sort(dim=0).values * 1.0

    with pytest.warns(jit.TracerWarning, match="array parameter 'indices' was computed"):
        stale = jit.trace(top, _t(5), check_trace=False)
    x = _t(5, seed=9)
    assert not np.allclose(stale(x).numpy(), np.sort(x.numpy()))
    wrapped = jit.wrap(top)
    with warnings.catch_warnings():
        warnings.simplefilter("error", jit.TracerWarning)
        good = jit.trace(wrapped, _t(5))
    x = _t(5, seed=9, grad=True)
    out = good(x)
    np.testing.assert_allclose(out.detach().numpy(), np.sort(x.detach().numpy()))
    (out * fovea.arange(5, dtype=fovea.float64)).sum().backward()
    order = np.argsort(x.detach().numpy())
    expected = np.zeros(5)
    expected[order] = np.arange(5)
    np.testing.assert_allclose(x.grad.numpy(), expected)
    assert "PythonCall" in str(good.graph)
    assert wrapped(x).shape == (5,)  # outside a trace: the function itself


def test_index_arrays_of_graph_values_are_bound_not_frozen():
    def pick(x, idx):
        return x.gather(1, idx) * 2

    idx0 = fovea.tensor([[0], [1]])
    traced = jit.trace(pick, (_t(2, 3), idx0))
    x, idx = _t(2, 3, seed=4), fovea.tensor([[2], [0]])
    np.testing.assert_allclose(traced(x, idx).numpy(),
                               np.take_along_axis(x.numpy(), idx.numpy(), 1) * 2)


def test_detach_and_in_place_updates_are_followed():
    def fn(x):
        y = x * 3
        z = y.detach()  # no gradient through z
        w = x.exp()
        w *= 2  # in place on a non-leaf: recorded, or a node's result copied in
        return (y + z + w).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error", jit.TracerWarning)
        traced = jit.trace(fn, _t(4))
    x = _t(4, seed=3, grad=True)
    traced(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 + 2 * np.exp(x.detach().numpy()))
    with fovea.no_grad():
        np.testing.assert_allclose(traced(x).item(), fn(x).item())


def test_raw_in_place_write_outside_the_ops_is_warned():
    def fn(x):
        w = x.exp()
        w.mul_(2)  # NumPy in place, no node
        return w.sum()

    with fovea.no_grad(), pytest.warns(jit.TracerWarning,
                                       match="modified in place outside the recorded ops"):
        jit.trace(fn, _t(4), check_trace=False)


def test_in_place_relu_in_no_grad_mode_is_followed():
    fovea.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 4), nn.ReLU(inplace=True), nn.Linear(4, 2)).double()
    m.eval()
    x = _t(3, 4)
    with fovea.no_grad():
        traced = jit.trace(m, x)
        x2 = _t(3, 4, seed=8)
        np.testing.assert_allclose(traced(x2).numpy(), m(x2).numpy())


def test_tracing_leaves_buffers_as_they_were():
    bn = nn.BatchNorm1d(3).double()
    x = _t(5, 3)
    jit.trace(bn, x)
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(3))
    assert int(bn.num_batches_tracked.item()) == 0


class _SplitHalves(fovea.autograd.Function):
    """Two outputs: the first and second half of x, times 2 and 3."""

    @staticmethod
    def forward(ctx, x):
        n = x.shape[0] // 2
        return x[:n] * 2, x[n:] * 3

    @staticmethod
    def backward(ctx, ga, gb):
        parts = [np.zeros(2) if ga is None else ga * 2, np.zeros(2) if gb is None else gb * 3]
        return np.concatenate(parts)


def test_multi_output_nodes_and_nested_outputs_replay_with_gradients():
    def fn(x):
        a, b = _SplitHalves.apply(x)
        return a.exp(), (b.sum(), a * b)

    traced = jit.trace(fn, _t(4))
    assert traced.graph.nodes[0].multi
    x = _t(4, seed=7, grad=True)
    a, (s, p) = traced(x)
    (a.sum() + s * 2 + p.sum()).backward()
    g = x.grad.numpy().copy()
    x.grad = None
    ea, (es, ep) = fn(x)
    (ea.sum() + es * 2 + ep.sum()).backward()
    np.testing.assert_allclose(a.detach().numpy(), ea.detach().numpy())
    np.testing.assert_allclose(g, x.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU])
def test_recurrent_layers_replay_outputs_states_and_gradients(cls):
    fovea.manual_seed(0)
    m = cls(4, 5, num_layers=2, batch_first=True).double()
    traced = jit.trace(m, _t(3, 6, 4))
    x = _t(3, 6, 4, seed=1, grad=True)
    results = []
    for f in (traced, m):
        m.zero_grad()
        x.grad = None
        y, h = f(x)
        h = h[0] if isinstance(h, tuple) else h
        ((y ** 2).sum() + (h * 3).sum()).backward()
        results.append([y.detach().numpy(), x.grad.numpy().copy()]
                       + [p.grad.numpy().copy() for p in m.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_eval_mode_batch_norm_follows_its_running_statistics():
    # Evaluation-mode batch norm derives 1/sqrt(running_var + eps) from a buffer: the trace
    # recomputes it (a tracing rule), so later training or a loaded state is seen.
    fovea.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU()).double()
    m.eval()
    x = _t(2, 2, 5, 5)
    traced = jit.trace(m, x)
    m.train()
    m(_t(4, 2, 5, 5, seed=3) * 3 + 1)  # new running statistics
    m.eval()
    with fovea.no_grad():
        np.testing.assert_allclose(traced(x).numpy(), m(x).numpy(), rtol=1e-12)
        eager = m(x).numpy()
    state = {k: v.detach() for k, v in m.state_dict().items()}
    state["1.running_var"] = state["1.running_var"] * 4
    m.load_state_dict(state)
    with fovea.no_grad():
        assert not np.allclose(m(x).numpy(), eager)
        np.testing.assert_allclose(traced(x).numpy(), m(x).numpy(), rtol=1e-12)


def test_masks_from_comparisons_follow_new_inputs():
    def fn(x):
        return (x * (x > 0) + x.isnan() + (x <= 0.5)).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error", jit.TracerWarning)
        traced = jit.trace(fn, fovea.tensor([1.0, -2.0, 0.3]))
    assert "ArrayFn" in str(traced.graph) and "name='greater'" in str(traced.graph)
    x = fovea.tensor([-1.0, 2.0, 0.7], requires_grad=True)
    out = traced(x)
    assert out.item() == pytest.approx(fn(x).item())
    out.backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0]


def test_a_traced_callable_inside_another_trace_is_one_node():
    fovea.manual_seed(0)
    lin = nn.Linear(3, 3).double()
    inner = jit.trace(lin, _t(2, 3))
    outer = jit.trace(lambda x: inner(x).exp().sum(), _t(2, 3))
    assert [n.name for n in outer.graph.nodes] == ["Replay", "Exp", "Sum"]
    x = _t(2, 3, seed=4)
    outer(x).backward()
    g = lin.weight.grad.numpy().copy()
    lin.weight.grad = None
    lin(x).exp().sum().backward()
    np.testing.assert_allclose(g, lin.weight.grad.numpy(), rtol=1e-12)
