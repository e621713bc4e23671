"""Bitwise operators on integer and bool tensors, as PyTorch's: values and dtypes against
PyTorch (when installed) and against NumPy's integer semantics; floats are refused; an
integer tensor to a float power is float32."""

import operator

import numpy as np
import pytest

import fovea
from oracle import torch

A = np.array([[5, -3, 0], [12, 7, -8]], dtype=np.int64)
B = np.array([[3, 6, 1], [10, 1, 2]], dtype=np.int64)
OPS = {"and": operator.and_, "or": operator.or_, "xor": operator.xor,
       "lshift": operator.lshift, "rshift": operator.rshift}


@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_binary_bitwise_ops_match_numpy_and_torch(name, dtype):
    a, b = A.astype(dtype) if dtype != np.uint8 else np.abs(A).astype(dtype), B.astype(dtype)
    op = OPS[name]
    got = op(fovea.tensor(a), fovea.tensor(b))
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.numpy(), op(a, b))
    scalar = op(fovea.tensor(a), 2)
    np.testing.assert_array_equal(scalar.numpy(), op(a, dtype(2)))
    assert op(2, fovea.tensor(a)).tolist() == op(dtype(2), a).tolist()
    if torch is not None:
        t = op(torch.tensor(a), torch.tensor(b))
        np.testing.assert_array_equal(got.numpy(), t.numpy())


def test_invert_and_bool_operands():
    assert (~fovea.tensor(A)).tolist() == (~A).tolist()
    p, q = np.array([True, True, False]), np.array([True, False, False])
    assert (fovea.tensor(p) & fovea.tensor(q)).tolist() == [True, False, False]
    assert (fovea.tensor(p) | fovea.tensor(q)).tolist() == [True, True, False]
    assert (fovea.tensor(p) ^ fovea.tensor(q)).tolist() == [False, True, False]
    assert (~fovea.tensor(p)).tolist() == [False, False, True]
    assert (fovea.tensor(p) & fovea.tensor(q)).dtype == np.bool_


@pytest.mark.parametrize("name", ["and", "or", "xor", "lshift"])
def test_floating_tensors_are_refused_with_the_op_named(name):
    with pytest.raises(TypeError, match="expected integer or bool tensors, got dtype float"):
        OPS[name](fovea.tensor([1.5]), fovea.tensor([2.0]))
    with pytest.raises(TypeError, match="bitwise_not: expected an integer or bool tensor"):
        ~fovea.tensor([1.5])


def test_an_integer_tensor_to_a_float_power_is_float32_like_torch():
    got = fovea.tensor(np.array([4, 9])) ** 0.5
    assert got.dtype == np.float32 and got.tolist() == [2.0, 3.0]
    assert (fovea.tensor(np.array([2, 3])) ** 2).dtype == np.int64  # int ** int stays int
    if torch is not None:
        assert (torch.tensor([4, 9]) ** 0.5).dtype == torch.float32
        assert (torch.tensor([2, 3]) ** 2).dtype == torch.int64
