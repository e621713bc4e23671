"""The passes on traced graphs, each checked for what it changes (node counts, the kind of
node) and for what it must not change (outputs and gradients equal the unoptimised replay
and eager execution); buffer lifetimes checked by peak memory (tracemalloc)."""

import gc
import tracemalloc

import numpy as np
import pytest

import fovea
import fovea.jit as jit
import fovea.models
import fovea.nn as nn
import fovea.nn.functional as F
from fovea import config
from fovea.jit import passes
from fovea.jit.executor import Plan


def _t(*shape, seed=0, grad=False):
    rng = np.random.default_rng(seed)
    return fovea.tensor(rng.standard_normal(shape), requires_grad=grad)


def _grads(traced_or_fn, *shapes):
    xs = [_t(*s, seed=k + 10, grad=True) for k, s in enumerate(shapes)]
    out = traced_or_fn(*xs)
    out.backward()
    return out.item(), [x.grad.numpy() for x in xs]


def _same_as_eager(fn, *shapes, **kw):
    traced = jit.trace(fn, tuple(_t(*s, seed=k) for k, s in enumerate(shapes)), **kw)
    got, want = _grads(traced, *shapes), _grads(fn, *shapes)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    for a, b in zip(got[1], want[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    return traced


def test_dead_nodes_are_eliminated():
    def fn(x):
        unused = (x * 3).exp()  # noqa: F841 - dead on purpose
        return x.sin().sum()

    traced = _same_as_eager(fn, (4,))
    names = [n.name for n in traced.traced_graph.nodes]
    assert "Exp" in names
    assert traced.pass_stats["dce"] == 2
    assert [n.name for n in traced.graph.nodes] == ["Sin", "Sum"]
    g, removed = passes.eliminate_dead_nodes(traced.traced_graph)
    assert removed == 2 and len(g.nodes) == 2
    assert len(traced.traced_graph.nodes) == 4  # the input graph is left as it was


def test_dead_nodes_with_side_effects_stay():
    bn = nn.BatchNorm1d(3).double()

    def fn(x):
        bn(x)  # result unused, but the running statistics are updated
        return x.sum()

    x0, x = _t(5, 3), _t(5, 3, seed=2)
    traced = jit.trace(fn, x0, check_trace=False)  # a function's trace runs it: one update
    assert "BatchNorm" in [n.name for n in traced.graph.nodes]
    traced(x)
    want = 0.9 * 0.1 * x0.numpy().mean(0) + 0.1 * x.numpy().mean(0)
    np.testing.assert_allclose(bn.running_mean.numpy(), want, rtol=1e-12)


def test_constants_are_folded():
    table = fovea.arange(4, dtype=fovea.float64)  # a constant captured by the function

    def fn(x):
        scale = (table * 2 + 1).exp().sum()  # depends on constants only
        return (x * scale).sum()

    traced = _same_as_eager(fn, (4,))
    assert traced.pass_stats["fold"] == 4
    assert [n.name for n in traced.graph.nodes] == ["Mul", "Sum"]
    assert "= constant" in str(traced.graph)
    unopt = jit.trace(fn, _t(4), optimize=False)
    assert len(unopt.graph.nodes) == 6 and unopt.pass_stats == {}


@pytest.mark.parametrize("layer", ["linear", "conv", "batchnorm"])
def test_producer_relu_pairs_are_fused(layer):
    fovea.manual_seed(0)
    if layer == "linear":
        m, shape = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 1)), (4, 6)
    elif layer == "conv":
        m, shape = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Flatten()), (2, 2, 5, 5)
    else:
        m, shape = nn.Sequential(nn.BatchNorm1d(6), nn.ReLU()), (4, 6)
    m = m.double()

    def fn(x):
        return (m(x) ** 2).sum()

    traced = _same_as_eager(fn, shape)
    assert traced.pass_stats["fuse"] == 1
    fused = [n for n in traced.graph.nodes if n.cls is passes.ReluAfter]
    assert len(fused) == 1 and fused[0].name.endswith("+Relu")
    # parameter gradients equal the unfused replay's
    plain = jit.trace(fn, _t(*shape), passes=("fold", "dce"))
    x = _t(*shape, seed=5)
    grads = []
    for t in (traced, plain):
        m.zero_grad()
        t(x).backward()
        grads.append([p.grad.numpy().copy() for p in m.parameters()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_relu_with_another_use_is_not_fused():
    lin = nn.Linear(3, 3).double()

    def fn(x):
        h = lin(x)
        return (F.relu(h) + h).sum()  # h is read twice

    traced = _same_as_eager(fn, (2, 3))
    assert traced.pass_stats["fuse"] == 0


def test_unknown_pass_is_refused():
    with pytest.raises(ValueError, match="unknown pass 'cse'"):
        jit.trace(lambda x: x.sum(), _t(2), passes=("cse",))


def test_every_intermediate_is_freed_after_its_last_use():
    def fn(x):
        a = x.exp()
        b = a * 2
        c = b.sin()
        d = c + 1
        return d.sum()

    traced = jit.trace(fn, _t(4))
    plan = Plan(traced.graph, (False,))
    freed = [step[7] for step in plan.steps]
    # a after Mul, b after Sin, c after Add, d after Sum
    assert [len(f) for f in freed] == [0, 1, 1, 1, 1]


def _peak(fn, *args):
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_replay_peak_memory_is_below_eager_when_python_holds_intermediates():
    def fn(x):
        a = x.exp()
        b = a * 2
        c = b.sin()
        d = c + 1
        return d.sum()  # eager holds a, b, c, d until here

    x = _t(200_000)
    traced = jit.trace(fn, x)
    with fovea.no_grad():
        traced(x)
        eager, replay = _peak(fn, x), _peak(traced, x)
    mb = 200_000 * 8
    assert eager >= 3.5 * mb and replay <= 2.5 * mb, (eager / mb, replay / mb)


def test_traced_resnet20_step_peak_memory_is_not_above_eager():
    with config.override(jit=False):
        fovea.manual_seed(0)
        model = fovea.models.resnet20()
        rng = np.random.default_rng(0)
        x = fovea.tensor(rng.standard_normal((8, 3, 32, 32)).astype(np.float32))
        y = fovea.tensor(rng.integers(0, 10, 8))
        opt = fovea.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def eager(x, y):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()

        step = jit.trace_train_step(model, F.cross_entropy, opt, (x, y))
        eager(x, y)
        step(x, y)  # optimizer state exists before measuring
        e, t = _peak(eager, x, y), _peak(step, x, y)
    assert t <= e, (t, e)
