"""tril, triu, diagonal, diag, diag_embed, trace, block_diag against PyTorch."""

import numpy as np
import pytest

import fovea
from oracle import check_op, torch


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("k", [0, 1, -1, 3, -4])
@pytest.mark.parametrize("shape", [(3, 4), (2, 4, 3), (1, 2, 3, 3)])
def test_tril_and_triu_match_torch(k, shape):
    x = rand(shape)
    check_op(lambda t: t.tril(k), lambda t: t.tril(k), [x], numpy_fn=lambda a: np.tril(a, k))
    check_op(lambda t: fovea.triu(t, k), lambda t: torch.triu(t, k), [x],
             numpy_fn=lambda a: np.triu(a, k))
    ints = fovea.tensor(np.arange(12).reshape(3, 4))
    assert fovea.tril(ints, k).dtype == np.int64
    np.testing.assert_array_equal(fovea.tril(ints, k).numpy(), np.tril(np.arange(12).reshape(
        3, 4), k))


@pytest.mark.parametrize("offset,d1,d2", [(0, 0, 1), (1, 0, 1), (-2, 0, 1), (1, 2, 0),
                                          (0, -1, -2), (5, 0, 1)])
def test_diagonal_matches_torch(offset, d1, d2):
    x = rand((3, 4, 5))
    check_op(lambda t: t.diagonal(offset, d1, d2), lambda t: t.diagonal(offset, d1, d2), [x],
             numpy_fn=lambda a: np.diagonal(a, offset, d1, d2))


@pytest.mark.parametrize("k", [0, 2, -1])
def test_diag_of_a_vector_and_of_a_matrix_match_torch(k):
    check_op(lambda t: fovea.diag(t, k), lambda t: torch.diag(t, k), [rand((3,))],
             numpy_fn=lambda a: np.diag(a, k))
    check_op(lambda t: t.diag(k), lambda t: t.diag(k), [rand((3, 4))],
             numpy_fn=lambda a: np.diag(a, k))


@pytest.mark.parametrize("offset,d1,d2", [(0, -2, -1), (1, 0, 2), (-1, 2, 0)])
def test_diag_embed_matches_torch(offset, d1, d2):
    check_op(lambda t: fovea.diag_embed(t, offset, d1, d2),
             lambda t: torch.diag_embed(t, offset, d1, d2), [rand((2, 3))])


def test_trace_matches_torch():
    for shape in [(3, 3), (2, 4), (4, 2)]:
        check_op(lambda t: t.trace(), lambda t: t.trace(), [rand(shape)],
                 numpy_fn=np.trace)


def test_block_diag_matches_torch():
    xs = [rand((2, 3)), rand((1,), 1), rand((), 2), rand((2, 2), 3)]
    check_op(lambda *ts: fovea.block_diag(*ts), lambda *ts: torch.block_diag(*ts), xs)
    mixed = fovea.block_diag(fovea.tensor([[1, 2]]), fovea.tensor([[0.5]], dtype=fovea.float64))
    assert mixed.dtype == np.float64 and mixed.tolist() == [[1, 2, 0], [0, 0, 0.5]]
    assert fovea.block_diag().shape == (1, 0)
