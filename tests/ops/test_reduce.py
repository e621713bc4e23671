"""Reductions against PyTorch (values, gradients, double backward) and finite differences."""

import warnings

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


# --- 0-d tensors, prod, paired statistics, counts -------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp", "prod", "max",
                                  "min", "median", "nanmedian", "norm", "count_nonzero",
                                  "argmax", "argmin", "any", "all", "std", "var"])
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions_of_a_0d_tensor_take_dim_0_and_minus_1_like_torch(name, dim, keepdim):
    kwargs = {} if name == "count_nonzero" else {"keepdim": keepdim}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # var/std of one element: NaN, with a warning
        got = getattr(fovea.tensor(2.5, dtype=fovea.float64), name)(dim, **kwargs)
        if torch is not None:
            ref = getattr(torch.tensor(2.5, dtype=torch.float64), name)(dim, **kwargs)
    got = got.values if isinstance(got, tuple) else got
    assert got.shape == ()
    if torch is not None:
        ref = ref.values if isinstance(ref, tuple) else ref
        np.testing.assert_array_equal(got.numpy(), ref.numpy())
        assert str(got.dtype) == str(ref.dtype).removeprefix("torch.")


def test_a_0d_tensor_refuses_other_dims():
    with pytest.raises(IndexError):
        fovea.tensor(1.0).max(1)
    with pytest.raises(IndexError):
        fovea.tensor(1.0).argmax(-2)


@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data(),
       keepdim=st.booleans(), seed=st.integers(0, 2**16))
def test_prod_matches_torch_with_and_without_zeros(shape, data, keepdim, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    zeros = data.draw(st.integers(0, 2))
    x.reshape(-1)[rng.permutation(x.size)[:zeros]] = 0.0  # none, one or two zeros
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    if dim is None:
        check_op(lambda t: t.prod(), lambda t: t.prod(), [x], numpy_fn=np.prod)
    else:
        check_op(lambda t: fovea.prod(t, dim, keepdim), lambda t: torch.prod(t, dim, keepdim),
                 [x], numpy_fn=lambda a: np.prod(a, axis=dim, keepdims=keepdim))


def test_prod_gradient_with_one_and_two_zeros_worked_by_hand():
    x = fovea.tensor(np.array([2.0, 0.0, 3.0]), requires_grad=True)
    x.prod().backward()
    assert x.grad.tolist() == [0.0, 6.0, 0.0]  # only the zero's: the product of the others
    y = fovea.tensor(np.array([2.0, 0.0, 3.0, 0.0]), requires_grad=True)
    y.prod().backward()
    assert y.grad.tolist() == [0.0, 0.0, 0.0, 0.0]


@pytest.mark.skipif(torch is None, reason="PyTorch (the test oracle) is not installed")
@pytest.mark.parametrize("dtype", ["int32", "int64", "bool", "uint8"])
def test_integer_prod_and_count_nonzero_dtypes_match_torch(dtype):
    a = np.array([[1, 2, 0], [3, 1, 1]]).astype(dtype)
    for fv, tt in [(lambda t: t.prod(), lambda t: t.prod()),
                   (lambda t: t.prod(1), lambda t: t.prod(1)),
                   (lambda t: t.count_nonzero(), lambda t: t.count_nonzero()),
                   (lambda t: fovea.count_nonzero(t, (0, 1)), lambda t: t.count_nonzero((0, 1))),
                   (lambda t: t.count_nonzero(0), lambda t: t.count_nonzero(0))]:
        got, ref = fv(fovea.tensor(a)), tt(torch.from_numpy(a))
        np.testing.assert_array_equal(got.numpy(), ref.numpy())
        assert str(got.dtype) == str(ref.dtype).removeprefix("torch.")


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
@pytest.mark.parametrize("correction", [0, 1, 2])
@given(sdk=shape_and_dims(min_side=3), seed=st.integers(0, 2**16))
def test_var_mean_and_std_mean_match_torch(name, correction, sdk, seed):
    shape, dims, keepdim = sdk
    x = np.random.default_rng(seed).standard_normal(shape)
    for part in (0, 1):
        check_op(lambda t, p=part: getattr(fovea, name)(t, dims, keepdim=keepdim,
                                                        correction=correction)[p],
                 (lambda t, p=part: getattr(torch, name)(t, dims, keepdim=keepdim,
                                                         correction=correction)[p])
                 if torch else None, [x])


@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data(),
       keepdim=st.booleans(), seed=st.integers(0, 2**16))
def test_aminmax_matches_torch_and_shares_gradients_among_ties(shape, data, keepdim, seed):
    x = np.random.default_rng(seed).integers(-2, 3, shape).astype(float)  # ties
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    for part in ("min", "max"):
        check_op(lambda t, p=part: getattr(fovea.aminmax(t, dim=dim, keepdim=keepdim), p),
                 (lambda t, p=part: getattr(torch.aminmax(t, dim=dim, keepdim=keepdim), p))
                 if torch else None, [x], fd=False)
    r = fovea.tensor(x).aminmax(dim=dim, keepdim=keepdim)
    assert r.min.shape == r.max.shape


@pytest.mark.parametrize("name", ["any", "all"])
@given(sdk=shape_and_dims(), seed=st.integers(0, 2**16))
def test_any_all_over_dims_with_keepdim_match_numpy(name, sdk, seed):
    shape, dims, keepdim = sdk
    a = np.random.default_rng(seed).integers(0, 3, shape) > 0
    got = getattr(fovea.tensor(a), name)(dims, keepdim=keepdim)
    np.testing.assert_array_equal(got.numpy(), getattr(np, name)(a, axis=dims,
                                                                 keepdims=keepdim))
    assert got.dtype == np.bool_
    if torch is not None and dims is not None:
        ref = getattr(torch.tensor(a), name)(dims, keepdim=keepdim)
        np.testing.assert_array_equal(got.numpy(), ref.numpy())


@pytest.mark.skipif(torch is None, reason="PyTorch (the test oracle) is not installed")
def test_any_all_keep_uint8_like_torch():
    a = np.array([[1, 0], [2, 3]], dtype=np.uint8)
    for fv, tt in [(lambda t: t.all(), lambda t: t.all()), (lambda t: t.any(1), lambda t: t.any(1)),
                   (lambda t: fovea.all(t, 0), lambda t: torch.all(t, 0))]:
        got, ref = fv(fovea.tensor(a)), tt(torch.from_numpy(a))
        np.testing.assert_array_equal(got.numpy(), ref.numpy())
        assert str(got.dtype) == str(ref.dtype).removeprefix("torch.")
