"""CIFAR-10 and CIFAR-100 from the official "python version" archives.

The archives (https://www.cs.toronto.edu/~kriz/cifar.html) hold pickled Python 2 dicts.
Unpickling runs code named by the file, so the batches are read with
:class:`RestrictedUnpickler`, which resolves only the three NumPy names that an ``ndarray``
pickle needs and refuses every other global with a :class:`DatasetError`. The archive is read
in place (no extraction), member by member.

Each batch is a dict with ``data`` (uint8 (n, 3072): 1,024 red, then green, then blue values
of a 32×32 image in row-major order), ``labels`` (CIFAR-10) or ``fine_labels`` /
``coarse_labels`` (CIFAR-100), ``filenames`` and ``batch_label``.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import zlib

import numpy as np

from fovea.data.download import DatasetError, Resource, ensure_file, resolve_root
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
    stack = [obj]
    while stack:
        item = stack.pop()
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
    """Parse ``cifar-10-python.tar.gz``.

    Returns:
        ``(x_train, y_train, x_test, y_test, classes)``: images uint8 (50000, 3, 32, 32) and
        (10000, 3, 32, 32), labels int64, the 10 class names from ``batches.meta``.
    """
    train_names = [f"{_CIFAR10_DIR}/data_batch_{i}" for i in range(1, 6)]
    test_name, meta_name = f"{_CIFAR10_DIR}/test_batch", f"{_CIFAR10_DIR}/batches.meta"
    raw = read_archive_members(archive, train_names + [test_name, meta_name])
    src = {n: f"{archive}:{n}" for n in raw}
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
    """Parse ``cifar-100-python.tar.gz``.

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).

    Returns:
        ``(x_train, y_train, x_test, y_test, classes)`` as in :func:`read_cifar10`
        (50,000 / 10,000 images).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"cifar100: label_mode must be 'fine' or 'coarse', got {label_mode!r}")
    names = [f"{_CIFAR100_DIR}/{n}" for n in ("train", "test", "meta")]
    raw = read_archive_members(archive, names)
    src = {n: f"{archive}:{n}" for n in raw}
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
        root: cache directory (default :func:`~fovea.data.download.default_data_dir`);
            the archive lives in ``root/cifar10/``.
        download: fetch the archive (MD5-checked) if it is not cached.
        seed: seeds the train/validation split.
        val_fraction: fraction of the 50,000 training images held out for validation.

    Returns:
        :class:`DatasetSplits` with images float32 (N, 3, 32, 32) in [0, 1], labels int64.
    """
    path = ensure_file(CIFAR10, resolve_root(root, "cifar10"), download)
    return to_splits("cifar10", *read_cifar10(path), seed=seed, val_fraction=val_fraction)


def cifar100(root: str | os.PathLike | None = None, download: bool = True, seed: int = 0,
             val_fraction: float = 0.1, label_mode: str = "fine") -> DatasetSplits:
    """CIFAR-100 as splits (100 fine classes, or 20 coarse ones with ``label_mode="coarse"``).

    Arguments as in :func:`cifar10`; the archive lives in ``root/cifar100/``.
    """
    path = ensure_file(CIFAR100, resolve_root(root, "cifar100"), download)
    return to_splits("cifar100", *read_cifar100(path, label_mode), seed=seed,
                     val_fraction=val_fraction)


__all__ = ["CIFAR10", "CIFAR100", "RestrictedUnpickler", "cifar10", "cifar100", "load_pickle",
           "read_cifar10", "read_cifar100"]
