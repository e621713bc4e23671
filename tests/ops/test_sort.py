"""Ordering ops against PyTorch: sort/argsort/topk (values with gradients, indices),
unique, bincount, histc, searchsorted, bucketize."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import fovea
from oracle import check_op, needs_torch, torch


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), data=st.data())
def test_sort_values_gradients_and_indices_match_torch(shape, data):
    x = rand(shape, data.draw(st.integers(0, 99)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    desc = data.draw(st.booleans())
    check_op(lambda t: fovea.sort(t, dim, desc).values,
             lambda t: torch.sort(t, dim, desc).values, [x],
             numpy_fn=lambda a: -np.sort(-a, dim) if desc else np.sort(a, dim))
    got = fovea.tensor(x).sort(dim, descending=desc)
    np.testing.assert_array_equal(np.take_along_axis(x, got.indices.numpy(), dim),
                                  got.values.numpy())
    assert got.indices.dtype == np.int64
    np.testing.assert_array_equal(fovea.argsort(fovea.tensor(x), dim, desc).numpy(),
                                  got.indices.numpy())


@needs_torch
@pytest.mark.parametrize("descending", [False, True])
def test_sort_is_stable_with_ties_like_torch_stable(descending):
    a = np.array([[1, 1, 0, 3, 1, 0, 2, 2], [5, 5, 5, 1, 1, 0, 0, 9]])
    got = fovea.sort(fovea.tensor(a), descending=descending, stable=True)
    want = torch.sort(torch.tensor(a), descending=descending, stable=True)
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    nan = np.array([2.0, np.nan, -1.0, np.nan])  # NaN sorts last (first when descending)
    np.testing.assert_array_equal(fovea.argsort(fovea.tensor(nan), descending=descending,
                                                stable=True).numpy(),
                                  torch.argsort(torch.tensor(nan), descending=descending,
                                                stable=True).numpy())


def test_sort_result_is_a_namedtuple_like_torch_return_types():
    out = fovea.tensor([3.0, 1.0]).sort()
    values, indices = out
    assert out.values is values and out.indices is indices and type(out).__name__ == "sort"
    assert fovea.tensor(2.0).sort().values.item() == 2.0  # 0-d works
    assert fovea.msort(fovea.tensor([[2, 1], [0, 3]])).tolist() == [[0, 1], [2, 3]]


@pytest.mark.parametrize("k,dim,largest", [(2, -1, True), (1, 0, False), (3, 1, False),
                                           (0, 1, True), (4, 1, True)])
def test_topk_matches_torch(k, dim, largest):
    x = rand((3, 4))
    check_op(lambda t: t.topk(k, dim, largest).values,
             lambda t: t.topk(k, dim, largest).values, [x])
    got = fovea.topk(fovea.tensor(x), k, dim, largest=largest)
    np.testing.assert_array_equal(np.take_along_axis(x, got.indices.numpy(), dim),
                                  got.values.numpy())
    if torch is not None:
        np.testing.assert_array_equal(
            got.indices.numpy(), torch.topk(torch.tensor(x), k, dim, largest).indices.numpy())
    with pytest.raises(IndexError, match="topk: k \\(5\\) is out of range"):
        fovea.topk(fovea.tensor(x), 5, 1)


@needs_torch
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_unique_with_inverse_and_counts_matches_torch(dim):
    a = np.array([[3, 1, 3], [2, 1, 2], [3, 1, 3]])
    got = fovea.unique(fovea.tensor(a), return_inverse=True, return_counts=True, dim=dim)
    want = torch.unique(torch.tensor(a), return_inverse=True, return_counts=True, dim=dim)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
        assert g.dtype == np.dtype(str(w.dtype).removeprefix("torch."))
    np.testing.assert_array_equal(fovea.tensor(a).unique().numpy(), torch.unique(
        torch.tensor(a)).numpy())
    seq = np.array([1, 1, 2, 2, 3, 1, 1])
    for g, w in zip(fovea.unique_consecutive(fovea.tensor(seq), return_inverse=True,
                                             return_counts=True),
                    torch.unique_consecutive(torch.tensor(seq), return_inverse=True,
                                             return_counts=True)):
        np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_bincount_counts_and_weights_match_numpy_and_torch():
    a = np.array([0, 1, 1, 3, 1])
    w = rand(5)
    np.testing.assert_array_equal(fovea.bincount(fovea.tensor(a)).numpy(), np.bincount(a))
    np.testing.assert_array_equal(fovea.tensor(a).bincount(minlength=7).numpy(),
                                  np.bincount(a, minlength=7))
    out = fovea.bincount(fovea.tensor(a), fovea.tensor(w.astype(np.float32)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), np.bincount(a, w), rtol=1e-6)
    assert fovea.bincount(fovea.tensor(a), fovea.tensor(a)).dtype == np.float64  # as torch
    if torch is not None:
        assert torch.bincount(torch.tensor(a), torch.tensor(a)).dtype == torch.float64
    with pytest.raises(ValueError, match="bincount: input must contain only non-negative"):
        fovea.bincount(fovea.tensor([-1, 0]))


@pytest.mark.parametrize("bins,lo,hi", [(4, 0, 0), (5, -1, 1), (3, 0.5, 0.5), (10, -3, 3)])
def test_histc_matches_torch(bins, lo, hi):
    x = rand((50,))
    got = fovea.histc(fovea.tensor(x), bins=bins, min=lo, max=hi)
    assert got.dtype == np.float64
    ref_lo, ref_hi = (x.min(), x.max()) if lo == hi else (lo, hi)
    inside = x[(x >= ref_lo) & (x <= ref_hi)]
    np.testing.assert_array_equal(got.numpy(), np.histogram(inside, bins, (ref_lo, ref_hi))[0])
    if torch is not None:
        np.testing.assert_array_equal(
            got.numpy(), torch.histc(torch.tensor(x), bins=bins, min=lo, max=hi).numpy())


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_and_bucketize_match_torch(right):
    seq = np.array([1.0, 3.0, 3.0, 5.0, 7.0])
    v = np.array([[0.0, 3.0, 6.0], [7.0, 8.0, 1.0]])
    got = fovea.searchsorted(fovea.tensor(seq), fovea.tensor(v), right=right)
    np.testing.assert_array_equal(got.numpy(), np.searchsorted(
        seq, v, side="right" if right else "left"))
    side = fovea.searchsorted(fovea.tensor(seq), fovea.tensor(v),
                              side="right" if right else "left")
    np.testing.assert_array_equal(side.numpy(), got.numpy())
    rows = np.sort(rand((2, 6)), axis=1)
    by_row = fovea.searchsorted(fovea.tensor(rows), fovea.tensor(v), right=right)
    for r in range(2):
        np.testing.assert_array_equal(by_row.numpy()[r], np.searchsorted(
            rows[r], v[r], side="right" if right else "left"))
    buckets = fovea.bucketize(fovea.tensor(v), fovea.tensor(seq), right=right)
    assert fovea.searchsorted(fovea.tensor(seq), 3.0, right=right).shape == ()
    assert fovea.bucketize(fovea.tensor(v), fovea.tensor(seq), out_int32=True).dtype == np.int32
    if torch is not None:
        np.testing.assert_array_equal(got.numpy(), torch.searchsorted(
            torch.tensor(seq), torch.tensor(v), right=right).numpy())
        np.testing.assert_array_equal(by_row.numpy(), torch.searchsorted(
            torch.tensor(rows), torch.tensor(v), right=right).numpy())
        np.testing.assert_array_equal(buckets.numpy(), torch.bucketize(
            torch.tensor(v), torch.tensor(seq), right=right).numpy())
