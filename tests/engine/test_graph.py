"""The engine's mechanics: the lectures' worked examples, branching, ordering, freeing,
accumulation, grad mode, in-place detection, higher-order gradients."""

import gc
import math
import tracemalloc
import weakref

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F


def scalar(v):
    return fovea.tensor(float(v), dtype=np.float64, requires_grad=True)


def test_lecture_example_x_plus_y_times_z():
    x, y, z = scalar(-2), scalar(5), scalar(-4)
    q = x + y
    f = q * z
    f.backward()
    assert f.item() == -12
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4, -4, 3)


def test_lecture_example_sigmoid_neuron():
    # f(w, x) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) at w = [2, -3, -3], x = [-1, -2]
    w0, x0, w1, x1, w2 = scalar(2), scalar(-1), scalar(-3), scalar(-2), scalar(-3)
    f = 1 / (1 + fovea.exp(-(w0 * x0 + w1 * x1 + w2)))
    f.backward()
    assert f.item() == pytest.approx(0.7310585786)
    s = f.item()
    local = (1 - s) * s  # the fused sigmoid gate's gradient, ~0.2
    assert [x0.grad.item(), x1.grad.item()] == pytest.approx([2 * local, -3 * local])
    assert [w0.grad.item(), w1.grad.item(), w2.grad.item()] == pytest.approx(
        [-1 * local, -2 * local, local])
    assert [round(w0.grad.item(), 2), round(x0.grad.item(), 2)] == [-0.2, 0.39]
    # The fused node gives the same gradient as the chain of primitives.
    w = fovea.tensor(np.array([2.0, -3.0, -3.0]), requires_grad=True)
    fovea.sigmoid(w[0] * -1.0 + w[1] * -2.0 + w[2]).backward()
    np.testing.assert_allclose(w.grad.numpy(), [-local, -2 * local, local])


def test_gradients_add_at_branches():
    x = scalar(3)
    f = x * x + x  # x feeds three paths
    f.backward()
    assert x.grad.item() == 2 * 3 + 1


def test_patterns_in_backward_flow_add_distributes_max_routes_mul_switches():
    x, y, z, w = scalar(3), scalar(-4), scalar(2), scalar(-1)
    f = 2 * (x * y + fovea.maximum(z, w))
    f.backward()
    assert (x.grad.item(), y.grad.item()) == (-8, 6)  # mul switches the inputs
    assert (z.grad.item(), w.grad.item()) == (2, 0)  # max routes to the larger


def test_ten_thousand_node_chain_backward_without_recursion():
    x = scalar(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-9)


def test_diamond_graph_each_node_runs_once_after_all_consumers():
    x = scalar(2)
    a = x * 3
    b = a.exp()
    c = a * a
    f = b + c + a
    f.backward()
    assert x.grad.item() == pytest.approx(3 * (math.exp(6) + 2 * 6 + 1))


def test_backward_on_non_scalar_requires_a_gradient():
    x = fovea.tensor(np.ones(3), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="only for scalar outputs.*shape \\(3,\\)"):
        y.backward()
    y.backward(fovea.tensor(np.array([1.0, 2.0, 3.0])))
    np.testing.assert_array_equal(x.grad.numpy(), [2, 4, 6])


def test_grad_shape_mismatch_is_a_value_error():
    x = fovea.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="gradient has shape \\(2,\\)"):
        (x * 2).backward(fovea.ones(2))


def test_leaf_grads_accumulate_across_backward_calls():
    x = scalar(2)
    (x * x).backward()
    (x * 3).backward()
    assert x.grad.item() == 4 + 3


def test_saved_arrays_are_freed_and_second_backward_fails_clearly():
    x = scalar(2)
    y = x * x
    node = y.grad_fn
    y.backward()
    assert node._saved is None
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = scalar(2)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8


def test_inputs_without_grad_get_none_and_no_graph_is_recorded_for_them():
    a = fovea.tensor(np.ones(2))
    b = fovea.tensor(np.ones(2), requires_grad=True)
    out = (a * 2).sum()
    assert out.grad_fn is None and not out.requires_grad
    (a * b).sum().backward()
    assert a.grad is None and b.grad is not None


def test_no_grad_context_and_decorator():
    x = scalar(1)
    with fovea.no_grad():
        y = x * 2
        with fovea.enable_grad():
            z = x * 2
    assert y.grad_fn is None and z.grad_fn is not None

    @fovea.no_grad()
    def f(t):
        return t * 2

    assert f(x).grad_fn is None
    assert fovea.is_grad_enabled()


def test_in_place_change_of_a_saved_tensor_is_detected():
    x = fovea.tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = fovea.tensor(np.array([3.0, 4.0]))
    y = (x * w).sum()
    w.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_in_place_on_a_tensor_that_requires_grad_is_refused_in_grad_mode():
    x = fovea.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place operation on a tensor that requires grad"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="requires grad"):
        x[0] = 5.0
    with fovea.no_grad():
        x.sub_(0.5)
    np.testing.assert_array_equal(x.detach().numpy(), [0.5, 0.5])


def test_numpy_is_refused_on_tensors_that_require_grad():
    x = fovea.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()


def test_retain_grad_keeps_gradient_of_an_intermediate():
    x, y, z = scalar(-2), scalar(5), scalar(-4)
    q = x + y
    q.retain_grad()
    (q * z).backward()
    assert q.grad.item() == -4


def test_grad_of_intermediate_and_allow_unused():
    x, y = scalar(2), scalar(3)
    q = x * y
    f = q * q
    (gq, gx) = fovea.grad(f, [q, x], retain_graph=True)
    assert gq.item() == 12 and gx.item() == 36
    with pytest.raises(RuntimeError, match="not used"):
        fovea.grad(f, [scalar(1)], retain_graph=True)
    assert fovea.grad(f, [scalar(1)], allow_unused=True) == (None,)
    assert x.grad is None  # fovea.grad never touches .grad


def test_second_derivative_through_create_graph():
    x = scalar(0.7)
    y = x.tanh() ** 3
    (g,) = fovea.grad(y, x, create_graph=True)
    (h,) = fovea.grad(g, x)
    t = math.tanh(0.7)
    assert g.item() == pytest.approx(3 * t**2 * (1 - t**2))
    assert h.item() == pytest.approx(6 * t * (1 - t**2) ** 2 - 6 * t**3 * (1 - t**2))


def test_backward_with_create_graph_makes_grad_differentiable():
    x = scalar(1.5)
    (x ** 3).backward(create_graph=True)
    assert x.grad.requires_grad
    g = x.grad
    x.grad = None
    g.backward()
    assert x.grad.item() == pytest.approx(6 * 1.5)


def test_hessian_vector_product_of_tanh_mlp_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    W1, b1 = rng.standard_normal((5, 6)), rng.standard_normal(6)
    W2, b2 = rng.standard_normal((6, 3)), rng.standard_normal(3)
    vs = [rng.standard_normal(a.shape) for a in (W1, b1, W2, b2)]

    fp = [fovea.tensor(a, requires_grad=True) for a in (W1, b1, W2, b2)]
    loss = F.cross_entropy((fovea.tensor(X) @ fp[0] + fp[1]).tanh() @ fp[2] + fp[3],
                           fovea.tensor(y))
    gs = fovea.grad(loss, fp, create_graph=True)
    hv = fovea.grad(sum((g * fovea.tensor(v)).sum() for g, v in zip(gs, vs)), fp)

    tp = [torch.tensor(a, requires_grad=True) for a in (W1, b1, W2, b2)]
    tl = torch.nn.functional.cross_entropy((torch.tensor(X) @ tp[0] + tp[1]).tanh() @ tp[2]
                                           + tp[3], torch.tensor(y))
    tg = torch.autograd.grad(tl, tp, create_graph=True)
    thv = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in zip(tg, vs)), tp)
    for a, b in zip(hv, thv):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def mlp_step(params, X, y, lr=0.1):
    W1, b1, W2, b2 = params
    loss = F.cross_entropy((X @ W1 + b1).relu() @ W2 + b2, y)
    loss.backward()
    with fovea.no_grad():
        for p in params:
            p.sub_(p.grad * lr)
            p.grad = None
    return loss.item()


def test_memory_stays_flat_over_300_mlp_steps():
    rng = np.random.default_rng(0)
    X = fovea.tensor(rng.standard_normal((64, 100)).astype(np.float32))
    y = fovea.tensor(rng.integers(0, 10, 64))
    params = [fovea.tensor((rng.standard_normal(s) * 0.05).astype(np.float32),
                           requires_grad=True) for s in [(100, 50), (50,), (50, 10), (10,)]]
    gc.disable()  # prove the graph is freed by reference counting alone (no cycles)
    try:
        tracemalloc.start()
        for _ in range(50):
            mlp_step(params, X, y)
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(250):
            mlp_step(params, X, y)
        grown = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
    finally:
        gc.enable()
    assert grown < 100_000, f"memory grew by {grown} bytes over 250 steps"


def test_intermediates_are_freed_after_backward():
    x = fovea.tensor(np.ones((100, 100)), requires_grad=True)
    h = (x * 2).tanh()
    ref = weakref.ref(h)
    node_ref = weakref.ref(h.grad_fn)
    loss = h.sum()
    del h
    loss.backward()
    assert ref() is None  # the hidden tensor itself was never kept by the graph
    del loss
    assert node_ref() is None  # and the graph dies with the output, without gc


def test_two_layer_net_trained_by_hand_on_digits_reaches_high_accuracy():
    from fovea.data import load_dataset

    d = load_dataset("digits")
    X = fovea.tensor(d.x_train.reshape(len(d.x_train), -1))
    y = fovea.tensor(d.y_train)
    rng = np.random.default_rng(0)
    params = [fovea.tensor((rng.standard_normal(s) * 0.1).astype(np.float32),
                           requires_grad=True) for s in [(64, 64), (64,), (64, 10), (10,)]]
    for _ in range(300):
        mlp_step(params, X, y, lr=0.5)
    W1, b1, W2, b2 = params
    with fovea.no_grad():
        Xt = fovea.tensor(d.x_test.reshape(len(d.x_test), -1))
        pred = ((Xt @ W1 + b1).relu() @ W2 + b2).argmax(dim=1).numpy()
    assert (pred == d.y_test).mean() >= 0.95


def test_graph_to_dot_names_ops_leaves_and_shapes():
    x, y, z = scalar(-2), scalar(5), scalar(-4)
    f = (x + y) * z
    dot = fovea.graph_to_dot(f, names={x: "x", y: "y", z: "z", f: "f"})
    assert dot.startswith("digraph")
    for label in ['label="Add', 'label="Mul', 'label="x', 'label="y', 'label="z', 'label="f']:
        assert label in dot
    assert dot.count("->") == 5  # x,y -> Add; Add,z -> Mul; Mul -> out


def test_in_place_update_of_a_base_is_seen_through_a_saved_view():
    w = fovea.tensor(np.ones((3, 2)), requires_grad=True)
    x = fovea.tensor(np.ones((4, 2)), requires_grad=True)
    y = (x @ w.T).sum()  # matmul saved the view w.T, not w
    with fovea.no_grad():
        w.sub_(0.1)  # an optimizer step between forward and backward
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_views_made_under_no_grad_share_the_version_too():
    w = fovea.tensor(np.ones((3, 2)))
    wt = w.T
    assert wt._version is w._version
    assert (w * 2)._version is not w._version  # a new array is not a view


def test_backward_calls_release_on_each_node_unless_the_graph_is_retained():
    released = []

    class Keeps(fovea.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.buffer = x * 2  # something kept outside saved_tensors
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

        def release(self):
            super().release()
            released.append(self.buffer.shape)
            self.buffer = None

    x = fovea.tensor(np.ones(3), requires_grad=True)
    Keeps.apply(x).sum().backward(retain_graph=True)
    assert released == []
    y = Keeps.apply(x)
    y.sum().backward()
    assert released == [(3,)] and y.grad_fn.buffer is None
