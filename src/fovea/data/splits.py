"""Named data sets as fixed train / validation / test splits of NumPy arrays.

``load_dataset(name)`` is what the command line and the classic pipeline call. Images are
float32 arrays of shape (N, C, H, W) scaled to [0, 1]; labels are int64 of shape (N,).
The test split is fixed and never used for model selection (Lecture 2): choose
hyperparameters on ``val``, report ``test`` once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class DatasetSplits:
    """Train / validation / test arrays of one data set.

    Attributes:
        name: the data set's name, e.g. ``"digits"``.
        x_train, x_val, x_test: images, float32 (N, C, H, W) in [0, 1].
        y_train, y_val, y_test: class indices, int64 (N,).
        classes: the class names, ``classes[k]`` for label k.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])


def split_indices(n: int, val_fraction: float, test_fraction: float, seed: int):
    """A seeded random partition of range(n) into (train, val, test) index arrays."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"split_indices: fractions must be in [0, 1) and sum below 1, got "
                         f"val_fraction={val_fraction}, test_fraction={test_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    return perm[n_test + n_val:], perm[n_test:n_test + n_val], perm[:n_test]


def digits(seed: int = 0) -> DatasetSplits:
    """scikit-learn's bundled 8×8 handwritten digits (1,797 images, no download).

    A fixed split (seed 0 by default): 1,257 train, 180 validation, 360 test images of shape
    (1, 8, 8), pixel values 0..16 scaled to [0, 1].
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    tr, va, te = split_indices(len(y), val_fraction=0.1, test_fraction=0.2, seed=seed)
    return DatasetSplits("digits", x[tr], y[tr], x[va], y[va], x[te], y[te],
                         [str(i) for i in range(10)])


_LOADERS = {"digits": digits}


def load_dataset(name: str, data_dir: str | None = None, download: bool = True,
                 seed: int = 0) -> DatasetSplits:
    """Load a named data set as fixed splits.

    Args:
        name: ``"digits"`` (bundled); other names are added by :mod:`fovea.data.datasets`.
        data_dir: where downloaded files are cached.
        download: fetch missing files (with checksum verification) when True.
        seed: seeds the train/validation split (the test split of published data sets is
            the published one).
    """
    if name not in _LOADERS:
        raise ValueError(f"load_dataset: unknown data set {name!r}; choose from "
                         f"{sorted(_LOADERS)}")
    if name == "digits":
        return digits(seed)
    return _LOADERS[name](data_dir=data_dir, download=download, seed=seed)
