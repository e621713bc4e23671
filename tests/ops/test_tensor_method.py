"""``ops._util.tensor_method``: how op families add Tensor methods and in-place variants."""

import numpy as np
import pytest

import fovea
from fovea.ops._util import tensor_method
from fovea.tensor import Tensor


@pytest.fixture
def cube():
    @tensor_method("_test_cube", inplace=True)
    def cube(x):
        return x * x * x
    yield cube
    del Tensor._test_cube, Tensor._test_cube_


def test_method_and_inplace_variant_match_the_function(cube):
    x = fovea.tensor([1.0, -2.0])
    assert x._test_cube().tolist() == [1.0, -8.0]
    before, data = x._version[0], x._data
    assert x._test_cube_() is x
    assert x.tolist() == [1.0, -8.0] and x._data is data and x._version[0] == before + 1


def test_inplace_variant_follows_pytorchs_autograd_rules(cube):
    w = fovea.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="_test_cube_: a leaf tensor that requires grad"):
        w._test_cube_()
    z = w * 1.0
    z._test_cube_()              # recorded on a non-leaf: d(w³)/dw = 3w²
    z.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 12.0])


def test_a_name_tensor_already_has_is_refused_without_replace():
    with pytest.raises(RuntimeError, match="Tensor.sum exists already"):
        tensor_method("sum")(lambda x: x)
