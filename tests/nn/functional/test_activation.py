"""nn/functional/activation.py (and the erf of special.py): every activation against PyTorch
through the shared harness (values, gradients for a random upstream gradient, finite
differences, second derivatives, the stand-in device), at kinks and extreme inputs, in
float32; softmax and log_softmax along every axis; maxout; errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fovea
import fovea.nn.functional as F
from oracle import check_op, needs_torch, torch

TF = torch.nn.functional if torch else None


# (id, fovea function, torch function)
ELEMENTWISE = [
    ("leaky_relu", lambda x: F.leaky_relu(x), lambda x: TF.leaky_relu(x)),
    ("leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    ("elu", lambda x: F.elu(x), lambda x: TF.elu(x)),
    ("elu_0.5", lambda x: F.elu(x, 0.5), lambda x: TF.elu(x, 0.5)),
    ("selu", F.selu, lambda x: TF.selu(x)),
    ("gelu", F.gelu, lambda x: TF.gelu(x)),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda x: TF.gelu(x, approximate="tanh")),
    ("softplus", lambda x: F.softplus(x), lambda x: TF.softplus(x)),
    ("softplus_b2_t3", lambda x: F.softplus(x, 2.0, 3.0), lambda x: TF.softplus(x, 2.0, 3.0)),
    ("silu", F.silu, lambda x: TF.silu(x)),
    ("hardtanh", lambda x: F.hardtanh(x), lambda x: TF.hardtanh(x)),
    ("hardtanh_-2_0.5", lambda x: F.hardtanh(x, -2.0, 0.5), lambda x: TF.hardtanh(x, -2.0, 0.5)),
    ("sigmoid", F.sigmoid, lambda x: torch.sigmoid(x)),
    ("tanh", F.tanh, lambda x: torch.tanh(x)),
    ("erf", F.erf, lambda x: torch.erf(x)),
    ("erfc", F.erfc, lambda x: torch.erfc(x)),
    ("relu6", F.relu6, lambda x: TF.relu6(x)),
    ("hardsigmoid", F.hardsigmoid, lambda x: TF.hardsigmoid(x)),
    ("hardswish", F.hardswish, lambda x: TF.hardswish(x)),
    ("mish", F.mish, lambda x: TF.mish(x)),
    ("celu", F.celu, lambda x: TF.celu(x)),
    ("celu_0.7", lambda x: F.celu(x, 0.7), lambda x: TF.celu(x, 0.7)),
    ("softsign", F.softsign, lambda x: TF.softsign(x)),
    ("logsigmoid", F.logsigmoid, lambda x: TF.logsigmoid(x)),
    ("tanhshrink", F.tanhshrink, lambda x: TF.tanhshrink(x)),
    ("threshold", lambda x: F.threshold(x, 0.5, -2.0), lambda x: TF.threshold(x, 0.5, -2.0)),
    ("hardshrink", F.hardshrink, lambda x: TF.hardshrink(x)),
    ("hardshrink_1.5", lambda x: F.hardshrink(x, 1.5), lambda x: TF.hardshrink(x, 1.5)),
    ("softshrink", F.softshrink, lambda x: TF.softshrink(x)),
    ("softshrink_1", lambda x: F.softshrink(x, 1.0), lambda x: TF.softshrink(x, 1.0)),
]
IDS = [e[0] for e in ELEMENTWISE]
TIGHT = {"forward": (1e-12, 1e-15), "grad": (1e-11, 1e-15)}
# PyTorch's hardsigmoid gradient multiplies by 1/6 rounded to float32 (1.0f / 6.0f) even in
# float64; fovea uses 1/6 (finite differences agree with it), so that comparison is looser.
# Likewise its celu gradient divides by alpha rounded to float32 (1.0 / alpha.toFloat()).
TOLS = {"hardsigmoid": {"forward": (1e-12, 1e-15), "grad": (1e-7, 1e-15)},
        "celu_0.7": {"forward": (1e-12, 1e-15), "grad": (1e-6, 1e-15),
                     "second": (1e-6, 1e-12)}}


def _inputs(seed, shape=(4, 5, 3)):
    return np.random.default_rng(seed).standard_normal(shape) * 3


@pytest.mark.parametrize("name,fn,tfn", ELEMENTWISE, ids=IDS)
def test_activation_matches_torch(name, fn, tfn):
    check_op(fn, tfn, [_inputs(0)], tol=TOLS.get(name, TIGHT))


@pytest.mark.parametrize("name,fn,tfn", ELEMENTWISE, ids=IDS)
def test_activation_at_kinks_and_extremes_matches_torch(name, fn, tfn):
    # The kinks of relu-like functions (0, ±1, -2, 0.5), softplus' threshold and huge inputs:
    # no finite differences across a kink, and no second derivative (a convention there).
    a = np.array([0.0, -0.0, 1.0, -1.0, -2.0, 0.5, 1.5, 3.0, 20.0, 20.5, 1e3, -1e3, 40.0, -40.0])
    check_op(fn, tfn, [a], fd=False, second_order=False, tol=TOLS.get(name, TIGHT))


@needs_torch
@pytest.mark.parametrize("name,fn,tfn", ELEMENTWISE, ids=IDS)
def test_activation_keeps_float32(name, fn, tfn):
    a = _inputs(4).astype(np.float32)
    y = fn(fovea.tensor(a))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), tfn(torch.tensor(a)).numpy(), rtol=2e-6, atol=1e-6)


def test_erf_and_erfc_reach_float64_accuracy_against_math():
    import math

    rng = np.random.default_rng(5)
    xs = np.concatenate([rng.uniform(-7, 7, 5000), rng.uniform(-0.5, 0.5, 1000),
                         np.linspace(-30, 30, 601), [0.0, 0.46875, -0.46875, 4.0, -4.0, 1e-300]])
    erf = F.erf(fovea.tensor(xs)).numpy()
    erfc = F.erfc(fovea.tensor(xs)).numpy()
    ref = np.array([math.erf(v) for v in xs])
    refc = np.array([math.erfc(v) for v in xs])
    rel = np.abs(erf - ref) / np.maximum(np.abs(ref), 1e-300)
    assert rel.max() < 2e-15
    pos = refc > 1e-300
    relc = np.abs(erfc[pos] - refc[pos]) / refc[pos]
    assert relc.max() < 2e-15 and (erfc[~pos] < 1e-300).all()
    special = F.erf(fovea.tensor(np.array([np.inf, -np.inf, np.nan]))).numpy()
    assert special[0] == 1 and special[1] == -1 and np.isnan(special[2])


@pytest.mark.parametrize("shape,k", [((4, 3, 2, 2), 3), ((5, 6), 1), ((4, 1, 3), 1)])
def test_prelu_matches_torch(shape, k):
    rng = np.random.default_rng(6)
    check_op(F.prelu, lambda x, w: TF.prelu(x, w),
             [rng.standard_normal(shape), rng.uniform(0.05, 0.5, k)], rtol=1e-13, atol=0)


@pytest.mark.parametrize("shape,k,dim", [((4, 6), 2, 1), ((2, 6, 3, 3), 3, 1), ((3, 8), 4, -1)])
def test_maxout_matches_torch_reshape_max(shape, k, dim):
    d = dim % len(shape)

    def tfn(x):
        return x.reshape(*shape[:d], shape[d] // k, k, *shape[d + 1:]).max(d + 1).values

    check_op(lambda x: F.maxout(x, k, dim), tfn,
             [np.random.default_rng(8).standard_normal(shape)])


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@given(dim=st.integers(-3, 2), seed=st.integers(0, 99))
def test_softmax_and_log_softmax_match_torch(fn, dim, seed):
    x = np.random.default_rng(seed).standard_normal((2, 3, 4)) * 3
    check_op(lambda t: getattr(F, fn)(t, dim=dim),
             lambda t: getattr(torch.nn.functional, fn)(t, dim=dim), [x])


def test_softmax_is_stable_for_logits_of_1000():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    check_op(lambda t: F.softmax(t, dim=1), lambda t: torch.softmax(t, dim=1), [x], fd=False,
             numpy_fn=lambda a: np.array([[1.0, 0, 0], [0, 0, 1.0]]))


def test_activation_argument_errors():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        F.gelu(fovea.randn(3), approximate="fast")
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(fovea.randn(3), 1.0, -1.0)
    with pytest.raises(ValueError, match="num_pieces"):
        F.maxout(fovea.randn(3, 4), 0)
    with pytest.raises(ValueError, match=r"prelu: weight has 3 values"):
        F.prelu(fovea.randn(2, 4), fovea.randn(3))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmin_matches_torch(dim):
    x = np.random.default_rng(11).standard_normal((3, 4, 2)) * 3
    check_op(lambda t: F.softmin(t, dim=dim), lambda t: TF.softmin(t, dim=dim), [x])


@pytest.mark.parametrize("shape,dim", [((4, 6), -1), ((2, 4, 3), 1), ((6,), 0)])
def test_glu_matches_torch(shape, dim):
    x = np.random.default_rng(12).standard_normal(shape) * 2
    check_op(lambda t: F.glu(t, dim), lambda t: TF.glu(t, dim), [x])


def test_glu_refuses_an_odd_dimension_with_a_runtime_error():
    with pytest.raises(RuntimeError, match="glu: halving dimension must be even, but "
                                           "dimension 1 is size 5"):
        F.glu(fovea.randn(2, 5), 1)


@pytest.mark.parametrize("method", ["softmax", "log_softmax"])
def test_softmax_methods_match_torch(method):
    x = np.random.default_rng(13).standard_normal((3, 5))
    check_op(lambda t: getattr(t, method)(-1), lambda t: getattr(t, method)(-1), [x])


@needs_torch
@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "softmin"])
def test_softmax_dtype_argument_casts_first_as_torch(fn):
    a = np.random.default_rng(14).standard_normal((2, 3)).astype(np.float32)
    y = getattr(F, fn)(fovea.tensor(a), 1, dtype=fovea.float64)
    ref = getattr(TF, fn)(torch.tensor(a), 1, dtype=torch.float64)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-12)


INPLACE = [("relu", ()), ("relu6", ()), ("hardtanh", (-0.5, 0.5)), ("hardswish", ()),
           ("hardsigmoid", ()), ("silu", ()), ("mish", ()), ("elu", (0.5,)), ("celu", (0.5,)),
           ("selu", ()), ("leaky_relu", (0.1,)), ("threshold", (0.2, -1.0))]


@pytest.mark.parametrize("name,args", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_writes_into_the_input_and_backward_runs_through_it(name, args):
    # PyTorch's inplace=True: the same object comes back, holding the result, and a
    # non-leaf input carries the gradient of the whole chain.
    a = np.random.default_rng(15).standard_normal((3, 4)) * 3
    w = fovea.tensor(a, requires_grad=True)
    h = w * 1.5
    out = getattr(F, name)(h, *args, inplace=True)
    assert out is h
    ref = getattr(F, name)(fovea.tensor(a) * 1.5, *args)
    np.testing.assert_array_equal(h.detach().numpy(), ref.numpy())
    h.sum().backward()
    w2 = fovea.tensor(a, requires_grad=True)
    getattr(F, name)(w2 * 1.5, *args).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), w2.grad.numpy())
    leaf = fovea.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        getattr(F, name)(leaf, *args, inplace=True)


def test_inplace_without_grad_writes_into_the_memory_views_see():
    x = fovea.tensor(np.array([-1.0, 2.0, 7.0]))
    view = x[1:]
    F.relu6(x, inplace=True)
    assert x.tolist() == [0.0, 2.0, 6.0] and view.tolist() == [2.0, 6.0]
