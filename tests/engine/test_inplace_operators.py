"""Augmented assignment (``+=``, ``-=``, ``*=``, ``/=``) is in place, as in PyTorch: the same
object, its version bumped, refused on a leaf that requires grad in grad mode, recorded on
other tensors. Each scenario runs in PyTorch too when it is installed."""

import numpy as np
import pytest

import fovea
from oracle import needs_torch, torch


def _sgd_by_hand(lib, w0, x, y, steps=5, lr=0.1):
    w = lib.tensor(w0.copy(), requires_grad=True)
    for _ in range(steps):
        loss = ((lib.tensor(x) @ w - lib.tensor(y)) ** 2).mean()
        loss.backward()
        with lib.no_grad():
            w -= lr * w.grad
            w.grad *= 0
    return w.detach().numpy().copy(), float(loss.detach())


def test_a_hand_written_sgd_loop_trains():
    rng = np.random.default_rng(0)
    x, w0 = rng.standard_normal((16, 3)), rng.standard_normal(3)
    y = x @ np.array([1.0, -2.0, 0.5])
    w, loss = _sgd_by_hand(fovea, w0, x, y, steps=50)
    assert loss < 1e-3 and np.allclose(w, [1.0, -2.0, 0.5], atol=0.02)
    if torch is not None:
        tw, tloss = _sgd_by_hand(torch, w0, x, y, steps=50)
        np.testing.assert_allclose(w, tw, rtol=1e-12)


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/="])
def test_augmented_assignment_keeps_the_object_and_bumps_the_version(op):
    t = fovea.tensor(np.array([1.0, 2.0, 4.0]))
    view = t[1:]
    ident, version = id(t), t._version[0]
    exec(f"t {op} 2.0", {"t": t})  # noqa: S102 - the operator under test
    expected = {"+=": [3, 4, 6], "-=": [-1, 0, 2], "*=": [2, 4, 8], "/=": [0.5, 1, 2]}[op]
    assert id(t) == ident and t._version[0] == version + 1
    assert t.tolist() == expected and view.tolist() == expected[1:]  # views see it


@needs_torch
def test_a_leaf_that_requires_grad_is_refused_in_grad_mode_like_torch():
    w = fovea.tensor(np.ones(2), requires_grad=True)
    tw = torch.ones(2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad"):
        w -= 1
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        tw -= 1
    assert w.tolist() == [1.0, 1.0]


@needs_torch
def test_in_place_updates_of_non_leaves_are_recorded_like_torch():
    a = np.array([0.5, -1.0, 2.0])

    def run(lib):
        w = lib.tensor(a.copy(), requires_grad=True)
        x = w * 3
        x += w * w
        x *= 2
        x /= lib.tensor(a.copy() + 3)
        x -= 1
        x.sum().backward()
        return x.detach().numpy().copy(), w.grad.numpy().copy()

    (y, g), (ty, tg) = run(fovea), run(torch)
    np.testing.assert_allclose(y, ty, rtol=1e-14)
    np.testing.assert_allclose(g, tg, rtol=1e-14)


def test_a_node_that_saved_the_old_value_refuses_backward():
    w = fovea.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = w * 1
    y = x * x  # saves x
    x += 1
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_a_plain_tensor_updated_with_one_that_requires_grad_joins_the_graph():
    w = fovea.tensor(np.array([1.0, 2.0]), requires_grad=True)
    acc = fovea.zeros(2, dtype=fovea.float64)
    acc += w * 3
    assert acc.requires_grad and acc.grad_fn is not None
    acc.sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]


def test_dtype_rules_follow_torch():
    i = fovea.tensor(np.array([1, 2]))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type int64"):
        i += 0.5
    i += 3  # int + int stays int
    assert i.dtype == np.int64 and i.tolist() == [4, 5]
    f = fovea.tensor(np.array([1.0], dtype=np.float32))
    f += fovea.tensor(np.array([0.25]))  # float64 into float32: same kind, allowed
    assert f.dtype == np.float32 and f.tolist() == [1.25]
    if torch is not None:
        ti = torch.tensor([1, 2])
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            ti += 0.5
