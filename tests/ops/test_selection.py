"""median, nanmedian, kthvalue and mode against PyTorch: values, indices, gradients."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import fovea
from oracle import check_op, needs_torch, torch

shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


def distinct(shape, seed):
    """Distinct values (PyTorch leaves the index of tied values unspecified)."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(shape) * 0.37 - 1.0


@pytest.mark.parametrize("name", ["median", "nanmedian"])
@given(shape=shapes, data=st.data(), keepdim=st.booleans(), seed=st.integers(0, 2**16))
def test_median_along_dim_matches_torch_values_indices_and_gradient(name, shape, data, keepdim,
                                                                      seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = distinct(shape, seed)
    check_op(lambda t: getattr(t, name)(dim, keepdim).values,
             (lambda t: getattr(t, name)(dim, keepdim).values) if torch else None, [x],
             numpy_fn=lambda a: np.take_along_axis(
                 np.sort(a, axis=dim), np.full([1] * a.ndim, (a.shape[dim] - 1) // 2), dim)
             if keepdim else np.quantile(a, 0.5, axis=dim, method="lower"))
    if torch is not None:
        got = getattr(fovea.tensor(x), name)(dim, keepdim)
        ref = getattr(torch.tensor(x), name)(dim, keepdim)
        np.testing.assert_array_equal(got.indices.numpy(), ref.indices.numpy())


@needs_torch
@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_of_all_elements_shares_the_gradient_among_ties_like_torch(name):
    x = np.array([[1.0, 2.0, 2.0], [2.0, 0.0, 5.0]])
    check_op(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x], fd=False)
    check_op(lambda t: getattr(fovea, name)(t), lambda t: getattr(torch, name)(t),
             [distinct((3, 4), 1)])


@needs_torch
def test_median_propagates_nan_and_nanmedian_skips_it_like_torch():
    x = np.array([[1.0, np.nan, 3.0, np.nan, 0.0], [np.nan, 1.0, np.nan, 2.0, 3.0],
                  [4.0, 1.0, 2.0, 3.0, 0.0], [np.nan] * 5])
    for name in ("median", "nanmedian"):
        got = getattr(fovea.tensor(x), name)(1)
        ref = getattr(torch.tensor(x), name)(1)
        np.testing.assert_array_equal(got.values.numpy(), ref.values.numpy())
        # (which NaN an all-NaN row's nanmedian points at is PyTorch's sort's choice)
        rows = slice(None) if name == "median" else slice(0, 3)
        np.testing.assert_array_equal(got.indices.numpy()[rows], ref.indices.numpy()[rows])
        np.testing.assert_array_equal(getattr(fovea.tensor(x), name)().numpy(),
                                      getattr(torch.tensor(x), name)().numpy())


def test_median_of_an_even_count_is_the_lower_middle_value():
    assert fovea.tensor([4.0, 1.0, 3.0, 2.0]).median().item() == 2.0
    assert fovea.median(fovea.tensor([[4, 1, 3, 2]]), 1).values.tolist() == [2]


@given(shape=shapes, data=st.data(), keepdim=st.booleans(), seed=st.integers(0, 2**16))
def test_kthvalue_matches_torch(shape, data, keepdim, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(1, shape[dim]))
    x = distinct(shape, seed)
    check_op(lambda t: t.kthvalue(k, dim, keepdim).values,
             (lambda t: t.kthvalue(k, dim, keepdim).values) if torch else None, [x],
             numpy_fn=lambda a: np.take(np.sort(a, axis=dim), [k - 1] if keepdim else k - 1,
                                        axis=dim))
    if torch is not None:
        got = fovea.kthvalue(fovea.tensor(x), k, dim, keepdim)
        np.testing.assert_array_equal(got.indices.numpy(),
                                      torch.kthvalue(torch.tensor(x), k, dim, keepdim).indices)


def test_kthvalue_checks_k():
    with pytest.raises(IndexError, match="kthvalue: k = 4 is out of range"):
        fovea.tensor([1.0, 2.0, 3.0]).kthvalue(4)


@given(shape=shapes, data=st.data(), keepdim=st.booleans(), seed=st.integers(0, 2**16))
def test_mode_matches_torch_values_indices_and_gradient(shape, data, keepdim, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(float)  # repeated values
    check_op(lambda t: t.mode(dim, keepdim).values,
             (lambda t: t.mode(dim, keepdim).values) if torch else None, [x], fd=False)
    if torch is not None:
        got = fovea.mode(fovea.tensor(x), dim, keepdim)
        ref = torch.mode(torch.tensor(x), dim, keepdim)
        np.testing.assert_array_equal(got.values.numpy(), ref.values.numpy())
        np.testing.assert_array_equal(got.indices.numpy(), ref.indices.numpy())


def test_mode_worked_by_hand_smallest_of_the_most_frequent_last_index():
    r = fovea.tensor([[2, 1, 2, 1, 1, 2, 7]]).mode()
    assert r.values.tolist() == [1] and r.indices.tolist() == [4]
    values, indices = fovea.tensor([[4.0, 4.0, 5.0, 5.0, 5.0]]).mode(1)
    assert values.tolist() == [5.0] and indices.tolist() == [4]
