"""Two-operand elementwise ops (atan2, copysign, logaddexp, hypot, lerp), clamp with tensor
bounds, clamp_min/clamp_max and pow's edge gradients against PyTorch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import fovea
from oracle import check_op, needs_torch, torch

pair_shapes = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0,
                                            max_side=4)
triple_shapes = mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=1,
                                              max_side=3)


def nonzero(shape, rng):
    x = rng.standard_normal(shape)
    return np.sign(x + 1e-12) * (np.abs(x) + 0.3)


BINARY = {
    "atan2": (fovea.atan2, np.arctan2, nonzero),
    "copysign": (fovea.copysign, np.copysign, nonzero),
    "logaddexp": (fovea.logaddexp, np.logaddexp, lambda s, r: r.standard_normal(s) * 3),
    "logaddexp2": (fovea.logaddexp2, np.logaddexp2, lambda s, r: r.standard_normal(s) * 3),
    "hypot": (fovea.hypot, np.hypot, nonzero),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=pair_shapes, seed=st.integers(0, 2**16))
def test_binary_op_matches_torch_numpy_and_finite_differences(name, shapes, seed):
    fv, ref, draw = BINARY[name]
    rng = np.random.default_rng(seed)
    a, b = (draw(s, rng) for s in shapes.input_shapes)
    check_op(fv, getattr(torch, name) if torch else None, [a, b], numpy_fn=ref)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_method_matches_the_function(name):
    fv, _, draw = BINARY[name]
    rng = np.random.default_rng(3)
    a, b = draw((2, 3), rng), draw((3,), rng)
    np.testing.assert_array_equal(getattr(fovea.tensor(a), name)(fovea.tensor(b)).numpy(),
                                  fv(fovea.tensor(a), fovea.tensor(b)).numpy())


@needs_torch
@pytest.mark.parametrize("name", ["atan2", "copysign", "logaddexp", "hypot"])
def test_binary_result_dtype_matches_torch(name):
    for a, b in [(np.array([1, 2]), np.array([3, 4])), (np.array([1, 2]), -1.5),
                 (np.array([1.0, 2.0], dtype=np.float32), np.array([3, 4]))]:
        tb = torch.tensor(b) if isinstance(b, np.ndarray) else b
        fb = fovea.tensor(b) if isinstance(b, np.ndarray) else b
        try:
            expected = getattr(torch, name)(torch.tensor(a), tb).dtype
        except (TypeError, NotImplementedError, RuntimeError):
            continue  # PyTorch has no such overload (integer hypot, atan2 with a number)
        got = getattr(fovea, name)(fovea.tensor(a), fb).dtype
        assert str(got) == str(expected).removeprefix("torch."), (a, b)


@needs_torch
def test_copysign_gradient_at_zero_and_negative_zero_matches_torch():
    a = np.array([0.0, -0.0, 2.0, -2.0, 3.0])
    b = np.array([-1.0, 1.0, -1.0, 1.0, -0.0])
    check_op(fovea.copysign, torch.copysign, [a, b], fd=False)


@pytest.mark.parametrize("inplace", [False, True])
@given(shapes=triple_shapes, seed=st.integers(0, 2**16), scalar=st.booleans())
def test_lerp_matches_torch_with_tensor_or_number_weight(inplace, shapes, seed, scalar):
    rng = np.random.default_rng(seed)
    s, e, w = (rng.standard_normal(sh) for sh in shapes.input_shapes)
    if scalar:
        wt = float(rng.uniform(-1, 2))
        check_op(lambda a, b: fovea.lerp(a, b, wt), (lambda a, b: torch.lerp(a, b, wt))
                 if torch else None, [s, e], numpy_fn=lambda a, b: a + wt * (b - a))
    else:
        check_op(fovea.lerp, torch.lerp if torch else None, [s, e, w],
                 numpy_fn=lambda a, b, c: a + c * (b - a))
    if inplace and s.shape == np.broadcast_shapes(s.shape, e.shape, w.shape):
        x = fovea.tensor(s)
        x.lerp_(fovea.tensor(e), fovea.tensor(w))
        np.testing.assert_allclose(x.numpy(), s + w * (e - s), rtol=1e-12, atol=1e-12)


@needs_torch
def test_lerp_is_exact_at_weight_one_like_torch():
    s, e = np.array([1e-8, 3.0, -1e10]), np.array([1.0, 1e10, 7.0])
    got = fovea.lerp(fovea.tensor(s), fovea.tensor(e), 1.0)
    np.testing.assert_array_equal(got.numpy(), torch.lerp(torch.tensor(s), torch.tensor(e),
                                                           1.0).numpy())
    np.testing.assert_array_equal(got.numpy(), e)


@needs_torch
def test_clamp_with_tensor_bounds_routes_gradients_like_torch():
    # x inside, on each bound, below, above, and min > max (the output is max).
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, -1.0])
    lo = np.array([1.0, 1.0, 1.0, 3.0, 5.0, 1.0, 0.0])
    hi = np.array([3.0, 3.0, 2.0, 2.0, 4.0, 4.0, 2.0])
    check_op(fovea.clamp, torch.clamp, [x, lo, hi], fd=False)
    check_op(lambda a, b: fovea.clamp(a, min=b), lambda a, b: torch.clamp(a, min=b), [x, lo],
             fd=False)
    check_op(lambda a, b: fovea.clamp(a, max=b), lambda a, b: torch.clamp(a, max=b), [x, hi],
             fd=False)
    check_op(fovea.clamp_min, torch.clamp_min, [x, lo], fd=False)
    check_op(fovea.clamp_max, torch.clamp_max, [x, hi], fd=False)


@given(shapes=triple_shapes, seed=st.integers(0, 2**16))
def test_clamp_with_broadcast_tensor_bounds_matches_torch(shapes, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shapes.result_shape)  # PyTorch broadcasts bounds to x, not x up
    lo, hi = (rng.standard_normal(s) for s in shapes.input_shapes[1:])
    hi = np.abs(hi) + 0.1
    lo = -np.abs(lo) - 0.1
    check_op(fovea.clamp, torch.clamp if torch else None, [x, lo, hi],
             numpy_fn=lambda a, b, c: np.minimum(np.maximum(a, b), c), fd=False)


def test_clamp_min_max_methods_and_inplace_variants():
    x = fovea.tensor([-2.0, 0.5, 3.0])
    assert x.clamp_min(0.0).tolist() == [0.0, 0.5, 3.0]
    assert x.clamp_max(1.0).tolist() == [-2.0, 0.5, 1.0]
    assert x.clip(-1.0, 1.0).tolist() == [-1.0, 0.5, 1.0]
    assert x.clamp_(min=fovea.tensor([0.0, 1.0, 0.0])) is x
    assert x.tolist() == [0.0, 1.0, 3.0]
    x.clamp_max_(2.0)
    assert x.tolist() == [0.0, 1.0, 2.0]


@needs_torch
def test_integer_clamp_with_float_bounds_gives_the_default_float_dtype():
    got = fovea.clamp(fovea.tensor([1, 5]), 1.5, 3.5)
    ref = torch.clamp(torch.tensor([1, 5]), 1.5, 3.5)
    assert got.dtype == np.float32 and ref.dtype == torch.float32
    assert got.tolist() == ref.tolist()


# --- pow at the edges ---------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("exponent", [0.0, 0.5, 1.0, 2.0, 3.0, -1.0, -2.0, -0.5])
def test_pow_gradient_at_zero_base_matches_torch(exponent):
    base = np.array([0.0, 1.5, 2.0])
    with np.errstate(all="ignore"):
        # a Python-number exponent
        x = fovea.tensor(base, requires_grad=True)
        (x ** exponent).sum().backward()
        t = torch.tensor(base, requires_grad=True)
        (t ** exponent).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-15)
        # a tensor exponent: both gradients
        x = fovea.tensor(base, requires_grad=True)
        e = fovea.tensor(np.full(3, exponent), requires_grad=True)
        (x ** e).sum().backward()
        t = torch.tensor(base, requires_grad=True)
        te = torch.tensor(np.full(3, exponent), requires_grad=True)
        (t ** te).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-15)
        np.testing.assert_allclose(e.grad.numpy(), te.grad.numpy(), rtol=1e-15)


@needs_torch
def test_pow_zero_to_the_zero_has_zero_gradients():
    # (PyTorch's double backward is NaN at 0 ** 0, fovea's 0: only first order compared.)
    check_op(lambda a, b: a ** b, lambda a, b: a ** b, [np.array([0.0, 0.0, 2.0]),
                                                        np.array([0.0, 2.0, 0.0])], fd=False,
             second_order=False)


def test_clamp_refuses_bounds_that_would_broadcast_the_input_up():
    with pytest.raises(RuntimeError, match="does not broadcast to the input's shape"):
        fovea.clamp(fovea.tensor([1.0]), fovea.tensor([[0.0], [2.0]]))
