"""nn/functional/distance.py: normalize, cosine_similarity and pairwise_distance against
PyTorch (values, gradients, finite differences, second order, the stand-in device)."""

import math

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, torch

TF = torch.nn.functional if torch else None


def _rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("shape,dim", [((4, 5), 1), ((2, 3, 4), -1), ((2, 3, 4), 0), ((5,), 0)])
def test_normalize_matches_torch(p, shape, dim):
    check_op(lambda x: F.normalize(x, p=p, dim=dim), lambda x: TF.normalize(x, p=p, dim=dim),
             [_rand(1, *shape)],
             numpy_fn=lambda a: a / np.maximum(np.linalg.norm(a, ord=p, axis=dim,
                                                              keepdims=True), 1e-12))


def test_normalize_of_a_zero_vector_is_zero_with_a_finite_gradient():
    a = np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]])
    check_op(lambda x: F.normalize(x, dim=1), lambda x: TF.normalize(x, dim=1), [a], fd=False,
             second_order=False, numpy_fn=lambda x: np.array([[0, 0, 0], [0.6, 0.8, 0]]))


@pytest.mark.parametrize("s1,s2,dim", [((4, 5), (4, 5), 1), ((3, 4, 2), (1, 4, 2), 1),
                                       ((6, 3), (3,), -1), ((2, 3, 4), (2, 3, 4), 0)])
def test_cosine_similarity_matches_torch(s1, s2, dim):
    def ref(a, b):
        na = np.linalg.norm(a, axis=dim, keepdims=True)
        nb = np.linalg.norm(b, axis=dim, keepdims=True)
        return np.sum(a / na * (b / nb), axis=dim)
    check_op(lambda a, b: F.cosine_similarity(a, b, dim), lambda a, b: TF.cosine_similarity(
        a, b, dim), [_rand(2, *s1), _rand(3, *s2)], numpy_fn=ref)


def test_cosine_similarity_with_a_zero_vector_matches_torch():
    a, b = np.zeros((2, 3)), _rand(4, 2, 3)
    a[1] = [1.0, 2.0, 3.0]
    check_op(lambda x, y: F.cosine_similarity(x, y), lambda x, y: TF.cosine_similarity(x, y),
             [a, b], fd=False, second_order=False)


@pytest.mark.parametrize("p", [2.0, 1.0, 1.5, 3.0, math.inf])
@pytest.mark.parametrize("s1,s2,keepdim", [((5, 4), (5, 4), False), ((5, 4), (4,), True),
                                           ((4,), (4,), False)])
def test_pairwise_distance_matches_torch(p, s1, s2, keepdim):
    def ref(a, b):
        return np.linalg.norm(a - b + 1e-6, ord=p, axis=-1, keepdims=keepdim)
    check_op(lambda a, b: F.pairwise_distance(a, b, p, keepdim=keepdim),
             lambda a, b: TF.pairwise_distance(a, b, p, keepdim=keepdim),
             [_rand(5, *s1), _rand(6, *s2)], numpy_fn=ref)


def test_distance_errors():
    with pytest.raises(RuntimeError, match=r"cosine_similarity: x1 of shape \(2, 3\) and x2 of "
                                           r"shape \(4, 3\) cannot be broadcast"):
        F.cosine_similarity(fovea.randn(2, 3), fovea.randn(4, 3))
    with pytest.raises(ValueError, match="pairwise_distance: p must be a positive number"):
        F.pairwise_distance(fovea.randn(2, 3), fovea.randn(2, 3), p=0)
    with pytest.raises(TypeError, match="normalize: input must be a floating tensor"):
        F.normalize(fovea.tensor([1, 2]))
