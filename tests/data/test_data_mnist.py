"""MNIST / Fashion-MNIST: IDX parsing on generated gzip files, download and splits."""

import gzip

import numpy as np
import pytest

import fovea.data.mnist as mnist
from fovea.data import DatasetError
from fovea.data.download import Resource
from fovea.data.mnist import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, read_idx
from fovea.data.splits import load_dataset


def _serve(monkeypatch, tmp_path, formats, attr, **kw):
    server = tmp_path / "server"
    expect = formats.write_mnist(server, **kw)
    resources = tuple(Resource(r.filename, ((server / r.filename).as_uri(),),
                               formats.md5(server / r.filename))
                      for r in getattr(mnist, attr))
    monkeypatch.setattr(mnist, attr, resources)
    return expect


def test_official_file_names_and_checksums():
    names = [r.filename for r in mnist.MNIST]
    assert names == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                     "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert mnist.MNIST[0].md5 == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert mnist.FASHION_MNIST[3].md5 == "bb300cfdad3c16e7a12a480ee83cd310"
    assert all(r.urls[0].endswith(r.filename) for r in mnist.MNIST + mnist.FASHION_MNIST)


def test_read_idx_parses_images_and_labels(tmp_path, formats):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    (tmp_path / "img.gz").write_bytes(gzip.compress(formats.idx_bytes(images)))
    out = read_idx(tmp_path / "img.gz", IDX_IMAGES_MAGIC)
    np.testing.assert_array_equal(out, images)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    (tmp_path / "lbl.gz").write_bytes(gzip.compress(formats.idx_bytes(labels)))
    np.testing.assert_array_equal(read_idx(tmp_path / "lbl.gz", IDX_LABELS_MAGIC), labels)
    # the header really is the published one: 0x00000803 then big-endian sizes
    raw = formats.idx_bytes(images)
    assert raw[:16] == bytes.fromhex("00000803" "00000005" "0000001c" "0000001c")


def test_read_idx_rejects_bad_files_naming_them(tmp_path, formats):
    labels = np.arange(5, dtype=np.uint8)
    (tmp_path / "lbl.gz").write_bytes(gzip.compress(formats.idx_bytes(labels)))
    with pytest.raises(DatasetError, match="lbl.gz: bad IDX magic number 0x00000801, "
                                           "expected 0x00000803"):
        read_idx(tmp_path / "lbl.gz", IDX_IMAGES_MAGIC)
    (tmp_path / "short.gz").write_bytes(gzip.compress(formats.idx_bytes(labels)[:-2]))
    with pytest.raises(DatasetError, match="short.gz: header says shape \\(5,\\)"):
        read_idx(tmp_path / "short.gz", IDX_LABELS_MAGIC)
    (tmp_path / "garbage.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match="garbage.gz: corrupt gzip file"):
        read_idx(tmp_path / "garbage.gz", IDX_LABELS_MAGIC)


def test_mnist_downloads_parses_and_splits(tmp_path, formats, monkeypatch):
    expect = _serve(monkeypatch, tmp_path, formats, "MNIST", n_train=40, n_test=12)
    s = mnist.mnist(tmp_path / "data", seed=0)
    assert s.x_train.shape == (36, 1, 28, 28) and s.x_val.shape == (4, 1, 28, 28)
    assert s.x_test.dtype == np.float32 and s.y_test.dtype == np.int64
    np.testing.assert_allclose(s.x_test, expect["x_t10k"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(s.y_test, expect["y_t10k"])
    got = {r.tobytes() for r in np.concatenate([s.x_train, s.x_val]).reshape(40, -1)}
    ref = {r.tobytes() for r in (expect["x_train"].astype(np.float32) / 255).reshape(40, -1)}
    assert got == ref
    assert s.classes == [str(i) for i in range(10)]


def test_fashion_mnist_through_load_dataset(tmp_path, formats, monkeypatch):
    _serve(monkeypatch, tmp_path, formats, "FASHION_MNIST", n_train=20, n_test=5)
    s = load_dataset("fashion_mnist", data_dir=str(tmp_path / "data"), seed=1)
    assert len(s.y_train) == 18 and len(s.y_val) == 2 and len(s.y_test) == 5
    assert s.classes[0] == "T-shirt/top" and s.image_shape == (1, 28, 28)


def test_image_and_label_counts_must_agree(tmp_path, formats, monkeypatch):
    server = tmp_path / "server"
    formats.write_mnist(server, n_train=10, n_test=4)
    (server / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(formats.idx_bytes(np.zeros(3, np.uint8))))
    resources = tuple(Resource(r.filename, ((server / r.filename).as_uri(),),
                               formats.md5(server / r.filename)) for r in mnist.MNIST)
    monkeypatch.setattr(mnist, "MNIST", resources)
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte.gz: 4 images but "
                                           ".*t10k-labels-idx1-ubyte.gz has 3 labels"):
        mnist.mnist(tmp_path / "data")


def test_missing_files_without_download(tmp_path):
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: file not found"):
        load_dataset("mnist", data_dir=str(tmp_path), download=False)
