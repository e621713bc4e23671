"""Indexing and gather against PyTorch, with gradients and double backward."""

import numpy as np
import pytest

import fovea
from oracle import check_op, torch


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


KEYS = [
    (slice(1, None),), (Ellipsis, 0), (slice(None, None, -1),), (0, slice(None), None),
    (np.array([0, 2, 0, 0]),), (slice(None), np.array([[1, 1], [0, 2]])),
    (np.array([1, 0]), np.array([2, 2])), (np.array([True, False, True]),),
    (slice(None, 2), [0, 1, 1]),
]


@pytest.mark.parametrize("key", KEYS, ids=range(len(KEYS)))
def test_indexing_matches_torch_and_repeated_indices_accumulate(key):
    x = rand((3, 3, 2))
    def tkey(k):
        return tuple(torch.tensor(i) if isinstance(i, np.ndarray | list) else i for i in k)
    def torch_index(t):
        k = tkey(key)
        if k and k[0] is Ellipsis or any(isinstance(i, slice) and i.step == -1 for i in k):
            return t.flip(0) if k[0] == slice(None, None, -1) else t[k]
        return t[k]
    check_op(lambda t: t[key], torch_index, [x], numpy_fn=lambda a: a[key])


def test_repeated_integer_index_sends_the_gradient_twice():
    x = fovea.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    x[[0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 1.0])


def test_gather_matches_torch():
    x = rand((3, 4))
    idx = np.array([[0, 3], [1, 1], [2, 0]])
    check_op(lambda t: t.gather(1, idx), lambda t: t.gather(1, torch.tensor(idx)), [x])
