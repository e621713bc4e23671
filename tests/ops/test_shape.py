"""Shape ops against PyTorch, with gradients and double backward."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import fovea
from oracle import check_op, torch


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@given(shape=array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4), seed=st.integers(0, 99))
def test_reshape_view_and_flatten_match_torch(shape, seed):
    x = rand(shape, seed)
    check_op(lambda t: t.reshape(-1), lambda t: t.reshape(-1), [x])
    check_op(lambda t: t.view(shape[0], -1) if x.size else t.view(*shape),
             lambda t: t.view(shape[0], -1) if x.size else t.view(*shape), [x])
    check_op(lambda t: t.flatten(), lambda t: t.flatten(), [x])
    if len(shape) > 1:
        check_op(lambda t: t.flatten(1), lambda t: t.flatten(1), [x])


@given(shape=array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4), data=st.data())
def test_permute_transpose_and_T_match_torch(shape, data):
    x = rand(shape)
    perm = data.draw(st.permutations(range(len(shape))))
    check_op(lambda t: t.permute(*perm), lambda t: t.permute(*perm), [x])
    d0 = data.draw(st.integers(-len(shape), len(shape) - 1))
    d1 = data.draw(st.integers(-len(shape), len(shape) - 1))
    check_op(lambda t: t.transpose(d0, d1), lambda t: t.transpose(d0, d1), [x])
    if len(shape) == 2:
        check_op(lambda t: t.T, lambda t: t.T, [x])


@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), data=st.data())
def test_squeeze_unsqueeze_expand_match_torch(shape, data):
    x = rand(shape)
    d = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_op(lambda t: t.unsqueeze(d), lambda t: t.unsqueeze(d), [x])
    check_op(lambda t: t.squeeze(), lambda t: t.squeeze(), [x])
    big = tuple(s if s != 1 else 3 for s in shape)
    check_op(lambda t: t.expand(2, *big), lambda t: t.expand(2, *big), [x])


@given(n=st.integers(1, 3), data=st.data(), seed=st.integers(0, 99))
def test_cat_and_stack_match_torch(n, data, seed):
    base = data.draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    dim = data.draw(st.integers(0, len(base) - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    xs = [rand(base[:dim] + (s,) + base[dim + 1:], seed + i) for i, s in enumerate(sizes)]
    check_op(lambda *ts: fovea.cat(ts, dim), lambda *ts: torch.cat(ts, dim), xs)
    ys = [rand(base, seed + i) for i in range(n)]
    check_op(lambda *ts: fovea.stack(ts, dim), lambda *ts: torch.stack(ts, dim), ys)


@pytest.mark.parametrize("how", [2, 3, [1, 4, 0]])
def test_split_and_chunk_pieces_match_torch(how):
    x = rand((5, 3))
    pieces = {2: [2, 2, 1], 3: [3, 2]}.get(how, how) if isinstance(how, int) else how
    assert [p.shape[0] for p in fovea.tensor(x).split(how)] == pieces  # worked by hand
    assert [p.shape[0] for p in fovea.tensor(x).chunk(2)] == [3, 2]
    for i in range(len(pieces)):
        check_op(lambda t, i=i: t.split(how)[i], lambda t, i=i: t.split(how)[i], [x],
                 numpy_fn=lambda a, i=i: np.split(a, np.cumsum(pieces)[:-1])[i])
    for i in range(2):
        check_op(lambda t, i=i: t.chunk(2, dim=0)[i], lambda t, i=i: t.chunk(2, dim=0)[i], [x],
                 numpy_fn=lambda a, i=i: (a[:3], a[3:])[i])


@pytest.mark.parametrize("pad", [(1, 1), (0, 2, 1, 0), (2, 1, 0, 0, 1, 1), (-1, 1), (1, -1, -1, 2)])
def test_constant_pad_matches_torch_including_negative_crops(pad):
    x = rand((2, 3, 4))
    check_op(lambda t: fovea.pad(t, pad, value=0.5),
             lambda t: torch.nn.functional.pad(t, pad, value=0.5), [x])


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match=r"reshape: shape \(5,\) is invalid for input of size 6"):
        fovea.zeros(2, 3).reshape(5)
    with pytest.raises(ValueError, match="cat: tensor 1 has shape"):
        fovea.cat([fovea.zeros(2, 3), fovea.zeros(2, 4)], dim=0)
    with pytest.raises(ValueError, match="expand: the input's size 2"):
        fovea.zeros(2, 3).expand(4, 3)
    with pytest.raises(ValueError, match="permute"):
        fovea.zeros(2, 3).permute(0, 0)
    with pytest.raises(IndexError, match="getitem"):
        fovea.zeros(2, 3)[5]


def test_pad_and_flatten_of_channels_last_inputs_match_torch():
    """The CPU keeps these inputs' memory layout (tests/backends/cpu); the values do not
    change, on any device."""
    rng = np.random.default_rng(10)
    x = np.ascontiguousarray(rng.standard_normal((2, 3, 4, 5)).transpose(0, 2, 3, 1))
    x = x.transpose(0, 3, 1, 2)
    check_op(lambda t: fovea.pad(t, (1, 2, 0, 1, 2, 2), value=0.5),
             lambda t: torch.nn.functional.pad(t, (1, 2, 0, 1, 2, 2), value=0.5), [x])
    big = np.ascontiguousarray(rng.standard_normal((4, 16, 32, 32)).transpose(0, 2, 3, 1))
    check_op(lambda a: a.flatten(1), lambda a: a.flatten(1), [big.transpose(0, 3, 1, 2)],
             fd=False)

