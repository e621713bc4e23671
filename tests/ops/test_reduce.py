"""Reductions against PyTorch (values, gradients, double backward) and finite differences."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import fovea
from oracle import check_op, torch


@st.composite
def shape_and_dims(draw, min_side=1):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=min_side, max_side=4))
    dims = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                          st.lists(st.integers(0, len(shape) - 1), min_size=1,
                                   max_size=len(shape), unique=True).map(tuple)))
    keepdim = draw(st.booleans())
    return shape, dims, keepdim


def tdims(d):
    return tuple(range(-1, 0)) if False else d


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp"])
@given(sdk=shape_and_dims(), seed=st.integers(0, 2**16))
def test_reduction_over_dims_matches_torch(name, sdk, seed):
    shape, dims, keepdim = sdk
    x = np.random.default_rng(seed).standard_normal(shape)
    if dims is None and name != "logsumexp":
        fv = lambda t: getattr(t, name)()  # noqa: E731
        tt = lambda t: getattr(t, name)()  # noqa: E731
    else:
        d = dims if dims is not None else tuple(range(len(shape)))
        fv = lambda t: getattr(t, name)(dim=d, keepdim=keepdim)  # noqa: E731
        tt = lambda t: getattr(torch, name)(t, dim=d, keepdim=keepdim)  # noqa: E731
    check_op(fv, tt, [x])


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("unbiased", [True, False])
@given(sdk=shape_and_dims(min_side=2), seed=st.integers(0, 2**16))
def test_var_std_match_torch_with_and_without_bessel_correction(name, unbiased, sdk, seed):
    shape, dims, keepdim = sdk
    x = np.random.default_rng(seed).standard_normal(shape)
    fv = lambda t: getattr(t, name)(dim=dims, unbiased=unbiased, keepdim=keepdim)  # noqa: E731
    tt = lambda t: getattr(t, name)(dim=dims, unbiased=unbiased, keepdim=keepdim)  # noqa: E731
    check_op(fv, tt, [x], numpy_fn=lambda a: getattr(np, name)(
        a, axis=dims, ddof=int(unbiased), keepdims=keepdim))


@pytest.mark.parametrize("name", ["max", "min"])
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
       data=st.data(), keepdim=st.booleans(), seed=st.integers(0, 2**16))
def test_max_min_along_dim_route_gradient_to_the_index(name, shape, data, keepdim, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1
    check_op(lambda t: getattr(t, name)(dim=dim, keepdim=keepdim).values,
             lambda t: getattr(t, name)(dim=dim, keepdim=keepdim).values, [x.astype(float)])
    r = getattr(fovea.tensor(x), name)(dim=dim, keepdim=keepdim)
    np.testing.assert_array_equal(
        r.indices.numpy(), getattr(np, "arg" + name)(x, axis=dim, keepdims=keepdim))


def test_max_gate_routes_whole_gradient_to_first_max_along_dim():
    x = fovea.tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]), requires_grad=True)
    x.max(dim=1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])


def test_amax_shares_gradient_among_ties_like_torch():
    x = fovea.tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    x.amax().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0.5, 0.5])


def test_argmax_and_axis_alias():
    x = fovea.tensor(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]]))
    np.testing.assert_array_equal(x.argmax(dim=1).numpy(), [1, 0])
    np.testing.assert_array_equal(x.argmax(axis=0, keepdim=True).numpy(), [[1, 0, 0]])
    assert x.argmax().item() == 3
    np.testing.assert_allclose(x.sum(axis=1).numpy(), [8.0, 8.0])


def test_logsumexp_is_stable_for_logits_of_1000():
    x = fovea.tensor(np.array([1000.0, 1000.0, -1000.0]), requires_grad=True)
    y = x.logsumexp(dim=0)
    y.backward()
    np.testing.assert_allclose(y.item(), 1000.0 + np.log(2.0))
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5, 0.0])


def test_sum_of_size_zero_dimension_is_zero_and_reducing_max_over_it_errors():
    x = fovea.zeros(0, 3, requires_grad=True)
    s = x.sum(dim=0)
    np.testing.assert_array_equal(s.detach().numpy(), np.zeros(3))
    s.sum().backward()
    assert x.grad.shape == (0, 3)
    with pytest.raises(ValueError, match="amax: cannot reduce over an empty dimension"):
        x.amax(dim=0)


def test_bad_dim_names_the_op():
    with pytest.raises(IndexError, match="sum: dimension 3 is out of range"):
        fovea.zeros(2, 2).sum(dim=3)
    with pytest.raises(TypeError, match="pass dim or axis, not both"):
        fovea.zeros(2, 2).sum(dim=0, axis=1)
