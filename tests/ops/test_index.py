"""Indexing and gather against PyTorch, with gradients and double backward."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

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


# --- PyTorch's indexing rules (an int is a basic index) -----------------------------------

I2, M3 = np.array([0, 2]), np.array([True, False, True])
TORCH_RULE_KEYS = [
    (1, slice(None), slice(3, 11, 2), I2, slice(0, 2)),  # the example
    (1, slice(None), I2), (I2, 0, I2), (I2, slice(None), 0, I2), (None, 1, I2),
    (1, None, slice(None), I2), (Ellipsis, 1, I2), (I2, Ellipsis, 1),
    (1, M3, slice(None), I2), (slice(None), M3, 1, I2), (1, True), (1, True, I2),
    (1, slice(None), np.array([[0, 1], [2, 3]]), slice(None, None, 2)),
    (-1, slice(None), np.array([-1, 0]), -2), (np.int64(2), slice(1, None), I2),
]


def _torch_key(key):
    return tuple(torch.tensor(k) if isinstance(k, np.ndarray) else k for k in key)


@pytest.mark.parametrize("key", TORCH_RULE_KEYS, ids=range(len(TORCH_RULE_KEYS)))
def test_ints_are_basic_indices_as_in_torch_get_and_set(key):
    x = rand((3, 3, 12, 5, 6))
    check_op(lambda t: t[key], lambda t: t[_torch_key(key)], [x])
    if torch is None:
        return
    expected = torch.tensor(x)
    target = expected[_torch_key(key)]
    value = rand(tuple(target.shape), seed=1)
    expected[_torch_key(key)] = torch.tensor(value)
    got = x.copy()
    got[fovea.ops.index.normalize_key(key, np, x.shape)] = value  # what __setitem__ writes
    np.testing.assert_array_equal(got, expected.numpy())


@st.composite
def mixed_keys(draw):
    """A shape and a key mixing ints, slices, None, Ellipsis, int arrays and bool masks."""
    shape = draw(array_shapes(min_dims=1, max_dims=5, min_side=1, max_side=4))
    key, dim = [], 0
    ellipsis = False
    while dim < len(shape) and draw(st.booleans() if key else st.just(True)):
        kind = draw(st.sampled_from(["int", "slice", "none", "ell", "arr", "mask"]))
        n = shape[dim]
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            key.append(slice(draw(st.integers(-n, n)), draw(st.integers(-n, n)),
                             draw(st.integers(1, 3))))
        elif kind == "none":
            key.append(None)
            continue
        elif kind == "ell" and not ellipsis:
            ellipsis = True
            key.append(Ellipsis)
            continue
        elif kind == "mask":
            key.append(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))))
        else:
            key.append(np.array(draw(st.lists(st.integers(-n, n - 1), min_size=1,
                                              max_size=3))))
        dim += 1
    return shape, tuple(key)


@settings(max_examples=60)
@given(case=mixed_keys())
def test_any_mix_of_index_kinds_matches_torch(case):
    shape, key = case
    masks = [k for k in key if isinstance(k, np.ndarray) and k.dtype == bool]
    arrays = [k for k in key if isinstance(k, np.ndarray) and k.dtype != bool]
    if len(masks) + len(arrays) > 1:  # several advanced indices must broadcast together
        lens = {int(m.sum()) for m in masks} | {len(a) for a in arrays}
        if len(lens - {1}) > 1:
            return
    x = rand(shape)
    check_op(lambda t: t[key], lambda t: t[_torch_key(key)], [x])
    if torch is None:
        return
    expected = torch.tensor(x)
    target_shape = tuple(expected[_torch_key(key)].shape)
    expected[_torch_key(key)] = torch.arange(float(np.prod(target_shape)),
                                             dtype=torch.float64).reshape(target_shape)
    got = x.copy()
    got[fovea.ops.index.normalize_key(key, np, x.shape)] = \
        np.arange(float(np.prod(target_shape))).reshape(target_shape)
    np.testing.assert_array_equal(got, expected.numpy())


@pytest.mark.parametrize("key,message", [
    ((5,), "index 5 is out of bounds for dimension 0 with size 3"),
    ((slice(None), -5), "index -5 is out of bounds for dimension 1 with size 4"),
    ((0, np.array([0, 4])), "index 4 is out of bounds for dimension 1 with size 4"),
    ((0, 0, 0), "too many indices"),
    ((np.array([True, False]),), "the shape of the mask"),
])
def test_out_of_range_index_raises_index_error_naming_dim_and_size(key, message):
    with pytest.raises(IndexError, match=message):
        fovea.zeros(3, 4)[key]


def test_zero_d_integer_tensor_indexes_like_an_int():
    x = rand((3, 4, 5))
    i = fovea.tensor(1)
    key = (i, slice(None), np.array([0, 2]))
    assert fovea.tensor(x)[key].shape == (4, 2)


# --- selections ----------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_select_with_repeats_matches_torch(dim):
    x = rand((3, 4, 2))
    idx = np.array([1, 0, 1])
    check_op(lambda t: fovea.index_select(t, dim, fovea.tensor(idx)),
             lambda t: torch.index_select(t, dim, torch.tensor(idx)), [x])
    check_op(lambda t: t.index_select(dim, idx), lambda t: t.index_select(dim, torch.tensor(idx)),
             [x])


def test_take_and_take_along_dim_match_torch():
    x = rand((3, 4))
    idx = np.array([[0, 11], [5, -1]])
    check_op(lambda t: fovea.take(t, idx), lambda t: torch.take(t, torch.tensor(idx)), [x])
    along = np.array([[0, 3, 3], [1, 1, 0], [2, 0, 1]])
    check_op(lambda t: t.take_along_dim(along, 1),
             lambda t: t.take_along_dim(torch.tensor(along), 1), [x])
    check_op(lambda t: fovea.take_along_dim(t, np.array([0, 7])),
             lambda t: torch.take_along_dim(t, torch.tensor([0, 7])), [x])
    bcast = np.array([[0], [2]])  # (2, 1) against (3, 4) along dim 0: broadcasts in dim 1
    check_op(lambda t: fovea.take_along_dim(t, bcast, 0),
             lambda t: torch.take_along_dim(t, torch.tensor(bcast), 0), [x])
    with pytest.raises(IndexError, match="take: index 12 is out of bounds"):
        fovea.take(fovea.tensor(x), np.array([12]))


def test_masked_select_broadcasts_and_matches_torch():
    x = rand((3, 4))
    mask = np.array([True, False, True, True])
    check_op(lambda t: t.masked_select(mask), lambda t: t.masked_select(torch.tensor(mask)),
             [x], numpy_fn=lambda a: a[:, mask].reshape(-1))


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2), (), (0, 3)])
def test_nonzero_and_argwhere_match_torch(shape):
    a = np.round(rand(shape)).astype(np.int64) if shape else np.array(2)
    t = fovea.tensor(a)
    expected = np.argwhere(a) if shape else np.zeros((1, 0), np.int64)
    np.testing.assert_array_equal(fovea.nonzero(t).numpy(), expected)
    np.testing.assert_array_equal(t.argwhere().numpy(), expected)
    assert fovea.nonzero(t).dtype == np.int64
    if shape:
        for got, want in zip(t.nonzero(as_tuple=True), np.nonzero(a)):
            np.testing.assert_array_equal(got.numpy(), want)
    if torch is not None:
        np.testing.assert_array_equal(fovea.nonzero(t).numpy(),
                                      torch.nonzero(torch.tensor(a)).numpy())
        for got, want in zip(fovea.nonzero(t, as_tuple=True),
                             torch.nonzero(torch.tensor(a), as_tuple=True)):
            np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_where_with_only_a_condition_is_nonzero_as_tuple():
    import fovea
    c = fovea.tensor([[True, False], [False, True]])
    rows, cols = fovea.where(c)
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1]
    with pytest.raises(TypeError, match="where: pass a condition alone"):
        fovea.where(c, 1.0)
