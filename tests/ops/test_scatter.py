"""scatter / index_* / masked_* against PyTorch: forward, gradients (every input that
PyTorch differentiates), double backward, dtype, in-place variants."""

import numpy as np
import pytest

import fovea
from oracle import check_op, needs_torch, torch


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


UNIQUE = np.array([[0, 2, 1], [1, 0, 3], [3, 1, 0]])   # no repeats in a row or column
REPEATS = np.array([[0, 2, 2], [1, 0, 3], [3, 3, 3]])  # repeated targets accumulate


def T(a):  # noqa: N802 - a torch tensor of an index array
    return torch.tensor(a)


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_src_and_value_match_torch(dim):
    x, src = rand((4, 4)), rand((3, 3), 1)
    check_op(lambda a, b: a.scatter(dim, UNIQUE, b), lambda a, b: a.scatter(dim, T(UNIQUE), b),
             [x, src])
    check_op(lambda a: fovea.scatter(a, dim, UNIQUE, 2.5),
             lambda a: torch.scatter(a, dim, T(UNIQUE), 2.5), [x])
    check_op(lambda a: a.scatter(dim, UNIQUE, value=-1.0),
             lambda a: a.scatter(dim, T(UNIQUE), value=-1.0), [x])


@needs_torch
@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_with_legacy_reduce_matches_torch():
    x, src = rand((4, 4)), rand((3, 3), 1)
    for reduce in ("add", "multiply"):
        got = fovea.tensor(x).scatter(1, REPEATS, fovea.tensor(src), reduce=reduce)
        want = torch.tensor(x).scatter(1, T(REPEATS), torch.tensor(src), reduce=reduce)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_scatter_add_accumulates_repeats_like_torch():
    x, src = rand((4, 4)), rand((3, 3), 1)
    check_op(lambda a, b: a.scatter_add(1, REPEATS, b),
             lambda a, b: a.scatter_add(1, T(REPEATS), b), [x, src])
    check_op(lambda a, b: fovea.scatter_add(a, 0, REPEATS, b),
             lambda a, b: torch.scatter_add(a, 0, T(REPEATS), b), [x, src])


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_matches_torch(reduce, include_self):
    x, src = rand((4, 4)), rand((3, 3), 1)
    check_op(lambda a, b: a.scatter_reduce(1, REPEATS, b, reduce, include_self=include_self),
             lambda a, b: a.scatter_reduce(1, T(REPEATS), b, reduce, include_self=include_self),
             [x, src])


@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_scatter_reduce_ties_share_the_gradient_like_torch(reduce):
    x = np.array([[1.0, 2.0, 3.0, 0.5]])
    src = np.array([[1.0, 1.0, 3.0]])  # ties with each other and with x
    idx = np.array([[0, 0, 2]])
    check_op(lambda a, b: a.scatter_reduce(1, idx, b, reduce),
             lambda a, b: a.scatter_reduce(1, T(idx), b, reduce), [x, src], fd=False)


def test_scatter_reduce_prod_gradient_with_zeros_matches_torch():
    x = np.array([[0.0, 2.0, 3.0, 0.5]])
    src = np.array([[1.5, 0.0, 0.0, 2.0]])
    idx = np.array([[0, 1, 2, 2]])  # one zero in group 0 and 1; two zeros in group 2
    check_op(lambda a, b: a.scatter_reduce(1, idx, b, "prod"),
             lambda a, b: a.scatter_reduce(1, T(idx), b, "prod"), [x, src], fd=False,
             second_order=False)


def test_scatter_reduce_mean_on_integers_floors_like_torch():
    x = np.array([[1, 2, 3]])
    src = np.array([[4, 5, 6]])
    idx = np.array([[0, 0, 2]])
    got = fovea.tensor(x).scatter_reduce(1, idx, fovea.tensor(src), "mean")
    want = torch.tensor(x).scatter_reduce(1, T(idx), torch.tensor(src), "mean") \
        if torch is not None else np.array([[3, 2, 4]])
    np.testing.assert_array_equal(got.numpy(), np.asarray(want))
    assert got.dtype == np.int64


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_add_copy_fill_match_torch(dim):
    x = rand((3, 4))
    idx = np.array([2, 0])
    n = 2
    src_shape = tuple(n if i == dim % 2 else s for i, s in enumerate(x.shape))
    src = rand(src_shape, 1)
    check_op(lambda a, b: a.index_add(dim, idx, b, alpha=2.0),
             lambda a, b: a.index_add(dim, T(idx), b, alpha=2.0), [x, src])
    check_op(lambda a, b: fovea.index_copy(a, dim, idx, b),
             lambda a, b: torch.index_copy(a, dim, T(idx), b), [x, src])
    check_op(lambda a: a.index_fill(dim, idx, -2.0),
             lambda a: a.index_fill(dim, T(idx), -2.0), [x])


def test_index_add_with_repeated_index_accumulates():
    x, src = rand((3, 2)), rand((3, 2), 1)
    idx = np.array([1, 1, 0])
    check_op(lambda a, b: fovea.index_add(a, 0, idx, b),
             lambda a, b: torch.index_add(a, 0, T(idx), b), [x, src])


def test_index_fill_and_masked_fill_take_a_differentiable_0d_value():
    x, v = rand((3, 4)), np.array(0.7)
    mask = rand((1, 4), 2) > 0
    check_op(lambda a, b: a.masked_fill(mask, b), lambda a, b: a.masked_fill(T(mask), b), [x, v])
    check_op(lambda a, b: a.index_fill(1, np.array([0, 3]), b),
             lambda a, b: a.index_fill(1, T(np.array([0, 3])), b), [x, v])


def test_masked_fill_keeps_the_integer_dtype_like_torch():
    x = fovea.tensor(np.arange(6).reshape(2, 3))
    out = fovea.masked_fill(x, x > 2, 0.5)
    assert out.dtype == np.int64 and out.tolist() == [[0, 1, 2], [0, 0, 0]]


def test_masked_scatter_matches_torch():
    x, src = rand((3, 4)), rand((2, 5), 1)
    mask = rand((3, 4), 2) > 0
    check_op(lambda a, b: a.masked_scatter(mask, b),
             lambda a, b: a.masked_scatter(T(mask), b), [x, src])
    row = np.array([True, False, True, True])  # broadcasts over rows
    check_op(lambda a, b: fovea.masked_scatter(a, row, b),
             lambda a, b: torch.masked_scatter(a, T(row), b), [x, src])


def test_inplace_variants_write_into_the_tensor():
    x = fovea.tensor(rand((3, 4)))
    ref = x.numpy().copy()
    data = x._data
    assert x.index_fill_(1, np.array([0]), 5.0) is x and x._data is data
    ref[:, 0] = 5.0
    np.testing.assert_array_equal(x.numpy(), ref)
    x.masked_fill_(x > 4, -1.0)
    ref[ref > 4] = -1.0
    x.scatter_add_(0, np.zeros((1, 4), np.int64), fovea.ones(1, 4, dtype=fovea.float64))
    ref[0] += 1
    x.index_add_(1, np.array([3]), fovea.ones(3, 1, dtype=fovea.float64), alpha=2)
    ref[:, 3] += 2
    np.testing.assert_array_equal(x.numpy(), ref)
    x.scatter_(1, np.array([[1]]), 9.0)
    ref[0, 1] = 9.0
    x.index_copy_(0, np.array([2]), fovea.zeros(1, 4, dtype=fovea.float64))
    ref[2] = 0
    x.masked_scatter_(x < 0, fovea.full((12,), 7.0, dtype=fovea.float64))
    ref[ref < 0] = 7.0
    x.scatter_reduce_(1, np.array([[0, 0]]), fovea.tensor([[10.0, 20.0]], dtype=fovea.float64),
                      "amax")
    ref[0, 0] = max(ref[0, 0], 20.0)
    np.testing.assert_array_equal(x.numpy(), ref)


def test_inplace_scatter_is_recorded_on_a_non_leaf():
    w = fovea.tensor(rand((2, 3)), requires_grad=True)
    y = w * 1.0
    y.index_fill_(1, np.array([1]), 0.0)
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 0, 1], [1, 0, 1]])


@pytest.mark.parametrize("call,error,message", [
    (lambda x: x.scatter(1, np.array([[4]]), 1.0), IndexError,
     "scatter: index 4 is out of bounds for dimension 1 with size 4"),
    (lambda x: x.scatter(1, np.array([0]), 1.0), RuntimeError,
     "scatter: index has 1 dimensions but input has 2"),
    (lambda x: x.scatter_add(1, np.array([[0]]), fovea.ones(1, 1, dtype=fovea.int64)),
     RuntimeError, "scatter_add: expected src of the input's dtype"),
    (lambda x: x.index_add(0, np.array([0]), fovea.ones(2, 4)), RuntimeError,
     r"index_add: source should have shape \(1, 4\)"),
    (lambda x: x.masked_scatter(x > 10, fovea.ones(0)), RuntimeError, None),
    (lambda x: x.scatter_reduce(1, np.array([[0]]), x[:1, :1], "median"), ValueError,
     "scatter_reduce: reduce must be"),
])
def test_scatter_errors_name_the_op(call, error, message):
    x = fovea.ones(3, 4)
    if message is None:  # a mask with no True entry takes nothing: no error
        assert call(x).shape == (3, 4)
        return
    with pytest.raises(error, match=message):
        call(x)
