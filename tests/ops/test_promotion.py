"""Type promotion of binary ops: PyTorch's rules, where they differ from NumPy's.

The expected dtypes are PyTorch's documented rules (``torch.result_type``): a higher category
(bool < integer < floating) wins; within a category a 0-d tensor or a Python scalar does not
widen a tensor with dimensions. Each case is also compared with PyTorch when it is installed.
"""

import numpy as np
import pytest

import fovea
from oracle import needs_torch, torch

# (dtype of the tensor with dimensions, dtype of the 0-d tensor, PyTorch's result dtype)
ZERO_DIM_CASES = [
    ("float32", "float64", "float32"),
    ("float16", "float64", "float16"),
    ("uint8", "int64", "uint8"),
    ("int8", "uint8", "int8"),
    ("int64", "float64", "float64"),   # a higher category: the 0-d tensor's dtype
    ("int32", "float16", "float16"),
    ("bool", "int64", "int64"),
    ("int32", "bool", "int32"),
]


@pytest.mark.parametrize("dims, zero, expected", ZERO_DIM_CASES)
def test_a_zero_dim_tensor_widens_only_across_categories(dims, zero, expected):
    a = fovea.tensor([1, 0, 1], dtype=getattr(fovea, dims))
    b = fovea.tensor(1, dtype=getattr(fovea, zero))
    for out in (a + b, b + a, a * b, b * a):
        assert out.dtype == np.dtype(expected)
        assert out.shape == (3,)


@pytest.mark.parametrize("dims, zero, expected", ZERO_DIM_CASES)
def test_same_rank_tensors_promote_as_usual(dims, zero, expected):
    a = fovea.tensor([1, 0], dtype=getattr(fovea, dims))
    b = fovea.tensor([1], dtype=getattr(fovea, zero))
    want = {("float32", "float64"): "float64", ("float16", "float64"): "float64",
            ("uint8", "int64"): "int64", ("int8", "uint8"): "int16"}.get((dims, zero), expected)
    assert (a + b).dtype == np.dtype(want)


def test_an_out_of_range_integer_scalar_wraps_into_the_tensor_dtype():
    # int8: 1000 wraps to -24 (1000 - 4 * 256), as PyTorch adds it; NumPy would raise.
    out = fovea.tensor([1, 2], dtype=fovea.int8) + 1000
    assert out.dtype == np.int8 and out.tolist() == [-23, -22]
    assert (fovea.tensor([True, False]) + 1).dtype == np.int64


def test_the_cast_of_a_zero_dim_operand_keeps_its_gradient():
    scale = fovea.tensor(2.0, dtype=fovea.float64, requires_grad=True)
    x = fovea.ones(3, requires_grad=True)
    y = (x * scale).sum()
    assert y.dtype == np.float32
    y.backward()
    assert scale.grad.dtype == np.float64 and scale.grad.item() == 3.0
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_dtype_aliases_are_pytorchs_and_stay_out_of_star_imports():
    assert fovea.int is np.int32 and fovea.bool is np.bool_ and fovea.float is np.float32
    assert not {"int", "bool", "float"} & set(fovea.__all__)


@needs_torch
@pytest.mark.parametrize("dims, zero, expected", ZERO_DIM_CASES)
@pytest.mark.parametrize("zero_shape", [(), (1,)])
def test_promotion_matches_pytorch(dims, zero, expected, zero_shape):
    a, ta = (fovea.tensor([1, 0, 1], dtype=getattr(fovea, dims)),
             torch.tensor([1, 0, 1], dtype=getattr(torch, dims)))
    b = fovea.tensor(3, dtype=getattr(fovea, zero)).reshape(zero_shape)
    tb = torch.tensor(3, dtype=getattr(torch, zero)).reshape(zero_shape)
    for f in (lambda x, y: x + y, lambda x, y: y * x):
        out, tout = f(a, b), f(ta, tb)
        assert str(out.dtype) == str(tout.dtype).removeprefix("torch.")
        assert out.tolist() == tout.tolist()
