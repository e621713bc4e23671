"""The speed work's kernels: each against its composed twin, PyTorch (float64) and finite
differences, in every memory layout the fast paths distinguish."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from fovea.backends import CPU_NS as _arrayns
from fovea.backends.cpu import layout as _layout
from fovea.ops.arithmetic import _masked
from oracle import check_op, torch


def _channels_last(a):
    """The same values as ``a`` (N, C, *) with channels-last memory."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, a.ndim - 1,
                                                                 *range(1, a.ndim - 1))


# --- fused cross-entropy -------------------------------------------------------------------

CE = [dict(), dict(reduction="sum"), dict(reduction="none"), dict(ignore_index=1),
      dict(weight=np.array([0.5, 2.0, 1.0, 3.0])), dict(reduction="none", ignore_index=0),
      dict(weight=np.array([0.5, 2.0, 1.0, 3.0]), ignore_index=2, reduction="sum")]


@pytest.mark.parametrize("kw", CE, ids=range(len(CE)))
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 3), (4,)])
def test_fused_cross_entropy_equals_its_composed_twin(kw, shape):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape) * 3
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    y = rng.integers(0, 4, tshape)
    fkw = {k: (fovea.tensor(v) if k == "weight" else v) for k, v in kw.items()}

    def composed(t):
        logp = F.log_softmax(t, dim=0 if t.ndim == 1 else 1)
        return F.nll_loss(logp, fovea.tensor(y), **fkw)

    xa, xb = fovea.tensor(x, requires_grad=True), fovea.tensor(x, requires_grad=True)
    fused, twin = F.cross_entropy(xa, fovea.tensor(y), **fkw), composed(xb)
    node = fused.grad_fn
    if node.name == "Reshape":  # (C,) input with reduction='none': squeezed after the node
        node = node.edges[0]
    assert node.name == "CrossEntropy"
    np.testing.assert_allclose(fused.detach().numpy(), twin.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(fused.shape)
    fused.backward(fovea.tensor(g))
    twin.backward(fovea.tensor(g))
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-10, atol=1e-14)
    # finite differences, and second order against PyTorch, through the shared harness
    tkw = {k: (torch.tensor(v) if k == "weight" else v) for k, v in kw.items()} if torch \
        else {}
    check_op(lambda t: F.cross_entropy(t, fovea.tensor(y), **fkw),
             lambda t: torch.nn.functional.cross_entropy(t, torch.tensor(y), **tkw), [x])


def test_fused_cross_entropy_keeps_float32_and_rejects_bad_targets():
    x = fovea.tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32),
                     requires_grad=True)
    loss = F.cross_entropy(x, fovea.tensor(np.array([0, 2, 1, 1, 0])))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    with pytest.raises(IndexError, match="cross_entropy: target -1 is out of bounds"):
        F.cross_entropy(x, fovea.tensor(np.array([0, -1, 1, 1, 0])))
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, fovea.tensor(np.array([0, 3, 1, 1, 0], dtype=np.int32)))


def test_fused_cross_entropy_mean_over_all_ignored_is_nan_like_torch():
    x = fovea.tensor(np.zeros((2, 3)))
    out = F.cross_entropy(x, fovea.tensor(np.array([1, 1])), ignore_index=1)
    assert np.isnan(out.item())


# --- batch norm in both layouts ------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 5), (4, 3, 7), (4, 3, 5, 6), (6, 16, 4, 4),
                                   (5, 3, 3, 7)])
@pytest.mark.parametrize("layout", ["C", "channels_last", "strided", "channels_last_crop"])
def test_batch_norm_matches_torch_in_every_input_layout(shape, layout):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape) * 2 + 1
    if layout == "channels_last" and len(shape) > 2:
        x = _channels_last(x)
    elif layout == "channels_last_crop" and len(shape) == 4:  # a convolution's output view
        n, c, h, w = shape
        x = rng.standard_normal((n, h + 2, w + 3, c))[:, 1:h + 1, 2:w + 2].transpose(0, 3, 1, 2)
    elif layout == "strided":
        x = rng.standard_normal(shape[:1] + (shape[1] * 2,) + shape[2:])[:, ::2]
    c = shape[1]
    w, b = 1 + 0.2 * rng.standard_normal(c), 0.3 * rng.standard_normal(c)
    check_op(lambda t, tw, tb: F.batch_norm(t, None, None, tw, tb, training=True),
             lambda t, tw, tb: torch.nn.functional.batch_norm(t, None, None, tw, tb,
                                                              training=True),
             [x, w, b])


@pytest.mark.parametrize("g_layout", ["C", "channels_last", "broadcast"])
def test_batch_norm_backward_with_a_gradient_in_another_layout(g_layout):
    torch_ = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = _channels_last(rng.standard_normal((4, 16, 4, 4)))
    g = rng.standard_normal(x.shape)
    if g_layout == "channels_last":
        g = _channels_last(g)
    elif g_layout == "broadcast":
        g = np.broadcast_to(rng.standard_normal((4, 16, 1, 1)), x.shape)
    w = 1 + 0.1 * rng.standard_normal(16)
    xf, wf = fovea.tensor(x, requires_grad=True), fovea.tensor(w, requires_grad=True)
    F.batch_norm(xf, None, None, wf, None, training=True).backward(fovea.tensor(g))
    xt, wt = torch_.tensor(x, requires_grad=True), torch_.tensor(w, requires_grad=True)
    torch_.nn.functional.batch_norm(xt, None, None, wt, None, training=True).backward(
        torch_.tensor(np.ascontiguousarray(g)))
    np.testing.assert_allclose(xf.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(wf.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_batch_norm_float32_matches_float64_within_float32_tolerance_and_stays_float32():
    rng = np.random.default_rng(9)
    x64 = _channels_last(rng.standard_normal((8, 16, 8, 8)) * 3 + 5)
    rm32, rv32 = fovea.zeros(16), fovea.ones(16)
    rm64, rv64 = fovea.zeros(16, dtype=np.float64), fovea.ones(16, dtype=np.float64)
    out = []
    for x, rm, rv in ((x64.astype(np.float32), rm32, rv32), (x64, rm64, rv64)):
        xt = fovea.tensor(x, requires_grad=True)
        y = F.batch_norm(xt, rm, rv, training=True, momentum=0.3)
        (y * y * y).sum().backward()
        out.append((y.detach().numpy(), xt.grad.numpy(), rm.numpy(), rv.numpy()))
    for a32, a64 in zip(*out):
        assert a32.dtype == np.float32
        np.testing.assert_allclose(a32, a64, rtol=2e-4, atol=2e-4)


# --- ReLU backward, padding and scatter in matching layouts --------------------------------

@pytest.mark.parametrize("case", ["same", "mixed", "broadcast", "small"])
def test_relu_backward_mask_in_any_layout_equals_the_plain_product(case):
    rng = np.random.default_rng(5)
    shape = (2, 3, 4, 5) if case == "small" else (8, 16, 16, 16)
    out = np.maximum(_channels_last(rng.standard_normal(shape)), 0)
    g = rng.standard_normal(shape)
    if case == "same":
        g = _channels_last(g)
    elif case == "broadcast":
        g = np.broadcast_to(rng.standard_normal(shape[:2] + (1, 1)), shape)
    got = _masked(g, out > 0)
    np.testing.assert_array_equal(got, g * (out > 0))
    expected_order = _layout.axis_order(out) if case == "broadcast" else _layout.axis_order(
        np.empty_like(g))
    assert _layout.axis_order(got) == expected_order


def test_relu_gradient_matches_torch_and_finite_differences():
    rng = np.random.default_rng(6)
    for shape, fd in (((4, 8, 32, 32), False), ((2, 3, 4, 4), True)):  # fast path, small
        x = rng.standard_normal(shape)
        x += np.sign(x) * 0.1  # off the kink, for finite differences
        check_op(F.relu, torch.nn.functional.relu if torch else None, [_channels_last(x)],
                 second_order=False, fd=fd)


def test_pad_keeps_channels_last_layout_and_its_gradient():
    rng = np.random.default_rng(10)
    x = _channels_last(rng.standard_normal((2, 3, 4, 5)))
    out = fovea.pad(fovea.tensor(x), (1, 2, 0, 1, 2, 2))
    np.testing.assert_array_equal(out.numpy(), np.pad(x, ((0, 0), (2, 2), (0, 1), (1, 2))))
    assert _layout.axis_order(out.numpy()) == _layout.axis_order(x)
    check_op(lambda t: fovea.pad(t, (1, 2, 0, 1, 2, 2), value=0.5),
             lambda t: torch.nn.functional.pad(t, (1, 2, 0, 1, 2, 2), value=0.5), [x])


def test_scatter_gradient_of_a_strided_index_follows_the_gradient_layout():
    rng = np.random.default_rng(11)
    values = _channels_last(rng.standard_normal((2, 3, 2, 2)))
    key = (slice(None), slice(None), slice(None, None, 2), slice(None, None, 2))
    out = _arrayns.scatter_add_zeros((2, 3, 4, 4), key, values)
    expected = np.zeros((2, 3, 4, 4))
    expected[key] = values
    np.testing.assert_array_equal(out, expected)
    assert _layout.axis_order(out) == _layout.axis_order(values)


def test_flatten_of_a_channels_last_input_returns_its_gradient_in_that_layout():
    rng = np.random.default_rng(12)
    x = _channels_last(rng.standard_normal((4, 16, 32, 32)))
    t = fovea.tensor(x, requires_grad=True)
    g = rng.standard_normal((4, 16 * 32 * 32))
    t.flatten(1).backward(fovea.tensor(g))
    np.testing.assert_array_equal(t.grad.numpy(), g.reshape(x.shape))
    assert _layout.axis_order(t.grad.numpy()) == (0, 2, 3, 1)
    check_op(lambda a: a.flatten(1), lambda a: a.flatten(1), [x], fd=False)
