"""Generators of small data files in the exact published formats (no network needed).

- CIFAR: ``.tar.gz`` archives whose members are Python-2 protocol-2 pickles, written opcode by
  opcode the way cPickle wrote the official batches (``BINSTRING`` strings,
  ``numpy.core.multiarray._reconstruct`` arrays).
- MNIST: gzip-compressed IDX files with the official magic numbers.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest


def _str(data: bytes) -> bytes:
    if len(data) < 256:
        return b"U" + bytes([len(data)]) + data           # SHORT_BINSTRING
    return b"T" + struct.pack("<i", len(data)) + data     # BINSTRING


def _int(v: int) -> bytes:
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if 0 <= v < 65536:
        return b"M" + struct.pack("<H", v)
    return b"J" + struct.pack("<i", v)


def _tuple(items: list[bytes]) -> bytes:
    codes = {0: b")", 1: b"\x85", 2: b"\x86", 3: b"\x87"}
    if len(items) in codes:
        return b"".join(items) + codes[len(items)]
    return b"(" + b"".join(items) + b"t"


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _ndarray(a: np.ndarray) -> bytes:
    assert a.dtype == np.uint8
    dtype = (_global("numpy", "dtype") + _tuple([_str(b"u1"), _int(0), _int(1)]) + b"R"
             + _tuple([_int(3), _str(b"|"), b"N", b"N", b"N", b"J\xff\xff\xff\xff",
                       b"J\xff\xff\xff\xff", _int(0)]) + b"b")
    head = (_global("numpy.core.multiarray", "_reconstruct")
            + _tuple([_global("numpy", "ndarray"), _tuple([_int(0)]), _str(b"b")]) + b"R")
    state = _tuple([_int(1), _tuple([_int(s) for s in a.shape]), dtype, b"\x89",
                    _str(np.ascontiguousarray(a).tobytes())])
    return head + state + b"b"


def _obj(v) -> bytes:
    if isinstance(v, dict):
        return b"}(" + b"".join(_obj(k) + _obj(x) for k, x in v.items()) + b"u"
    if isinstance(v, list):
        return b"](" + b"".join(_obj(x) for x in v) + b"e"
    if isinstance(v, bool | None):
        return {True: b"\x88", False: b"\x89", None: b"N"}[v]
    if isinstance(v, int):
        return _int(v)
    if isinstance(v, str):
        return _str(v.encode("latin1"))
    if isinstance(v, bytes):
        return _str(v)
    if isinstance(v, np.ndarray):
        return _ndarray(v)
    raise TypeError(type(v))


def py2_pickle(obj) -> bytes:
    """``obj`` as Python 2's cPickle.dump(obj, f, 2) would have written it."""
    return b"\x80\x02" + _obj(obj) + b"."


def _tar_gz(path: Path, members: dict[str, bytes]) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buf.getvalue())


def md5(path: Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def write_cifar10(path: Path, n_per_batch: int = 6, seed: int = 0) -> dict:
    """A cifar-10-python.tar.gz with 5 training batches and a test batch of n images each."""
    rng = np.random.default_rng(seed)
    members, xs, ys = {}, [], []
    names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
             "test_batch"]
    for k, name in enumerate(names):
        data = rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n_per_batch)]
        batch = {"batch_label": f"training batch {k + 1} of 5", "labels": labels, "data": data,
                 "filenames": [f"img_{k}_{i}.png" for i in range(n_per_batch)]}
        members[f"cifar-10-batches-py/{name}"] = py2_pickle(batch)
        xs.append(data)
        ys.append(labels)
    label_names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]
    members["cifar-10-batches-py/batches.meta"] = py2_pickle(
        {"num_cases_per_batch": n_per_batch, "label_names": label_names, "num_vis": 3072})
    members["cifar-10-batches-py/readme.html"] = b"<html></html>"
    _tar_gz(path, members)
    return {"x_train": np.concatenate(xs[:5]).reshape(-1, 3, 32, 32),
            "y_train": np.concatenate(ys[:5]).astype(np.int64),
            "x_test": xs[5].reshape(-1, 3, 32, 32), "y_test": np.asarray(ys[5], np.int64),
            "classes": label_names}


def write_cifar100(path: Path, n_train: int = 20, n_test: int = 8, seed: int = 0) -> dict:
    """A cifar-100-python.tar.gz with train, test and meta members."""
    rng = np.random.default_rng(seed)
    members, out = {}, {}
    for name, n in (("train", n_train), ("test", n_test)):
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        fine = [int(v) for v in rng.integers(0, 100, size=n)]
        coarse = [int(v) for v in rng.integers(0, 20, size=n)]
        members[f"cifar-100-python/{name}"] = py2_pickle(
            {"filenames": [f"f{i}.png" for i in range(n)], "batch_label": f"{name} batch",
             "fine_labels": fine, "coarse_labels": coarse, "data": data})
        out[f"x_{name}"] = data.reshape(-1, 3, 32, 32)
        out[f"fine_{name}"] = np.asarray(fine, np.int64)
        out[f"coarse_{name}"] = np.asarray(coarse, np.int64)
    out["fine_names"] = [f"fine{i}" for i in range(100)]
    out["coarse_names"] = [f"coarse{i}" for i in range(20)]
    members["cifar-100-python/meta"] = py2_pickle(
        {"fine_label_names": out["fine_names"], "coarse_label_names": out["coarse_names"]})
    _tar_gz(path, members)
    return out


def idx_bytes(array: np.ndarray) -> bytes:
    """An uncompressed IDX file of unsigned bytes (magic 0x0000080<ndim>)."""
    assert array.dtype == np.uint8
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", s)
                                                         for s in array.shape)
    return header + array.tobytes()


def write_mnist(directory: Path, n_train: int = 30, n_test: int = 10, seed: int = 0) -> dict:
    """The four official gzip IDX files of an MNIST-format data set."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        (directory / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(
            idx_bytes(images)))
        (directory / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(
            idx_bytes(labels)))
        out[f"x_{prefix}"], out[f"y_{prefix}"] = images[:, None], labels.astype(np.int64)
    return out


class Formats:
    """The generators, handed to tests by the ``formats`` fixture."""

    py2_pickle = staticmethod(py2_pickle)
    write_cifar10 = staticmethod(write_cifar10)
    write_cifar100 = staticmethod(write_cifar100)
    write_mnist = staticmethod(write_mnist)
    idx_bytes = staticmethod(idx_bytes)
    md5 = staticmethod(md5)
    tar_gz = staticmethod(_tar_gz)


@pytest.fixture
def formats() -> type[Formats]:
    return Formats
