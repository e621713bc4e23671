"""Scans (cumsum, cumprod, cummax, cummin, logcumsumexp) against PyTorch, NumPy and finite
differences, including cumprod with zeros and logcumsumexp at large magnitudes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import fovea
from oracle import check_op, needs_torch, torch

shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def logcumsumexp_np(a, axis):
    return np.logaddexp.accumulate(a, axis=axis)


SCANS = {
    "cumsum": lambda a, d: np.cumsum(a, axis=d),
    "cumprod": lambda a, d: np.cumprod(a, axis=d),
    "logcumsumexp": logcumsumexp_np,
}


@pytest.mark.parametrize("name", sorted(SCANS))
@given(shape=shapes, data=st.data(), seed=st.integers(0, 2**16))
def test_scan_matches_torch_numpy_and_finite_differences(name, shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.random.default_rng(seed).standard_normal(shape)
    check_op(lambda t: getattr(t, name)(dim), (lambda t: getattr(torch, name)(t, dim))
             if torch else None, [x], numpy_fn=lambda a: SCANS[name](a, dim))


@given(shape=shapes, data=st.data(), seed=st.integers(0, 2**16))
def test_cumprod_gradient_is_exact_with_zeros(shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    x[rng.random(shape) < 0.3] = 0.0  # rows with no, one or several zeros
    check_op(lambda t: fovea.cumprod(t, dim), (lambda t: torch.cumprod(t, dim))
             if torch else None, [x], numpy_fn=lambda a: np.cumprod(a, axis=dim))


def test_cumprod_gradient_with_zeros_worked_by_hand():
    # y = (2, 0, 0, 0): dy/dx summed = (1 + 0 + 0 + 0, 2 + 2·3 + 2·3·4, 0, 0)
    x = fovea.tensor(np.array([2.0, 0.0, 3.0, 4.0]), requires_grad=True)
    fovea.cumprod(x, 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 32.0, 0.0, 0.0])


@needs_torch
def test_logcumsumexp_is_stable_at_large_magnitudes_like_torch():
    x = np.array([[-1000.0, 0.0, 1000.0, 999.0], [800.0, -np.inf, 3.0, 700.0]])
    check_op(lambda t: t.logcumsumexp(1), lambda t: torch.logcumsumexp(t, 1), [x],
             fd=False, second_order=False)
    got = fovea.logcumsumexp(fovea.tensor(x), 1).numpy()
    assert np.isfinite(got).all() and got[0, 0] == -1000.0


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@given(shape=shapes, data=st.data(), seed=st.integers(0, 2**16))
def test_cummax_cummin_values_indices_and_gradient_match_torch(name, shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, shape).astype(float)  # many ties: PyTorch takes the latest index
    ref = np.maximum if name == "cummax" else np.minimum
    check_op(lambda t: getattr(t, name)(dim).values, (lambda t: getattr(torch, name)(t, dim)
             .values) if torch else None, [x], fd=False,
             numpy_fn=lambda a: ref.accumulate(a, axis=dim))
    if torch is not None:
        got = getattr(fovea, name)(fovea.tensor(x), dim)
        np.testing.assert_array_equal(got.indices.numpy(),
                                      getattr(torch, name)(torch.tensor(x), dim).indices)


@needs_torch
@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_propagate_nan_with_torchs_indices(name):
    x = np.array([1.0, np.nan, 3.0, np.nan, 0.0])
    got = getattr(fovea, name)(fovea.tensor(x), 0)
    ref = getattr(torch, name)(torch.tensor(x), 0)
    np.testing.assert_array_equal(got.values.numpy(), ref.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), ref.indices.numpy())


@needs_torch
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", ["int32", "int64", "bool", "uint8"])
def test_integer_scans_accumulate_in_int64_like_torch(name, dtype):
    a = np.array([[1, 2, 0], [3, 1, 1]]).astype(dtype)
    got = getattr(fovea, name)(fovea.tensor(a), 1)
    ref = getattr(torch, name)(torch.from_numpy(a), 1)
    np.testing.assert_array_equal(got.numpy(), ref.numpy())
    assert str(got.dtype) == str(ref.dtype).removeprefix("torch.")


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, -1])
def test_scans_of_a_0d_tensor_accept_dim_0_and_minus_1(name, dim):
    x = fovea.tensor(2.5, requires_grad=True)
    out = getattr(x, name)(dim)
    value = out.values if isinstance(out, tuple) else out
    assert value.shape == () and value.item() == 2.5
    value.backward()
    assert x.grad.item() == 1.0


def test_scan_requires_dim_and_checks_its_range():
    x = fovea.tensor([[1.0, 2.0]])
    with pytest.raises(TypeError, match="cumsum: dim is required"):
        fovea.cumsum(x, None)
    with pytest.raises(IndexError, match="cumprod"):
        fovea.cumprod(x, 2)


def test_cumsum_inplace_and_dtype_argument():
    x = fovea.tensor([1.0, 2.0, 3.0])
    assert x.cumsum_(0) is x and x.tolist() == [1.0, 3.0, 6.0]
    assert fovea.cumsum(fovea.tensor([1, 2]), 0, dtype=fovea.float64).dtype == np.float64
