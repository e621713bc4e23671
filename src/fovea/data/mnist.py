"""MNIST and Fashion-MNIST from the published gzip-compressed IDX files.

IDX format (http://yann.lecun.com/exdb/mnist/): a big-endian header ``0x00 0x00 <type>
<ndim>`` then ``ndim`` big-endian uint32 sizes, then the values in row-major order. The
files used here have type 0x08 (unsigned byte): images ``0x00000803`` (n, rows, cols) and
labels ``0x00000801`` (n,).

Where the files are found, in order (the first directory holding all four wins):
``DATA_DIR/<name>/``, ``DATA_DIR/`` and torchvision's ``DATA_DIR/FashionMNIST/raw/`` when a
data directory is given; the system package's directory (Fashion-MNIST:
``/usr/share/datasets/fashion-mnist/`` from Debian's ``dataset-fashion-mnist``); the download
cache ``~/.cache/fovea/datasets/<name>/``. Only then are missing files downloaded. Every file
is checked against the published MD5 of the ``.gz`` file or, for a repackaged copy, the
published MD5 of its decompressed content.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

import numpy as np

from fovea.data.download import (
    DatasetError,
    Resource,
    default_data_dir,
    ensure_file,
    resolve_root,
)
from fovea.data.splits import DatasetSplits, to_splits

_MNIST_URLS = ("http://yann.lecun.com/exdb/mnist/",
               "https://ossci-datasets.s3.amazonaws.com/mnist/")
_FASHION_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                 "data/fashion/")

_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _resources(bases: tuple[str, ...], md5s: tuple[str, ...],
               raw_md5s: tuple[str, ...]) -> tuple[Resource, ...]:
    return tuple(Resource(f, tuple(b + f for b in bases), m, r)
                 for f, m, r in zip(_FILES, md5s, raw_md5s))


# The .gz MD5s are the ones published with the data sets (the Fashion-MNIST README, the
# MNIST mirrors); the MD5s of the decompressed files are the ones torchvision has long listed
# for the raw IDX files.
MNIST = _resources(_MNIST_URLS, ("f68b3c2dcbeaaa9fbdd348bbdeb94873",
                                 "d53e105ee54ea40749a09fcbcd1e9432",
                                 "9fb629c4189551a2d022fa330f9573f3",
                                 "ec29112dd5afa0611ce80d1b7f02629c"),
                   ("6bbc9ace898e44ae57da46a324031adb",
                    "a25bea736e30d166cdddb491f175f624",
                    "2646ac647ad5339dbf082846283269ea",
                    "27ae3e4e09519cfbb04c329615203637"))
FASHION_MNIST = _resources(_FASHION_URLS, ("8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                                           "25c81989df183df01b3e8a0aad5dffbe",
                                           "bef4ecab320f06d8554ea6380940ec79",
                                           "bb300cfdad3c16e7a12a480ee83cd310"),
                           ("f4a8712d7a061bf5bd6d2ca38dc4d50a",
                            "9018921c3c673c538a1fc5bad174d6f9",
                            "8181f5470baa50b63fa0f6fddb340f0a",
                            "15d484375f8d13e6eb1aabb0c3f46965"))

# Directories where a system package installs the files (tests replace this mapping).
SYSTEM_DIRS: dict[str, tuple[str, ...]] = {
    "fashion_mnist": ("/usr/share/datasets/fashion-mnist",),
}
# How to install each data set without a download (shown when it cannot be found).
INSTALL_HINTS = {
    "fashion_mnist": "install the Debian package: apt-get install dataset-fashion-mnist",
    "mnist": "copy the four MNIST .gz files into --data-dir/mnist/",
}
# torchvision's layout (ROOT/FashionMNIST/raw/*.gz), so an existing torchvision download works.
_TORCHVISION_DIRS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}

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
    return parse_idx(raw, path, expected_magic)


def parse_idx(raw: bytes, path, expected_magic: int) -> np.ndarray:
    """Parse the decompressed bytes of an IDX file (``path`` names it in errors)."""
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


def read_verified_idx(path: str | os.PathLike, resource: Resource | None,
                      expected_magic: int) -> np.ndarray:
    """Read a gzip IDX file after checking it against the published checksums.

    The file passes when the MD5 of the ``.gz`` file is ``resource.md5`` or, for a copy
    whose gzip header was rewritten (a distribution package), when the MD5 of its
    decompressed content is ``resource.raw_md5``. ``resource=None`` skips the check.

    Raises:
        DatasetError: a checksum mismatch (names the file and both digests), or a file that
            is not a valid IDX file.
    """
    data = Path(path).read_bytes()
    try:
        raw = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: corrupt gzip file ({type(exc).__name__}: {exc})") from exc
    if resource is not None:
        got = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if got != resource.md5:
            raw_got = hashlib.md5(raw, usedforsecurity=False).hexdigest()
            if resource.raw_md5 is None or raw_got != resource.raw_md5:
                expected = f"published MD5 {resource.md5}" + (
                    f", or {resource.raw_md5} for the decompressed data (got {raw_got})"
                    if resource.raw_md5 else "")
                raise DatasetError(f"{path}: checksum mismatch (MD5 {got}, expected the "
                                   f"{expected}); delete or replace the file (MNIST and "
                                   f"Fashion-MNIST files have the same names: is it the "
                                   f"other data set?)")
    return parse_idx(raw, path, expected_magic)


def read_mnist_files(directory: str | os.PathLike, resources: tuple[Resource, ...] | None = None,
                     parts: tuple[str, ...] = ("train", "test")):
    """Parse the four IDX files in ``directory`` (official names).

    Args:
        directory: holds the files.
        resources: the published checksums to verify (``MNIST`` or ``FASHION_MNIST``), or
            None to skip verification.
        parts: ``"train"`` and/or ``"test"``: which pairs of files to read.

    Returns:
        ``(x_train, y_train, x_test, y_test)`` (the pairs asked for, in that order): images
        uint8 (N, 1, 28, 28), labels int64.
    """
    out = []
    for part, (i, j) in (("train", (0, 1)), ("test", (2, 3))):
        if part not in parts:
            continue
        img_path = os.path.join(directory, _FILES[i])
        lbl_path = os.path.join(directory, _FILES[j])
        check = (None, None) if resources is None else (resources[i], resources[j])
        images = read_verified_idx(img_path, check[0], IDX_IMAGES_MAGIC)
        labels = read_verified_idx(lbl_path, check[1], IDX_LABELS_MAGIC).astype(np.int64)
        if len(images) != len(labels):
            raise DatasetError(f"{img_path}: {len(images)} images but {lbl_path} has "
                               f"{len(labels)} labels")
        if labels.size and labels.max() > 9:
            raise DatasetError(f"{lbl_path}: labels must be in [0, 10), got max {labels.max()}")
        out += [images[:, None, :, :], labels]
    return tuple(out)


def search_dirs(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """The directories searched for data set ``name`` (``"mnist"``, ``"fashion_mnist"``).

    In order: ``root/<name>``, ``root`` and ``root/<TorchvisionName>/raw`` when ``root`` is
    given, then :data:`SYSTEM_DIRS`, then the download cache's ``<name>`` folder.
    """
    dirs: list[Path] = []
    if root is not None:
        r = Path(root).expanduser()
        dirs += [r / name, r, r / _TORCHVISION_DIRS[name] / "raw"]
    dirs += [Path(d) for d in SYSTEM_DIRS.get(name, ())]
    dirs.append(default_data_dir() / name)
    seen: set[Path] = set()
    return [d for d in dirs if not (d in seen or seen.add(d))]


def find_files(name: str, root: str | os.PathLike | None = None,
               files: tuple[str, ...] = _FILES) -> Path | None:
    """The first of :func:`search_dirs` that holds every one of ``files``, or None."""
    for d in search_dirs(name, root):
        if all((d / f).is_file() for f in files):
            return d
    return None


def locate(name: str, resources, root, download: bool, files=_FILES) -> Path:
    """The directory holding ``files`` of data set ``name``, downloading what is missing."""
    found = find_files(name, root, files)
    if found is not None:
        return found
    target = resolve_root(root, name)
    hint = INSTALL_HINTS.get(name)
    if not download:
        searched = ", ".join(str(d) for d in search_dirs(name, root))
        raise DatasetError(f"{name}: files not found (searched {searched})"
                           + (f"; {hint}" if hint else "")
                           + "; or pass download=True to fetch them")
    try:
        for res in resources:
            if res.filename in files and not (target / res.filename).exists():
                ensure_file(res, target, download=True)
    except DatasetError as exc:
        raise DatasetError(f"{exc}" + (f"; to use it offline, {hint}" if hint else "")) from exc
    return target


def _load(name: str, resources, classes, root, download, seed, val_fraction) -> DatasetSplits:
    directory = locate(name, resources, root, download)
    return to_splits(name, *read_mnist_files(directory, resources), classes, seed=seed,
                     val_fraction=val_fraction)


def mnist(root: str | os.PathLike | None = None, download: bool = True, seed: int = 0,
          val_fraction: float = 0.1) -> DatasetSplits:
    """MNIST as splits: 54,000 train, 6,000 validation (seeded), 10,000 test.

    Args:
        root: a data directory to search first and to download into (default
            :func:`~fovea.data.download.default_data_dir`); files are found as the module
            docstring says and downloaded into ``root/mnist/``.
        download: fetch missing files (each MD5-checked).
        seed: seeds the train/validation split.
        val_fraction: fraction of the 60,000 training images held out for validation.

    Returns:
        :class:`DatasetSplits` with images float32 (N, 1, 28, 28) in [0, 1], labels int64.
    """
    return _load("mnist", MNIST, MNIST_CLASSES, root, download, seed, val_fraction)


def fashion_mnist(root: str | os.PathLike | None = None, download: bool = True, seed: int = 0,
                  val_fraction: float = 0.1) -> DatasetSplits:
    """Fashion-MNIST as splits: 54,000 train, 6,000 validation (seeded), 10,000 test.

    Found in ``root`` first, then in ``/usr/share/datasets/fashion-mnist/`` (Debian's
    ``dataset-fashion-mnist``), then in the download cache; downloaded into
    ``root/fashion_mnist/`` only when none holds the four files. Arguments as in
    :func:`mnist`; images (N, 1, 28, 28), the 10 :data:`FASHION_MNIST_CLASSES`.
    """
    return _load("fashion_mnist", FASHION_MNIST, FASHION_MNIST_CLASSES, root, download, seed,
                 val_fraction)


__all__ = ["FASHION_MNIST", "FASHION_MNIST_CLASSES", "MNIST", "MNIST_CLASSES", "fashion_mnist",
           "find_files", "mnist", "read_idx", "read_mnist_files", "search_dirs"]
