"""Elementwise ops against PyTorch, NumPy and finite differences, on hypothesis shapes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import fovea
from fovea import config
from oracle import check_op, torch

shapes = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
pair_shapes = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0,
                                            max_side=4)


def away_from(x, points, margin=0.1):
    """Shift entries within ``margin`` of any kink in ``points`` (gradient checks hate kinks)."""
    for p in points:
        close = np.abs(x - p) < margin
        x = np.where(close, p + np.sign(x - p + 1e-12) * margin + (x - p), x)
    return x


def data(shape, seed, low=None):
    x = np.random.default_rng(seed).standard_normal(shape)
    if low is not None:
        x = np.abs(x) + low
    return x


UNARY = {
    "neg": (lambda x: -x, lambda x: -x, np.negative, None),
    "exp": (fovea.exp, lambda x: x.exp(), np.exp, None),
    "log": (fovea.log, lambda x: x.log(), np.log, 0.5),
    "sqrt": (fovea.sqrt, lambda x: x.sqrt(), np.sqrt, 0.5),
    "abs": (fovea.abs, lambda x: x.abs(), np.abs, "kink0"),
    "tanh": (fovea.tanh, lambda x: x.tanh(), np.tanh, None),
    "sigmoid": (fovea.sigmoid, lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), None),
    "relu": (fovea.relu, lambda x: x.relu(), lambda x: np.maximum(x, 0), "kink0"),
    "clamp": (lambda x: fovea.clamp(x, -0.5, 0.7), lambda x: x.clamp(-0.5, 0.7),
              lambda x: np.clip(x, -0.5, 0.7), "clamp"),
    "pow_scalar": (lambda x: x ** 3, lambda x: x ** 3, lambda x: x ** 3, "kink0"),
    "pow_frac": (lambda x: x ** 1.5, lambda x: x ** 1.5, lambda x: x ** 1.5, 0.5),
    "rpow": (lambda x: 2.0 ** x, lambda x: 2.0 ** x, lambda x: 2.0 ** x, None),
    "rsub": (lambda x: 1 - x, lambda x: 1 - x, lambda x: 1 - x, None),
    "rdiv": (lambda x: 1 / x, lambda x: 1 / x, lambda x: 1 / x, 0.5),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_unary_op_matches_torch_numpy_and_finite_differences(name, shape, seed):
    fv_fn, t_fn, np_fn, domain = UNARY[name]
    if isinstance(domain, float):
        x = data(shape, seed, low=domain)
    else:
        x = data(shape, seed)
        if domain == "kink0":
            x = away_from(x, [0.0])
        elif domain == "clamp":
            x = away_from(x, [-0.5, 0.7])
    check_op(fv_fn, t_fn, [x], numpy_fn=np_fn)


BINARY = {
    "add": (lambda a, b: a + b, np.add, None),
    "sub": (lambda a, b: a - b, np.subtract, None),
    "mul": (lambda a, b: a * b, np.multiply, None),
    "div": (lambda a, b: a / b, np.divide, "b_pos"),
    "pow": (lambda a, b: a ** b, np.power, "a_pos"),
    "maximum": (fovea.maximum, np.maximum, "distinct"),
    "minimum": (fovea.minimum, np.minimum, "distinct"),
}
TORCH_BINARY = {"maximum": lambda a, b: a.maximum(b), "minimum": lambda a, b: a.minimum(b)}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=pair_shapes, seed=st.integers(0, 2**16))
def test_binary_op_with_broadcasting_matches_torch(name, shapes, seed):
    fv_fn, np_fn, domain = BINARY[name]
    t_fn = TORCH_BINARY.get(name, fv_fn)
    sa, sb = shapes.input_shapes
    a, b = data(sa, seed), data(sb, seed + 1)
    if domain == "b_pos":
        b = np.abs(b) + 0.5
    elif domain == "a_pos":
        a = np.abs(a) + 0.5
    elif domain == "distinct":
        b = b + 0.25 * (np.abs(b) < 10)  # ties measured separately below
        a = np.broadcast_to(a, np.broadcast_shapes(sa, sb))
        a = np.where(np.abs(a - b) < 0.1, a + 0.3, a).reshape(a.shape)
        a = np.ascontiguousarray(a)
    check_op(fv_fn, t_fn, [a, b], numpy_fn=np_fn)


@given(shapes=mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=4),
       seed=st.integers(0, 2**16))
def test_where_routes_gradient_by_condition(shapes, seed):
    sc, sa, sb = shapes.input_shapes
    cond = np.random.default_rng(seed).random(sc) > 0.5
    a, b = data(sa, seed), data(sb, seed + 1)
    check_op(lambda x, y: fovea.where(cond, x, y),  # (an array goes to x's device)
             lambda x, y: torch.where(torch.tensor(cond), x, y),
             [a, b], numpy_fn=lambda x, y: np.where(cond, x, y))


def test_maximum_tie_splits_gradient_evenly_like_torch():
    a = fovea.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = fovea.tensor(np.array([1.0, 5.0, 0.0]), requires_grad=True)
    fovea.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 1.0, 0.0])


def test_relu_and_abs_subgradient_at_zero_is_zero():
    x = fovea.tensor(np.zeros(3), requires_grad=True)
    (x.relu() + x.abs()).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)


def test_clamp_passes_gradient_at_the_bounds_like_torch():
    x = fovea.tensor(np.array([-1.0, -0.5, 0.0, 0.7, 2.0]), requires_grad=True)
    fovea.clamp(x, -0.5, 0.7).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 1, 1, 0])


def test_sigmoid_is_stable_for_huge_inputs():
    x = fovea.tensor(np.array([-1000.0, 1000.0], dtype=np.float32), requires_grad=True)
    y = x.sigmoid()
    y.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), [0.0, 1.0])
    assert np.all(np.isfinite(x.grad.numpy()))


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a - b,
    lambda a, b: a ** 2, lambda a, b: a.exp(), lambda a, b: a.tanh(), lambda a, b: a.sigmoid(),
    lambda a, b: fovea.maximum(a, b), lambda a, b: a * 0.5 + 1, lambda a, b: 2.0 / (b + 3),
    lambda a, b: a.sqrt(), lambda a, b: a.log(), lambda a, b: fovea.clamp(a, 0.1, 0.9),
    lambda a, b: a @ b.T, lambda a, b: a.mean(0), lambda a, b: a.var(1),
    lambda a, b: fovea.where(a > 0.5, a, b), lambda a, b: a[[0, 0, 1]],
])
def test_float32_stays_float32_through_forward_and_backward(op):
    rng = np.random.default_rng(0)
    a = fovea.tensor(rng.random((3, 4)).astype(np.float32) + 0.1, requires_grad=True)
    b = fovea.tensor(rng.random((3, 4)).astype(np.float32) + 0.1, requires_grad=True)
    out = op(a, b)
    assert out.dtype == np.float32
    out.backward(fovea.ones_like(out))
    grads = [t.grad for t in (a, b) if t.grad is not None]
    assert grads and all(g.dtype == np.float32 for g in grads)


def test_integer_operand_takes_the_float_operands_dtype():
    a = fovea.tensor(np.ones(3, dtype=np.float32))
    i = fovea.tensor(np.array([1, 2, 3]))
    assert (a * i).dtype == np.float32
    assert (i + 0.5).dtype == np.float32
    assert (i + 1).dtype == np.int64


def test_broadcast_mismatch_names_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        fovea.zeros(2, 3) + fovea.zeros(4)


def test_unsupported_dtype_raises_type_error():
    with pytest.raises(TypeError, match="unsupported dtype complex128"):
        fovea.tensor(np.array([1 + 2j]))
    with pytest.raises(TypeError, match="floating"):
        fovea.tensor([1, 2]).requires_grad_()


def _channels_last(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("jit", [True, False], ids=["kernels", "numpy"])
@pytest.mark.parametrize("shape,fd", [((4, 8, 32, 32), False), ((2, 3, 4, 4), True)])
def test_relu_gradient_matches_torch_with_kernels_on_and_off(jit, shape, fd):
    """The large shape takes the compiled passes (kernels on), on a channels-last input."""
    x = np.random.default_rng(6).standard_normal(shape)
    x += np.sign(x) * 0.1  # off the kink, for finite differences
    with config.override(jit=jit):
        check_op(fovea.relu, torch.relu if torch else None, [_channels_last(x)], fd=fd)

