"""Comparisons, logical ops, is* tests, equal/isclose/allclose against PyTorch; their
methods and in-place variants."""

import numpy as np
import pytest

import fovea
from oracle import needs_torch, torch

A = np.array([[1.0, 2.0, np.nan], [np.inf, -np.inf, 0.0]])
B = np.array([1.0, 3.0, np.nan])

COMPARE = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
           "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor"]


@needs_torch
@pytest.mark.parametrize("name", COMPARE)
def test_comparison_functions_methods_and_inplace_variants_match_torch(name):
    ref = getattr(torch, name)(torch.tensor(A), torch.tensor(B))
    for got in (getattr(fovea, name)(fovea.tensor(A), fovea.tensor(B)),
                getattr(fovea.tensor(A), name)(fovea.tensor(B))):
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got.numpy(), ref.numpy())
    x, t = fovea.tensor(A), torch.tensor(A)
    assert getattr(x, name + "_")(fovea.tensor(B)) is x
    getattr(t, name + "_")(torch.tensor(B))
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x.numpy(), t.numpy())


@needs_torch
@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf",
                                  "logical_not"])
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_unary_tests_match_torch(name, dtype):
    a = A if dtype == "float64" else np.array([[0, 1], [-2, 3]])
    got = getattr(fovea, name)(fovea.tensor(a))
    ref = getattr(torch, name)(torch.tensor(a))
    np.testing.assert_array_equal(got.numpy(), ref.numpy())
    np.testing.assert_array_equal(getattr(fovea.tensor(a), name)().numpy(), ref.numpy())


@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"equal_nan": True}, {"rtol": 0.5}, {"atol": 1.5}])
def test_isclose_and_allclose_match_torch(kwargs):
    a = np.array([1.0, 2.0, np.nan, np.inf, 1e-9])
    b = np.array([1.0 + 1e-9, 3.0, np.nan, np.inf, 0.0])
    got = fovea.isclose(fovea.tensor(a), fovea.tensor(b), **kwargs)
    np.testing.assert_array_equal(got.numpy(), torch.isclose(torch.tensor(a), torch.tensor(b),
                                                             **kwargs).numpy())
    for x, y in [(a, b), (a[:2], b[:2]), (a[:1], b[:1])]:
        assert fovea.allclose(fovea.tensor(x), fovea.tensor(y), **kwargs) == \
            torch.allclose(torch.tensor(x), torch.tensor(y), **kwargs)
        assert fovea.tensor(x).allclose(fovea.tensor(y), **kwargs) == \
            torch.tensor(x).allclose(torch.tensor(y), **kwargs)


def test_equal_is_a_python_bool_for_same_shape_and_values():
    x = fovea.tensor([[1, 2], [3, 4]])
    assert fovea.equal(x, fovea.tensor([[1, 2], [3, 4]])) is True
    assert x.equal(fovea.tensor([[1, 2], [3, 5]])) is False
    assert fovea.equal(x, fovea.tensor([1, 2, 3, 4])) is False
    assert fovea.equal(fovea.tensor([np.nan]), fovea.tensor([np.nan])) is False


def test_logical_not_of_numbers_is_a_truth_test_not_a_bitwise_complement():
    assert fovea.logical_not(fovea.tensor([0, 2, -1])).tolist() == [True, False, False]
    assert fovea.logical_not(fovea.tensor([0.0, 0.5])).tolist() == [True, False]
