"""Elementwise math and rounding ops against PyTorch (forward, gradient, double backward,
result dtype), NumPy references and finite differences, on hypothesis shapes."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import fovea
from oracle import check_op, needs_torch, torch

shapes = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


def normal(shape, rng):
    return rng.standard_normal(shape)


def inside(lo, hi):
    return lambda shape, rng: rng.uniform(lo, hi, shape)


def positive(low):
    return lambda shape, rng: np.abs(rng.standard_normal(shape)) + low


def away_from_grid(step, offset=0.0, margin=0.1):
    """Values at least ``margin`` from every point offset + k·step (the jumps of rounding)."""
    def draw(shape, rng):
        k = rng.integers(-3, 4, shape)
        return offset + (k + rng.uniform(margin, 1 - margin, shape)) * step
    return draw


def nonzero(shape, rng):
    x = rng.standard_normal(shape)
    return np.sign(x + 1e-12) * (np.abs(x) + 0.5)


def erf_np(a):
    return np.vectorize(math.erf, otypes=[float])(a)


# name: (draw inputs, fovea function, NumPy reference or None)
UNARY = {
    "sin": (normal, fovea.sin, np.sin),
    "cos": (normal, fovea.cos, np.cos),
    "tan": (inside(-1.2, 1.2), fovea.tan, np.tan),
    "asin": (inside(-0.9, 0.9), fovea.asin, np.arcsin),
    "acos": (inside(-0.9, 0.9), fovea.acos, np.arccos),
    "atan": (normal, fovea.atan, np.arctan),
    "sinh": (normal, fovea.sinh, np.sinh),
    "cosh": (normal, fovea.cosh, np.cosh),
    "tanh": (normal, fovea.tanh, np.tanh),
    "asinh": (normal, fovea.asinh, np.arcsinh),
    "acosh": (positive(1.2), fovea.acosh, np.arccosh),
    "atanh": (inside(-0.9, 0.9), fovea.atanh, np.arctanh),
    "exp2": (normal, fovea.exp2, np.exp2),
    "expm1": (normal, fovea.expm1, np.expm1),
    "log2": (positive(0.5), fovea.log2, np.log2),
    "log10": (positive(0.5), fovea.log10, np.log10),
    "log1p": (positive(-0.5), fovea.log1p, np.log1p),
    "rsqrt": (positive(0.5), fovea.rsqrt, lambda a: 1 / np.sqrt(a)),
    "reciprocal": (nonzero, fovea.reciprocal, lambda a: 1 / a),
    "square": (normal, fovea.square, np.square),
    "erf": (normal, fovea.erf, erf_np),
    "erfc": (normal, fovea.erfc, lambda a: 1 - erf_np(a)),
    "erfinv": (inside(-0.95, 0.95), fovea.erfinv, None),
    "floor": (away_from_grid(1.0), fovea.floor, np.floor),
    "ceil": (away_from_grid(1.0), fovea.ceil, np.ceil),
    "trunc": (away_from_grid(1.0), fovea.trunc, np.trunc),
    "round": (away_from_grid(1.0, 0.5), fovea.round, np.round),
    "frac": (away_from_grid(1.0), fovea.frac, lambda a: a - np.trunc(a)),
    "sign": (nonzero, fovea.sign, np.sign),
    "nan_to_num": (normal, fovea.nan_to_num, np.nan_to_num),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_unary_op_matches_torch_numpy_and_finite_differences(name, shape, seed):
    draw, fv_fn, np_fn = UNARY[name]
    x = draw(shape, np.random.default_rng(seed))
    check_op(fv_fn, getattr(torch, name) if torch else None, [x], numpy_fn=np_fn,
             rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_method_and_inplace_variant_agree_with_the_function(name):
    draw, fv_fn, _ = UNARY[name]
    a = draw((2, 3), np.random.default_rng(1))
    x = fovea.tensor(a)
    expected = fv_fn(fovea.tensor(a)).numpy()
    np.testing.assert_array_equal(getattr(x, name)().numpy(), expected)
    data, version = x._data, x._version[0]
    assert getattr(x, name + "_")() is x
    assert x._data is data and x._version[0] == version + 1
    np.testing.assert_array_equal(x.numpy(), expected)


@needs_torch
@pytest.mark.parametrize("name", sorted(set(UNARY) - {"frac", "erfinv"}))
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_unary_result_dtype_on_integers_and_bools_matches_torch(name, dtype):
    if dtype == "bool" and name in ("floor", "ceil", "round", "trunc", "sign"):
        pytest.skip("PyTorch has no rounding kernels for bool tensors")
    a = np.array([0, 1, 1]).astype(dtype)
    expected = getattr(torch, name)(torch.from_numpy(a)).dtype
    with np.errstate(all="ignore"):  # log2(0) and the like: the dtype is what is checked
        got = UNARY[name][1](fovea.tensor(a)).dtype
    assert str(got) == str(expected).removeprefix("torch.")


def test_frac_refuses_integer_tensors_like_torch():
    with pytest.raises(TypeError, match="frac: expected a floating tensor"):
        fovea.frac(fovea.tensor([1, 2]))


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign"])
def test_rounding_and_sign_are_differentiable_with_zero_gradient(name):
    x = fovea.tensor(np.array([-1.5, 0.2, 2.7]), requires_grad=True)
    y = getattr(fovea, name)(x)
    assert y.requires_grad
    (y * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


@needs_torch
@pytest.mark.parametrize("decimals", [-2, -1, 0, 1, 3])
def test_round_with_decimals_matches_torch_halves_to_even(decimals):
    a = np.array([0.5, 1.5, 2.5, -0.5, 1.2345, 1234.5, 15.0, 25.0, -0.125, 123.456])
    got = fovea.round(fovea.tensor(a), decimals=decimals)
    np.testing.assert_allclose(got.numpy(), torch.round(torch.tensor(a), decimals=decimals),
                               rtol=1e-15)
    assert fovea.tensor(a).round(decimals=decimals).tolist() == got.tolist()


@needs_torch
def test_nan_to_num_replacements_and_gradient_match_torch():
    a = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    for kwargs in ({}, {"nan": 1.5, "posinf": 9.0, "neginf": -9.0}):
        for dt in (np.float32, np.float64):
            got = fovea.nan_to_num(fovea.tensor(a.astype(dt)), **kwargs)
            ref = torch.nan_to_num(torch.tensor(a.astype(dt)), **kwargs)
            np.testing.assert_array_equal(got.numpy(), ref.numpy())
    check_op(fovea.nan_to_num, torch.nan_to_num, [a], fd=False)


@needs_torch
def test_erf_family_at_the_edges_matches_torch():
    a = np.array([0.0, -0.0, 1e-300, 1e-8, 0.5, 1.99, 2.0, 2.01, 5.0, 6.0, 27.0, 30.0, np.inf,
                  -np.inf, np.nan])
    a = np.concatenate([a, -a])
    for name in ("erf", "erfc"):
        np.testing.assert_allclose(getattr(fovea, name)(fovea.tensor(a)).numpy(),
                                   getattr(torch, name)(torch.tensor(a)).numpy(),
                                   rtol=1e-13, atol=0)
    y = np.concatenate([np.linspace(-1, 1, 2001), 1 - np.logspace(-15, -1, 30),
                        -1 + np.logspace(-15, -1, 30), [1.5, -1.5, np.nan]])
    np.testing.assert_allclose(fovea.erfinv(fovea.tensor(y)).numpy(),
                               torch.erfinv(torch.tensor(y)).numpy(), rtol=1e-12, atol=0)


def test_erf_matches_math_erf_in_float64_and_float32():
    a = np.linspace(-7, 7, 4001)
    ref = erf_np(a)
    np.testing.assert_allclose(fovea.erf(fovea.tensor(a)).numpy(), ref, rtol=1e-14, atol=1e-300)
    refc = np.vectorize(math.erfc, otypes=[float])(a)
    np.testing.assert_allclose(fovea.erfc(fovea.tensor(a)).numpy(), refc, rtol=1e-12, atol=0)
    f32 = fovea.erf(fovea.tensor(a.astype(np.float32)))
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32.numpy(), ref, rtol=1e-6, atol=1e-7)


def test_erfinv_inverts_erf():
    y = np.linspace(-0.999999, 0.999999, 1001)
    x = fovea.erfinv(fovea.tensor(y))
    np.testing.assert_allclose(erf_np(x.numpy()), y, rtol=0, atol=2e-15)
    assert fovea.erfinv(fovea.tensor([1.0, -1.0, 2.0])).tolist()[:2] == [math.inf, -math.inf]
