"""flip, roll, repeat, tile, repeat_interleave and Tensor.unfold against PyTorch, with
gradients (repeated entries sum their copies' gradients) and double backward."""

import numpy as np
import pytest

import fovea
from oracle import check_op, needs_torch, torch


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("dims", [0, (1,), (0, 2), [-1, 0], ()])
def test_flip_matches_torch(dims):
    x = rand((2, 3, 4))
    check_op(lambda t: t.flip(dims), lambda t: t.flip(dims), [x],
             numpy_fn=lambda a: np.flip(a, dims))
    check_op(lambda t: fovea.flip(t, dims), lambda t: torch.flip(t, tuple(np.atleast_1d(dims))),
             [x])


def test_fliplr_and_flipud_match_torch():
    x = rand((3, 4))
    check_op(lambda t: t.fliplr(), lambda t: t.fliplr(), [x], numpy_fn=np.fliplr)
    check_op(lambda t: fovea.flipud(t), lambda t: torch.flipud(t), [x], numpy_fn=np.flipud)
    with pytest.raises(RuntimeError, match="fliplr: input must be at least 2-d"):
        fovea.fliplr(fovea.ones(3))


@pytest.mark.parametrize("shifts,dims", [(1, None), (-7, None), (2, 1), ((1, -2), (0, 2)),
                                         (5, -1), (0, 0)])
def test_roll_matches_torch(shifts, dims):
    x = rand((3, 4, 2))
    check_op(lambda t: t.roll(shifts, dims), lambda t: t.roll(shifts, dims), [x],
             numpy_fn=lambda a: np.roll(a, shifts, dims))


@pytest.mark.parametrize("shape,sizes", [((2, 3), (2, 1)), ((2, 3), (2, 1, 3)), ((3,), (0,)),
                                         ((), (2, 2)), ((2, 1), (1, 1))])
def test_repeat_matches_torch(shape, sizes):
    x = rand(shape)
    check_op(lambda t: t.repeat(*sizes), lambda t: t.repeat(*sizes), [x],
             numpy_fn=lambda a: np.tile(a, sizes))
    check_op(lambda t: t.repeat(sizes), lambda t: t.repeat(sizes), [x])


@pytest.mark.parametrize("dims", [(2,), (2, 1, 2), (3, 1)])
def test_tile_matches_torch(dims):
    x = rand((2, 3))
    check_op(lambda t: fovea.tile(t, dims), lambda t: torch.tile(t, dims), [x],
             numpy_fn=lambda a: np.tile(a, dims))


@pytest.mark.parametrize("repeats,dim", [(2, None), (3, 1), ([1, 0, 2], 0), ([2], 1),
                                         ([0, 1, 1, 3], -1)])
def test_repeat_interleave_matches_torch(repeats, dim):
    x = rand((3, 4)) if dim != 0 else rand((3, 2))
    if isinstance(repeats, list) and dim is not None and len(repeats) > 1 and \
            len(repeats) != x.shape[dim]:
        x = rand((3, len(repeats)))
    reps = (lambda: np.array(repeats)) if isinstance(repeats, list) else (lambda: repeats)
    check_op(lambda t: t.repeat_interleave(reps() if isinstance(repeats, list)
                                           else repeats, dim),
             lambda t: t.repeat_interleave(torch.tensor(reps()) if isinstance(repeats, list)
                                           else repeats, dim), [x],
             numpy_fn=lambda a: np.repeat(a, reps(), dim))


def test_repeat_interleave_of_counts_alone():
    counts = np.array([2, 0, 3])
    got = fovea.repeat_interleave(fovea.tensor(counts))
    np.testing.assert_array_equal(got.numpy(), np.repeat(np.arange(3), counts))
    assert got.dtype == np.int64


@pytest.mark.parametrize("dim,size,step", [(0, 2, 1), (1, 3, 2), (-1, 4, 4), (1, 1, 3),
                                           (0, 5, 1)])
def test_tensor_unfold_matches_torch(dim, size, step):
    x = rand((5, 7)) if dim == 0 else rand((2, 7, 4))[:, :, 0].copy() if dim == 1 else rand(
        (3, 8))
    check_op(lambda t: t.unfold(dim, size, step), lambda t: t.unfold(dim, size, step), [x])


@needs_torch
def test_tensor_unfold_of_a_3d_tensor_puts_windows_last_like_torch():
    x = rand((2, 6, 3))
    check_op(lambda t: t.unfold(1, 2, 2), lambda t: t.unfold(1, 2, 2), [x])
    check_op(lambda t: t.unfold(0, 1, 1), lambda t: t.unfold(0, 1, 1), [x])
