"""fovea.norm, fovea.linalg.vector_norm / matrix_norm / norm against PyTorch: values,
gradients (the edges too: a zero vector, ties of the inf-norm), double backward."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import fovea
from oracle import check_op, needs_torch, torch

ORDS = [2, 1, 3, 1.5, 0.5, -1, math.inf, -math.inf, 0]


@pytest.mark.parametrize("ord", ORDS)
@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data(),
       keepdim=st.booleans(), seed=st.integers(0, 2**16))
def test_vector_norm_matches_torch(ord, shape, data, keepdim, seed):
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1),
                              st.lists(st.integers(0, len(shape) - 1), min_size=1,
                                       max_size=len(shape), unique=True).map(tuple)))
    rng = np.random.default_rng(seed)
    x = rng.choice([-1, 1], shape) * rng.uniform(0.2, 2.0, shape)  # off the kink at 0
    if ord in (math.inf, -math.inf):  # distinct |x| (ties are tested separately)
        x = np.sign(x) * (rng.permutation(x.size).reshape(shape) * 0.3 + 0.2)
    check_op(lambda t: fovea.linalg.vector_norm(t, ord, dim, keepdim),
             (lambda t: torch.linalg.vector_norm(t, ord, dim, keepdim)) if torch else None,
             [x], fd=ord != 0,
             numpy_fn=lambda a: _np_vector_norm(a, ord, dim, keepdim))


def _np_vector_norm(a, ord, dim, keepdim):
    a = np.abs(a)
    if ord == math.inf:
        return a.max(axis=dim, keepdims=keepdim)
    if ord == -math.inf:
        return a.min(axis=dim, keepdims=keepdim)
    if ord == 0:
        return (a != 0).sum(axis=dim, keepdims=keepdim).astype(float)
    return (a ** ord).sum(axis=dim, keepdims=keepdim) ** (1 / ord)


@needs_torch
@pytest.mark.parametrize("ord", [2, 3, 1.5, 0.5, 1, math.inf])
def test_vector_norm_gradient_at_zero_entries_and_zero_vector_matches_torch(ord):
    x = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, -3.0], [2.0, -2.0, 1.0]])
    check_op(lambda t: fovea.linalg.vector_norm(t, ord, 1),
             lambda t: torch.linalg.vector_norm(t, ord, 1), [x], fd=False, second_order=False)
    v = fovea.tensor(np.zeros(3), requires_grad=True)
    fovea.linalg.vector_norm(v, ord).backward()
    assert np.isfinite(v.grad.numpy()).all()


@given(shape=array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4), data=st.data(),
       keepdim=st.booleans(), seed=st.integers(0, 2**16))
def test_matrix_norm_matches_torch(shape, data, keepdim, seed):
    ord = data.draw(st.sampled_from(["fro", 1, -1, math.inf, -math.inf]))
    dims = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=2,
                              max_size=2, unique_by=lambda d: d % len(shape)).map(tuple))
    rng = np.random.default_rng(seed)
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 + 0.05
    x = x * rng.choice([-1, 1], shape)
    check_op(lambda t: fovea.linalg.matrix_norm(t, ord, dims, keepdim),
             (lambda t: torch.linalg.matrix_norm(t, ord, dims, keepdim)) if torch else None,
             [x], fd=ord == "fro")


@needs_torch
def test_norm_and_linalg_norm_follow_torchs_rules():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    m = x[0]
    cases = [
        (lambda t: fovea.norm(t), lambda t: torch.norm(t), x),
        (lambda t: t.norm(p=1, dim=1), lambda t: t.norm(p=1, dim=1), x),
        (lambda t: t.norm(dim=(1, 2), keepdim=True), lambda t: t.norm(dim=(1, 2), keepdim=True),
         x),
        (lambda t: fovea.norm(t, 3, (0, 2)), lambda t: torch.norm(t, 3, (0, 2)), x),
        (lambda t: fovea.linalg.norm(t), lambda t: torch.linalg.norm(t), x),
        (lambda t: fovea.linalg.norm(t, 1), lambda t: torch.linalg.norm(t, 1), m),
        (lambda t: fovea.linalg.norm(t, math.inf), lambda t: torch.linalg.norm(t, math.inf), m),
        (lambda t: fovea.linalg.norm(t[0, 0], 3), lambda t: torch.linalg.norm(t[0, 0], 3), x),
        (lambda t: fovea.linalg.norm(t, dim=(0, 2)), lambda t: torch.linalg.norm(t, dim=(0, 2)),
         x),
        (lambda t: fovea.linalg.norm(t, 1, dim=-1), lambda t: torch.linalg.norm(t, 1, dim=-1),
         x),
    ]
    for fv, tt, a in cases:
        check_op(fv, tt, [a], fd=False)


def test_norms_refuse_integer_tensors_and_unsupported_orders():
    with pytest.raises(TypeError, match="vector_norm: expected a floating tensor"):
        fovea.linalg.vector_norm(fovea.tensor([3, 4]))
    assert fovea.linalg.vector_norm(fovea.tensor([3, 4]), dtype=fovea.float64).item() == 5.0
    with pytest.raises(NotImplementedError, match="'nuc' needs singular values"):
        fovea.linalg.matrix_norm(fovea.ones(2, 2), "nuc")
    with pytest.raises(ValueError, match="must be 1-D or 2-D"):
        fovea.linalg.norm(fovea.ones(2, 2, 2), 1)
