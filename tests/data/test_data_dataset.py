"""Dataset, TensorDataset, ArrayDataset, Subset and random_split."""

import numpy as np
import pytest

import fovea
from fovea.data import ArrayDataset, Dataset, Subset, TensorDataset, random_split
from fovea.data.dataset import get_batch


def _images(n=10, c=1, h=3, w=3):
    return np.arange(n * c * h * w, dtype=np.float32).reshape(n, c, h, w)


def test_tensor_dataset_indexes_all_arrays_together():
    x, y = _images(), np.arange(10) * 2
    ds = TensorDataset(x, fovea.tensor(y))
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi, x[3])
    assert yi == 6
    bx, by = ds.get_batch(np.array([4, 0, 9]))
    np.testing.assert_array_equal(bx, x[[4, 0, 9]])
    np.testing.assert_array_equal(by, y[[4, 0, 9]])


def test_tensor_dataset_requires_matching_lengths():
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(TypeError, match="numpy.ndarray or fovea.Tensor"):
        TensorDataset([1, 2, 3])


def test_array_dataset_batches_are_float32_and_int64():
    ds = ArrayDataset(_images().astype(np.float64), np.arange(10, dtype=np.int32))
    x, y = ds.get_batch(np.array([1, 2]))
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.shape == (2, 1, 3, 3)


def test_array_dataset_scales_uint8_images_per_batch():
    imgs = np.arange(4 * 2 * 2 * 2, dtype=np.uint8).reshape(4, 2, 2, 2) * 8
    ds = ArrayDataset(imgs, np.arange(4))
    assert ds.images.dtype == np.uint8          # stored compactly
    x, _ = ds.get_batch(np.array([3, 1]))
    np.testing.assert_allclose(x, imgs[[3, 1]] / 255.0, rtol=1e-6)
    assert x.dtype == np.float32


def test_array_dataset_applies_its_transform_with_the_given_generator():
    seen = []

    def transform(x, rng):
        seen.append(rng)
        return x + rng.random()

    ds = ArrayDataset(_images(), np.arange(10), transform=transform)
    a, _ = ds.get_batch(np.array([0, 1]), np.random.default_rng(5))
    b, _ = ds.get_batch(np.array([0, 1]), np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert isinstance(seen[0], np.random.Generator)
    np.testing.assert_array_equal(ds.images, _images())     # the stored data is untouched
    x0, y0 = ds[0]                                          # indexing: stored example
    np.testing.assert_array_equal(x0, _images()[0])
    assert y0 == 0


@pytest.mark.parametrize("images, labels, err, msg", [
    (np.zeros((4, 3, 3)), np.zeros(4, int), ValueError, "shape \\(N, C, H, W\\)"),
    (np.zeros((4, 1, 3, 3)), np.zeros(4), TypeError, "labels must be a 1-D integer"),
    (np.zeros((4, 1, 3, 3)), np.zeros(5, int), ValueError, "4 images but 5 labels"),
    (np.zeros((4, 1, 3, 3), np.int32), np.zeros(4, int), TypeError, "floating or uint8"),
])
def test_array_dataset_validates_its_input(images, labels, err, msg):
    with pytest.raises(err, match=msg):
        ArrayDataset(images, labels)


def test_get_batch_rejects_out_of_range_and_non_integer_indices():
    ds = ArrayDataset(_images(), np.arange(10))
    with pytest.raises(IndexError, match="out of range"):
        ds.get_batch(np.array([0, 10]))
    with pytest.raises(TypeError, match="integer"):
        ds.get_batch(np.array([0.5]))


class _ListDataset(Dataset):
    """A dataset that only defines __getitem__ (the per-example fallback path)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2, 2), i, dtype=np.float32), i % 3


def test_default_get_batch_stacks_per_example_items():
    x, y = get_batch(_ListDataset(5), np.array([4, 1]), None)
    np.testing.assert_array_equal(x, np.stack([np.full((2, 2), 4.0), np.full((2, 2), 1.0)]))
    np.testing.assert_array_equal(y, [1, 1])


def test_subset_maps_indices_into_the_parent():
    ds = ArrayDataset(_images(), np.arange(10))
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3
    assert sub[0][1] == 7
    x, y = sub.get_batch(np.array([2, 0]))
    np.testing.assert_array_equal(y, [5, 7])
    np.testing.assert_array_equal(x, _images()[[5, 7]])
    with pytest.raises(IndexError):
        Subset(ds, [10])


def test_random_split_partitions_the_dataset_reproducibly():
    ds = TensorDataset(np.arange(100))
    parts = random_split(ds, [70, 20, 10], seed=3)
    assert [len(p) for p in parts] == [70, 20, 10]
    allidx = np.concatenate([p.indices for p in parts])
    np.testing.assert_array_equal(np.sort(allidx), np.arange(100))
    again = random_split(ds, [70, 20, 10], seed=3)
    for a, b in zip(parts, again):
        np.testing.assert_array_equal(a.indices, b.indices)
    other = random_split(ds, [70, 20, 10], seed=4)
    assert not np.array_equal(parts[0].indices, other[0].indices)


def test_random_split_accepts_fractions():
    parts = random_split(TensorDataset(np.arange(11)), [0.5, 0.3, 0.2], seed=0)
    # floor gives 5, 3, 2; the remaining example goes to the first subset
    assert [len(p) for p in parts] == [6, 3, 2]


def test_random_split_validates_lengths():
    ds = TensorDataset(np.arange(10))
    with pytest.raises(ValueError, match="does not equal the length of the input dataset"):
        random_split(ds, [5, 6])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.6])
    with pytest.raises(ValueError, match="seed"):
        random_split(ds, [5, 5], seed=-1)
