"""CIFAR-10 and CIFAR-100 from the official "python version" archives.

The archives (https://www.cs.toronto.edu/~kriz/cifar.html) hold pickled Python 2 dicts.
Unpickling runs code named by the file, so the batches are read with
:class:`RestrictedUnpickler`, which resolves only the three NumPy names that an ``ndarray``
pickle needs and refuses every other global with a :class:`DatasetError`. The archive is read
in place (no extraction), member by member. An already extracted ``cifar-10-batches-py`` /
``cifar-100-python`` directory in the data directory (torchvision leaves one there) is read
instead, each file checked against the MD5 that torchvision publishes for it.

Each batch is a dict with ``data`` (uint8 (n, 3072): 1,024 red, then green, then blue values
of a 32×32 image in row-major order), ``labels`` (CIFAR-10) or ``fine_labels`` /
``coarse_labels`` (CIFAR-100), ``filenames`` and ``batch_label``.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
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

CIFAR10 = Resource(
    "cifar-10-python.tar.gz",
    ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
    "c58f30108f718f92721af3b95e74349a",
)
CIFAR100 = Resource(
    "cifar-100-python.tar.gz",
    ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",),
    "eb9058c3a382ffc7106e4002c42a8d85",
)

_CIFAR10_DIR = "cifar-10-batches-py"
_CIFAR100_DIR = "cifar-100-python"
# MD5 of each file of the extracted archives (as torchvision lists them); tests replace these.
CIFAR10_MEMBER_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
CIFAR100_MEMBER_MD5 = {
    "train": "16019d7e3df5f24257cddd939b257f8d",
    "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
    "meta": "7973b15100ade9c7d40fb424638fde48",
}
_IMAGE_BYTES = 3 * 32 * 32


def _reconstruct():
    # NOTE: NumPy 2 moved numpy.core to numpy._core; the pickles name either spelling, and we
    # map both to the function itself rather than importing the module the file names.
    try:
        from numpy._core.multiarray import _reconstruct as fn
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct as fn
    return fn


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler for data files: dicts, lists, strings, numbers and NumPy arrays only.

    ``find_class`` is the only way a pickle can reach code; here it resolves
    ``numpy.core.multiarray._reconstruct`` (also spelled ``numpy._core...``),
    ``numpy.ndarray`` and ``numpy.dtype`` and raises :class:`DatasetError` for anything else
    (``os.system``, ``builtins.eval``, ``subprocess.Popen``, ...). Arrays of dtype
    ``object`` are refused after loading by :func:`load_pickle`.

    Args:
        file: a binary file object.
        source: the name used in error messages (the file or archive member).
    """

    def __init__(self, file, source: str):
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str):
        make = _ALLOWED.get((module, name))
        if make is None:
            raise DatasetError(f"{self.source}: refusing to unpickle global {module}.{name}; "
                               f"data files may only contain dicts, lists, strings, numbers "
                               f"and numpy arrays")
        return make()


def load_pickle(data: bytes, source: str):
    """Unpickle ``data`` with :class:`RestrictedUnpickler`.

    Raises:
        DatasetError: a forbidden global, an object array, or a truncated/corrupt pickle;
            the message names ``source``.
    """
    try:
        obj = RestrictedUnpickler(io.BytesIO(data), source).load()
    except DatasetError:
        raise
    except Exception as exc:  # pickle raises many types on corrupt input
        raise DatasetError(f"{source}: corrupt pickle ({type(exc).__name__}: {exc})") from exc
    _refuse_object_arrays(obj, source)
    if isinstance(obj, dict):
        # The official files are Python 2 pickles (str keys under latin1); re-pickled copies
        # made with Python 3 have bytes keys (b"data"): accept both.
        obj = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}
    return obj


def _refuse_object_arrays(obj, source: str) -> None:
    # NOTE: a pickle can reference one container many times (memo "get" opcodes) and even
    # itself; visiting each container once keeps the walk linear in the file's size (a list
    # of two references to the previous list, nested 64 deep, is 2**64 paths but 64 objects).
    stack, seen = [obj], set()
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list | tuple):
            if id(item) in seen:
                continue
            seen.add(id(item))
        if isinstance(item, np.ndarray) and item.dtype.hasobject:
            raise DatasetError(f"{source}: refusing an array of dtype object in a data file")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def read_archive_members(path: str | os.PathLike, names: list[str]) -> dict[str, bytes]:
    """The bytes of the named members of a ``.tar.gz``, read in one pass without extracting.

    Raises:
        DatasetError: the archive is corrupt or a member is missing (names the archive and
            the member).
    """
    wanted = set(names)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if member.name in wanted and member.isfile():
                    fh = tar.extractfile(member)
                    found[member.name] = fh.read()
                    if len(found) == len(wanted):
                        break
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DatasetError(f"{path}: corrupt archive ({type(exc).__name__}: {exc})") from exc
    missing = [n for n in names if n not in found]
    if missing:
        raise DatasetError(f"{path}: archive has no member {missing[0]!r} (not a CIFAR "
                           f"python-version archive?)")
    return found


def read_directory_members(base: str | os.PathLike, names: list[str],
                           md5s: dict[str, str] | None) -> dict[str, bytes]:
    """The named files under ``base`` (an extracted archive), each checked against ``md5s``.

    Args:
        base: the directory that holds the extracted top folder (``cifar-10-batches-py``).
        names: member names as in the archive (``cifar-10-batches-py/data_batch_1``).
        md5s: expected MD5 per file name (the part after the last ``/``), or None.

    Raises:
        DatasetError: a missing file or a checksum mismatch (names the file).
    """
    found = {}
    for name in names:
        path = Path(base) / name
        if not path.is_file():
            raise DatasetError(f"{path}: missing from the extracted data set directory")
        data = path.read_bytes()
        expected = (md5s or {}).get(name.rsplit("/", 1)[-1])
        got = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if expected is not None and got != expected:
            raise DatasetError(f"{path}: checksum mismatch (MD5 {got}, expected {expected}); "
                               f"delete the directory or replace the file")
        found[name] = data
    return found


def _members(path, top: str, names: list[str], md5s) -> tuple[dict[str, bytes], str]:
    """Members from an archive or an extracted directory, and the prefix for messages."""
    path = Path(path)
    if path.is_dir():
        base = path.parent if path.name == top else path
        return read_directory_members(base, names, md5s), f"{base}/"
    return read_archive_members(path, names), f"{path}:"


def find_cifar(root: str | os.PathLike | None, subdir: str, top: str,
               resource: Resource) -> Path | None:
    """An extracted ``top`` directory or the archive already in the data directory, or None.

    Looks in ``ROOT/top``, ``ROOT/subdir/top``, ``ROOT/subdir/<archive>`` and ``ROOT/<archive>``
    where ROOT is ``root`` or the download cache.
    """
    base = Path(root).expanduser() if root is not None else default_data_dir()
    for d in (base / top, base / subdir / top):
        if d.is_dir():
            return d
    for a in (base / subdir / resource.filename, base / resource.filename):
        if a.is_file():
            return a
    return None


def _batch_arrays(batch, source: str, label_key: str,
                  num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate one unpickled batch dict; return (images uint8 (n, 3, 32, 32), labels int64)."""
    if not isinstance(batch, dict):
        raise DatasetError(f"{source}: expected a dict batch, got {type(batch).__name__}")
    for key in ("data", label_key):
        if key not in batch:
            raise DatasetError(f"{source}: batch has no {key!r} entry "
                               f"(keys: {sorted(map(str, batch))})")
    data, labels = batch["data"], batch[label_key]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == _IMAGE_BYTES):
        desc = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                else type(data).__name__)
        raise DatasetError(f"{source}: 'data' must be a uint8 array of shape (n, 3072), "
                           f"got {desc}")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{source}: {label_key!r} is not a list of integers") from exc
    if labels.shape != (data.shape[0],):
        raise DatasetError(f"{source}: {data.shape[0]} images but {label_key!r} has shape "
                           f"{labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DatasetError(f"{source}: labels must be in [0, {num_classes}), got range "
                           f"[{labels.min()}, {labels.max()}]")
    return data.reshape(-1, 3, 32, 32), labels


def _names(meta, source: str, key: str) -> list[str]:
    if not isinstance(meta, dict) or key not in meta or not isinstance(meta[key], list):
        raise DatasetError(f"{source}: meta file has no list {key!r}")
    return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in meta[key]]


def read_cifar10(archive: str | os.PathLike):
    """Parse ``cifar-10-python.tar.gz`` or its extracted ``cifar-10-batches-py`` directory.

    Returns:
        ``(x_train, y_train, x_test, y_test, classes)``: images uint8 (50000, 3, 32, 32) and
        (10000, 3, 32, 32), labels int64, the 10 class names from ``batches.meta``.
    """
    train_names = [f"{_CIFAR10_DIR}/data_batch_{i}" for i in range(1, 6)]
    test_name, meta_name = f"{_CIFAR10_DIR}/test_batch", f"{_CIFAR10_DIR}/batches.meta"
    raw, prefix = _members(archive, _CIFAR10_DIR, train_names + [test_name, meta_name],
                           CIFAR10_MEMBER_MD5)
    src = {n: f"{prefix}{n}" for n in raw}
    classes = _names(load_pickle(raw[meta_name], src[meta_name]), src[meta_name], "label_names")
    k = len(classes)
    parts = [_batch_arrays(load_pickle(raw[n], src[n]), src[n], "labels", k)
             for n in train_names]
    x_test, y_test = _batch_arrays(load_pickle(raw[test_name], src[test_name]), src[test_name],
                                   "labels", k)
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return x_train, y_train, x_test, y_test, classes


def read_cifar100(archive: str | os.PathLike, label_mode: str = "fine"):
    """Parse ``cifar-100-python.tar.gz`` or its extracted ``cifar-100-python`` directory.

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).

    Returns:
        ``(x_train, y_train, x_test, y_test, classes)`` as in :func:`read_cifar10`
        (50,000 / 10,000 images).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"cifar100: label_mode must be 'fine' or 'coarse', got {label_mode!r}")
    names = [f"{_CIFAR100_DIR}/{n}" for n in ("train", "test", "meta")]
    raw, prefix = _members(archive, _CIFAR100_DIR, names, CIFAR100_MEMBER_MD5)
    src = {n: f"{prefix}{n}" for n in raw}
    classes = _names(load_pickle(raw[names[2]], src[names[2]]), src[names[2]],
                     f"{label_mode}_label_names")
    key, k = f"{label_mode}_labels", len(classes)
    x_train, y_train = _batch_arrays(load_pickle(raw[names[0]], src[names[0]]), src[names[0]],
                                     key, k)
    x_test, y_test = _batch_arrays(load_pickle(raw[names[1]], src[names[1]]), src[names[1]],
                                   key, k)
    return x_train, y_train, x_test, y_test, classes


def cifar10(root: str | os.PathLike | None = None, download: bool = True, seed: int = 0,
            val_fraction: float = 0.1) -> DatasetSplits:
    """CIFAR-10 as splits: 45,000 train, 5,000 validation (seeded), 10,000 test.

    Args:
        root: data directory (default :func:`~fovea.data.download.default_data_dir`):
            an extracted ``cifar-10-batches-py`` in it (or in ``root/cifar10/``) is read
            directly; otherwise the archive is read from (or downloaded into)
            ``root/cifar10/``.
        download: fetch the archive (MD5-checked) if it is not cached.
        seed: seeds the train/validation split.
        val_fraction: fraction of the 50,000 training images held out for validation.

    Returns:
        :class:`DatasetSplits` with images float32 (N, 3, 32, 32) in [0, 1], labels int64.
    """
    path = _locate(root, "cifar10", _CIFAR10_DIR, CIFAR10, download)
    return to_splits("cifar10", *read_cifar10(path), seed=seed, val_fraction=val_fraction)


def cifar100(root: str | os.PathLike | None = None, download: bool = True, seed: int = 0,
             val_fraction: float = 0.1, label_mode: str = "fine") -> DatasetSplits:
    """CIFAR-100 as splits (100 fine classes, or 20 coarse ones with ``label_mode="coarse"``).

    Arguments as in :func:`cifar10`; an extracted ``cifar-100-python`` directory is read
    directly, else the archive in ``root/cifar100/``.
    """
    path = _locate(root, "cifar100", _CIFAR100_DIR, CIFAR100, download)
    return to_splits("cifar100", *read_cifar100(path, label_mode), seed=seed,
                     val_fraction=val_fraction)


def _locate(root, subdir: str, top: str, resource: Resource, download: bool) -> Path:
    found = find_cifar(root, subdir, top, resource)
    if found is not None and found.is_dir():
        return found
    # An archive found is checked against its MD5 by ensure_file; none found is downloaded.
    directory = found.parent if found is not None else resolve_root(root, subdir)
    return ensure_file(resource, directory, download)


__all__ = ["CIFAR10", "CIFAR100", "RestrictedUnpickler", "cifar10", "cifar100", "load_pickle",
           "read_cifar10", "read_cifar100"]
