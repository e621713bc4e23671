"""load_dataset: the registry, the unchanged digits split, the shared split helpers."""

import numpy as np
import pytest

from fovea.data import load_dataset
from fovea.data.splits import _LOADERS, DATASET_NAMES, to_splits, uint8_to_float


def test_digits_split_is_unchanged():
    # Fingerprint of the split other code depends on (recorded before the data module grew).
    s = load_dataset("digits")
    assert (s.x_train.shape, s.x_val.shape, s.x_test.shape) == (
        (1258, 1, 8, 8), (180, 1, 8, 8), (359, 1, 8, 8))
    assert s.y_test[:20].tolist() == [6, 6, 6, 2, 5, 6, 6, 2, 2, 1, 1, 9, 0, 4, 1, 9, 5, 5, 3,
                                      0]
    assert int(s.y_train.sum()) == 5634 and float(s.x_val.sum()) == 3493.0
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64


def test_all_published_data_sets_are_registered():
    assert {"digits", "cifar10", "cifar100", "mnist", "fashion_mnist", "mnist5k"} <= set(_LOADERS)
    # the names the help and `fovea datasets` list are exactly the registered ones
    assert sorted(DATASET_NAMES) == sorted(_LOADERS)


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match="unknown data set 'imagenet'.*cifar10.*folder:PATH"):
        load_dataset("imagenet")


def test_to_splits_carves_a_seeded_validation_set_and_keeps_the_test_set():
    x = np.arange(40 * 4, dtype=np.uint8).reshape(40, 1, 2, 2)
    y = np.arange(40)
    xt, yt = np.full((5, 1, 2, 2), 255, np.uint8), np.arange(5)
    a = to_splits("t", x, y, xt, yt, ["c"], seed=0, val_fraction=0.25)
    b = to_splits("t", x, y, xt, yt, ["c"], seed=0, val_fraction=0.25)
    c = to_splits("t", x, y, xt, yt, ["c"], seed=1, val_fraction=0.25)
    assert len(a.y_val) == 10 and len(a.y_train) == 30
    assert set(a.y_train) | set(a.y_val) == set(range(40))
    assert not set(a.y_train) & set(a.y_val)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.y_val, c.y_val)
    np.testing.assert_array_equal(a.x_test, 1.0)
    np.testing.assert_allclose(a.x_val[:, 0, 0, 0], a.y_val * 4 / 255.0, rtol=1e-6)
    with pytest.raises(ValueError, match="val_fraction"):
        to_splits("t", x, y, xt, yt, ["c"], seed=0, val_fraction=0.0)


def test_uint8_to_float_maps_255_to_exactly_one():
    out = uint8_to_float(np.arange(256, dtype=np.uint8))
    assert out.dtype == np.float32 and out[0] == 0.0 and out[-1] == 1.0
    np.testing.assert_allclose(out, np.arange(256) / 255.0, rtol=1e-7)


def test_splits_give_array_datasets_for_the_loader():
    s = load_dataset("digits")
    ds = s.dataset("val", transform=lambda x, rng: x * 2)
    x, y = ds.get_batch(np.arange(3))
    np.testing.assert_array_equal(x, s.x_val[:3] * 2)
    np.testing.assert_array_equal(y, s.y_val[:3])
    with pytest.raises(ValueError, match="split must be"):
        s.dataset("dev")
