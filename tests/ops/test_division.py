"""Division with rounding modes, ``%``, ``//``, remainder and fmod against PyTorch (values,
signs, dtypes, gradients) and Python's own operators; true division's dtype rules."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import fovea
from oracle import check_op, needs_torch, torch

pair_shapes = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1,
                                            max_side=4)


def away_from_jumps(a, b, margin=0.05):
    """Shift a so that a/b is at least ``margin`` from an integer (the quotient's jumps)."""
    q = a / b
    frac = q - np.floor(q)
    q = np.floor(q) + np.clip(frac, margin, 1 - margin)
    return q * b


def operands(shapes, seed):
    """a (quotients off the jumps where a has the broadcast shape) and b (|b| >= 0.5)."""
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    b = rng.choice([-1.0, 1.0], sb) * rng.uniform(0.5, 2.0, sb)
    a = rng.standard_normal(sa) * 4
    if a.shape == np.broadcast_shapes(sa, sb):
        a = away_from_jumps(a, np.broadcast_to(b, a.shape))
    return a, b


@pytest.mark.parametrize("name", ["remainder", "fmod"])
@given(shapes=pair_shapes, seed=st.integers(0, 2**16))
def test_remainder_and_fmod_match_torch_with_gradients(name, shapes, seed):
    a, b = operands(shapes, seed)
    fv, tt = getattr(fovea, name), (getattr(torch, name) if torch else None)
    ref = np.remainder if name == "remainder" else np.fmod
    check_op(fv, tt, [a, b], numpy_fn=ref, fd=a.shape == np.broadcast_shapes(a.shape, b.shape))


@pytest.mark.parametrize("mode", ["trunc", "floor"])
@given(shapes=pair_shapes, seed=st.integers(0, 2**16))
def test_div_with_rounding_mode_matches_torch_and_has_zero_gradient(mode, shapes, seed):
    a, b = operands(shapes, seed)
    ref = np.floor_divide if mode == "floor" else (lambda x, y: np.trunc(x / y))
    out = check_op(lambda x, y: fovea.div(x, y, rounding_mode=mode),
                   (lambda x, y: torch.div(x, y, rounding_mode=mode)) if torch else None,
                   [a, b], numpy_fn=ref, fd=False)
    assert out.requires_grad


@needs_torch
@pytest.mark.parametrize("op", ["%", "//"])
@pytest.mark.parametrize("dtype", ["int64", "float64", "float32"])
def test_operators_follow_python_sign_conventions_like_torch(op, dtype):
    a = np.array([5, -5, 5, -5, 7, 0, -9]).astype(dtype)
    b = np.array([3, 3, -3, -3, 7, 4, 2]).astype(dtype)
    fa, fb, ta, tb = fovea.tensor(a), fovea.tensor(b), torch.tensor(a), torch.tensor(b)
    if op == "%":
        got, ref, py = fa % fb, ta % tb, [x % y for x, y in zip(a.tolist(), b.tolist())]
    else:
        got, ref, py = fa // fb, ta // tb, [x // y for x, y in zip(a.tolist(), b.tolist())]
    np.testing.assert_array_equal(got.numpy(), ref.numpy())
    np.testing.assert_array_equal(got.numpy(), py)
    assert str(got.dtype) == str(ref.dtype).removeprefix("torch.")


@needs_torch
def test_scalar_and_reflected_operators_match_torch():
    a = np.array([5, -5, 7, -8])
    for fv, tt in [(lambda t: t % 3, lambda t: t % 3), (lambda t: 17 % t, lambda t: 17 % t),
                   (lambda t: t // -3, lambda t: t // -3), (lambda t: 17 // t, lambda t: 17 // t),
                   (lambda t: t % 2.5, lambda t: t % 2.5), (lambda t: t // 2.5, lambda t: t // 2.5),
                   (lambda t: -7.5 % t, lambda t: -7.5 % t)]:
        got, ref = fv(fovea.tensor(a)), tt(torch.tensor(a))
        np.testing.assert_array_equal(got.numpy(), ref.numpy())
        assert str(got.dtype) == str(ref.dtype).removeprefix("torch.")


@needs_torch
@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_integer_div_dtype_and_values_match_torch(mode):
    a, b = np.array([7, -7, 7, -7, 0]), np.array([2, 2, -2, -2, 3])
    got = fovea.div(fovea.tensor(a), fovea.tensor(b), rounding_mode=mode)
    ref = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
    np.testing.assert_array_equal(got.numpy(), ref.numpy())
    assert str(got.dtype) == str(ref.dtype).removeprefix("torch.")
    assert fovea.tensor(a).div(fovea.tensor(b), rounding_mode=mode).tolist() == got.tolist()


@pytest.mark.parametrize("fn", [lambda a, b: a // b, lambda a, b: a % b,
                                lambda a, b: fovea.fmod(a, b),
                                lambda a, b: fovea.div(a, b, rounding_mode="trunc")])
def test_integer_division_by_zero_raises_a_runtime_error_as_torch(fn):
    with pytest.raises(RuntimeError, match="integer division by zero"):
        fn(fovea.tensor([1, 2]), fovea.tensor([1, 0]))
    with pytest.raises(ZeroDivisionError):
        fn(fovea.tensor([1, 2]), 0)


@needs_torch
def test_float_division_by_zero_gives_inf_and_nan_like_torch():
    a, b = np.array([1.0, -1.0, 0.0, 3.0]), np.zeros(4)
    with np.errstate(all="ignore"):
        for fv, tt in [(lambda x, y: x // y, lambda x, y: x // y),
                       (lambda x, y: x % y, lambda x, y: x % y),
                       (fovea.fmod, torch.fmod)]:
            got = fv(fovea.tensor(a), fovea.tensor(b)).numpy()
            np.testing.assert_array_equal(got, tt(torch.tensor(a), torch.tensor(b)).numpy())


def test_augmented_mod_and_floordiv_are_in_place():
    x = fovea.tensor([7, -7, 9])
    data, version = x._data, x._version[0]
    x %= 4
    assert x._data is data and x._version[0] == version + 1 and x.tolist() == [3, 1, 1]
    x //= 2
    assert x._data is data and x.tolist() == [1, 0, 0]
    y = fovea.tensor([7.0, -7.0])
    y.remainder_(3.0)
    assert y.tolist() == [1.0, 2.0]


@needs_torch
def test_true_division_and_float_powers_of_integers_give_the_default_float_dtype():
    i = fovea.tensor([1, 2, 3])
    for fv, tt in [(lambda t: t / 2, lambda t: t / 2), (lambda t: t / t, lambda t: t / t),
                   (lambda t: t ** 0.5, lambda t: t ** 0.5), (lambda t: 1 / t, lambda t: 1 / t),
                   (lambda t: fovea.div(t, 2), lambda t: torch.div(t, 2)),
                   (lambda t: fovea.true_divide(t, t), lambda t: torch.true_divide(t, t))]:
        got, ref = fv(i), tt(torch.tensor([1, 2, 3]))
        assert got.dtype == np.float32 and ref.dtype == torch.float32
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-7)
    fovea.set_default_dtype(fovea.float64)
    try:
        assert (i / 2).dtype == np.float64 and (i ** 0.5).dtype == np.float64
    finally:
        fovea.set_default_dtype(fovea.float32)
