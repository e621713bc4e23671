"""MNIST and Fashion-MNIST from the published gzip-compressed IDX files.

IDX format (http://yann.lecun.com/exdb/mnist/): a big-endian header ``0x00 0x00 <type>
<ndim>`` then ``ndim`` big-endian uint32 sizes, then the values in row-major order. The
files used here have type 0x08 (unsigned byte): images ``0x00000803`` (n, rows, cols) and
labels ``0x00000801`` (n,).
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from fovea.data.download import DatasetError, Resource, ensure_file, resolve_root
from fovea.data.splits import DatasetSplits, to_splits

_MNIST_URLS = ("http://yann.lecun.com/exdb/mnist/",
               "https://ossci-datasets.s3.amazonaws.com/mnist/")
_FASHION_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                 "data/fashion/")

_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _resources(bases: tuple[str, ...], md5s: tuple[str, ...]) -> tuple[Resource, ...]:
    return tuple(Resource(f, tuple(b + f for b in bases), m) for f, m in zip(_FILES, md5s))


MNIST = _resources(_MNIST_URLS, ("f68b3c2dcbeaaa9fbdd348bbdeb94873",
                                 "d53e105ee54ea40749a09fcbcd1e9432",
                                 "9fb629c4189551a2d022fa330f9573f3",
                                 "ec29112dd5afa0611ce80d1b7f02629c"))
FASHION_MNIST = _resources(_FASHION_URLS, ("8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                                           "25c81989df183df01b3e8a0aad5dffbe",
                                           "bef4ecab320f06d8554ea6380940ec79",
                                           "bb300cfdad3c16e7a12a480ee83cd310"))

MNIST_CLASSES = [str(i) for i in range(10)]
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"]

IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801


def read_idx(path: str | os.PathLike, expected_magic: int) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes.

    Args:
        path: the ``.gz`` file.
        expected_magic: ``0x00000803`` for images, ``0x00000801`` for labels.

    Returns:
        uint8 array with the shape given in the header.

    Raises:
        DatasetError: corrupt gzip data, a wrong magic number, or a size that disagrees with
            the header (the message names the file).
    """
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: corrupt gzip file ({type(exc).__name__}: {exc})") from exc
    if len(raw) < 4:
        raise DatasetError(f"{path}: truncated IDX file ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise DatasetError(f"{path}: bad IDX magic number 0x{magic:08x}, expected "
                           f"0x{expected_magic:08x}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != count:
        raise DatasetError(f"{path}: header says shape {shape} ({count} bytes of data) but the "
                           f"file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def read_mnist_files(directory: str | os.PathLike):
    """Parse the four IDX files in ``directory`` (official names).

    Returns:
        ``(x_train, y_train, x_test, y_test)``: images uint8 (N, 1, 28, 28), labels int64.
    """
    out = []
    for img_name, lbl_name in ((_FILES[0], _FILES[1]), (_FILES[2], _FILES[3])):
        img_path = os.path.join(directory, img_name)
        lbl_path = os.path.join(directory, lbl_name)
        images = read_idx(img_path, IDX_IMAGES_MAGIC)
        labels = read_idx(lbl_path, IDX_LABELS_MAGIC).astype(np.int64)
        if len(images) != len(labels):
            raise DatasetError(f"{img_path}: {len(images)} images but {lbl_path} has "
                               f"{len(labels)} labels")
        if labels.size and labels.max() > 9:
            raise DatasetError(f"{lbl_path}: labels must be in [0, 10), got max {labels.max()}")
        out += [images[:, None, :, :], labels]
    return tuple(out)


def _load(name: str, resources, classes, root, download, seed, val_fraction) -> DatasetSplits:
    directory = resolve_root(root, name)
    for res in resources:
        ensure_file(res, directory, download)
    return to_splits(name, *read_mnist_files(directory), classes, seed=seed,
                     val_fraction=val_fraction)


def mnist(root: str | os.PathLike | None = None, download: bool = True, seed: int = 0,
          val_fraction: float = 0.1) -> DatasetSplits:
    """MNIST as splits: 54,000 train, 6,000 validation (seeded), 10,000 test.

    Args:
        root: cache directory (default :func:`~fovea.data.download.default_data_dir`); the
            four files live in ``root/mnist/``.
        download: fetch missing files (each MD5-checked).
        seed: seeds the train/validation split.
        val_fraction: fraction of the 60,000 training images held out for validation.

    Returns:
        :class:`DatasetSplits` with images float32 (N, 1, 28, 28) in [0, 1], labels int64.
    """
    return _load("mnist", MNIST, MNIST_CLASSES, root, download, seed, val_fraction)


def fashion_mnist(root: str | os.PathLike | None = None, download: bool = True, seed: int = 0,
                  val_fraction: float = 0.1) -> DatasetSplits:
    """Fashion-MNIST as splits (same layout as :func:`mnist`; files in ``root/fashion_mnist/``)."""
    return _load("fashion_mnist", FASHION_MNIST, FASHION_MNIST_CLASSES, root, download, seed,
                 val_fraction)
