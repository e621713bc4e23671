"""MNIST / Fashion-MNIST: IDX parsing on generated gzip files, where the files are found
(data directory, system package, cache) before any download, checksums, the dataset classes,
and the real Fashion-MNIST of the Debian package when it is installed."""

import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

import fovea.data.download as download
import fovea.data.mnist as mnist
from fovea.data import MNIST as MNISTDataset
from fovea.data import DatasetError, FashionMNIST
from fovea.data.download import Resource
from fovea.data.mnist import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, read_idx
from fovea.data.splits import load_dataset

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_INSTALL = "apt-get update && apt-get install -y dataset-fashion-mnist"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No system package and an empty cache, unless a test puts them back."""
    monkeypatch.setattr(mnist, "SYSTEM_DIRS", {})
    monkeypatch.setenv("FOVEA_DATA_DIR", str(tmp_path / "cache"))


def _raw_md5(path) -> str:
    return hashlib.md5(gzip.decompress(Path(path).read_bytes())).hexdigest()


def _serve(monkeypatch, tmp_path, formats, attr, **kw):
    server = tmp_path / "server"
    expect = formats.write_mnist(server, **kw)
    resources = tuple(Resource(r.filename, ((server / r.filename).as_uri(),),
                               formats.md5(server / r.filename),
                               _raw_md5(server / r.filename))
                      for r in getattr(mnist, attr))
    monkeypatch.setattr(mnist, attr, resources)
    return expect


def _no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("a download was attempted")
    monkeypatch.setattr(download, "download_file", refuse)


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
    with pytest.raises(DatasetError, match="mnist: files not found \\(searched .*mnist.*copy "
                                           "the four MNIST .gz files"):
        load_dataset("mnist", data_dir=str(tmp_path), download=False)


def test_published_checksums_of_the_decompressed_files():
    # torchvision's raw-file MD5s; they are what a repackaged copy is checked against
    assert [r.raw_md5 for r in mnist.FASHION_MNIST] == [
        "f4a8712d7a061bf5bd6d2ca38dc4d50a", "9018921c3c673c538a1fc5bad174d6f9",
        "8181f5470baa50b63fa0f6fddb340f0a", "15d484375f8d13e6eb1aabb0c3f46965"]
    assert mnist.MNIST[0].raw_md5 == "6bbc9ace898e44ae57da46a324031adb"


def test_the_system_package_is_used_before_any_download(tmp_path, formats, monkeypatch):
    expect = _serve(monkeypatch, tmp_path, formats, "FASHION_MNIST", n_train=20, n_test=6)
    system = tmp_path / "usr-share"
    shutil.copytree(tmp_path / "server", system)
    monkeypatch.setattr(mnist, "SYSTEM_DIRS", {"fashion_mnist": (str(system),)})
    _no_network(monkeypatch)
    s = load_dataset("fashion_mnist", data_dir=str(tmp_path / "empty"))
    np.testing.assert_array_equal(s.y_test, expect["y_t10k"])
    assert not (tmp_path / "empty").exists()  # nothing was downloaded or created
    assert mnist.find_files("fashion_mnist", tmp_path / "empty") == system


def test_the_data_dir_wins_over_the_system_package_and_the_cache(tmp_path, formats,
                                                                 monkeypatch):
    _serve(monkeypatch, tmp_path, formats, "FASHION_MNIST", n_train=10, n_test=4)
    # three complete copies with different content: the data directory's must be read
    for where, seed in ((tmp_path / "mine" / "fashion_mnist", 1), (tmp_path / "sys", 2),
                        (tmp_path / "cache" / "fashion_mnist", 3)):
        formats.write_mnist(where, n_train=10, n_test=4, seed=seed)
    monkeypatch.setattr(mnist, "SYSTEM_DIRS", {"fashion_mnist": (str(tmp_path / "sys"),)})
    monkeypatch.setattr(mnist, "FASHION_MNIST", tuple(
        Resource(r.filename, r.urls, "0" * 32, None) for r in mnist.FASHION_MNIST))
    dirs = mnist.search_dirs("fashion_mnist", tmp_path / "mine")
    assert dirs[0] == tmp_path / "mine" / "fashion_mnist"
    assert dirs.index(tmp_path / "sys") < dirs.index(tmp_path / "cache" / "fashion_mnist")
    assert mnist.find_files("fashion_mnist", tmp_path / "mine") == dirs[0]
    assert mnist.find_files("fashion_mnist") == tmp_path / "sys"
    monkeypatch.setattr(mnist, "SYSTEM_DIRS", {})
    assert mnist.find_files("fashion_mnist") == tmp_path / "cache" / "fashion_mnist"
    # files directly in the data directory, or in torchvision's layout, are found too
    formats.write_mnist(tmp_path / "flat", n_train=10, n_test=4)
    assert mnist.find_files("fashion_mnist", tmp_path / "flat") == tmp_path / "flat"
    formats.write_mnist(tmp_path / "tv" / "FashionMNIST" / "raw", n_train=10, n_test=4)
    assert (mnist.find_files("fashion_mnist", tmp_path / "tv")
            == tmp_path / "tv" / "FashionMNIST" / "raw")


def test_a_repackaged_gzip_passes_on_the_decompressed_checksum(tmp_path, formats,
                                                               monkeypatch):
    # Debian's packages rewrite gzip headers (mtime, name): the file MD5 changes, the data not
    expect = _serve(monkeypatch, tmp_path, formats, "FASHION_MNIST", n_train=12, n_test=4)
    repack = tmp_path / "repack"
    repack.mkdir()
    for f in (tmp_path / "server").iterdir():
        (repack / f.name).write_bytes(gzip.compress(gzip.decompress(f.read_bytes()), mtime=1))
        assert formats.md5(repack / f.name) != formats.md5(f)
    s = mnist.fashion_mnist(repack, download=False)
    np.testing.assert_array_equal(s.y_test, expect["y_t10k"])
    # changed data fails both checks, and the message names the file and both digests
    data = bytearray(gzip.decompress((repack / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    data[-1] = (data[-1] + 1) % 10
    (repack / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(data)))
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz: checksum mismatch "
                                           ".*or .* for the decompressed data"):
        mnist.fashion_mnist(repack, download=False)


def test_not_found_offline_names_the_places_and_the_package(tmp_path):
    with pytest.raises(DatasetError, match="fashion_mnist: files not found \\(searched "
                                           ".*nowhere/fashion_mnist.*apt-get install "
                                           "dataset-fashion-mnist"):
        mnist.fashion_mnist(tmp_path / "nowhere", download=False)


def test_a_failed_download_suggests_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "FASHION_MNIST", tuple(
        Resource(r.filename, ((tmp_path / "no-server" / r.filename).as_uri(),), r.md5)
        for r in mnist.FASHION_MNIST))
    with pytest.raises(DatasetError, match="could not download .*; to use it offline, "
                                           "install the Debian package"):
        load_dataset("fashion_mnist", data_dir=str(tmp_path / "d"))


def test_fashion_mnist_dataset_class_like_torchvision(tmp_path, formats, monkeypatch):
    expect = _serve(monkeypatch, tmp_path, formats, "FASHION_MNIST", n_train=15, n_test=5)
    with pytest.raises(DatasetError, match="files not found"):
        FashionMNIST(tmp_path / "d")  # download=False by default, as in torchvision
    train = FashionMNIST(tmp_path / "d", train=True, download=True)
    assert not (tmp_path / "d" / "fashion_mnist" / "t10k-images-idx3-ubyte.gz").exists()
    test = FashionMNIST(tmp_path / "d", train=False, download=True)
    assert len(train) == 15 and len(test) == 5
    assert train.data.shape == (15, 28, 28) and train.data.dtype == np.uint8
    np.testing.assert_array_equal(train.data, expect["x_train"][:, 0])
    np.testing.assert_array_equal(test.targets, expect["y_t10k"])
    assert train.classes[9] == "Ankle boot" and train.class_to_idx["Trouser"] == 1
    x, y = test[2]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and y == expect["y_t10k"][2]
    np.testing.assert_allclose(x, expect["x_t10k"][2] / 255.0, rtol=1e-6)


def test_mnist_dataset_class_reads_only_the_split_asked_for(tmp_path, formats, monkeypatch):
    expect = _serve(monkeypatch, tmp_path, formats, "MNIST", n_train=8, n_test=3)
    d = tmp_path / "only-test" / "mnist"
    d.mkdir(parents=True)
    for f in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(tmp_path / "server" / f, d / f)
    _no_network(monkeypatch)
    test = MNISTDataset(tmp_path / "only-test", train=False)
    np.testing.assert_array_equal(test.targets, expect["y_t10k"])
    assert test.classes == [str(i) for i in range(10)]


@pytest.mark.skipif(not DEBIAN_DIR.is_dir(),
                    reason=f"Fashion-MNIST package not installed ({DEBIAN_INSTALL})")
def test_the_real_fashion_mnist_from_the_debian_package(monkeypatch):
    monkeypatch.setattr(mnist, "SYSTEM_DIRS", {"fashion_mnist": (str(DEBIAN_DIR),)})
    _no_network(monkeypatch)
    s = load_dataset("fashion_mnist", download=False)  # verifies every file's checksum
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (54000, 6000, 10000)
    assert s.image_shape == (1, 28, 28) and s.num_classes == 10
    counts = np.bincount(np.concatenate([s.y_train, s.y_val]), minlength=10)
    assert counts.tolist() == [6000] * 10
    assert np.bincount(s.y_test).tolist() == [1000] * 10
    # the published test set starts with an ankle boot, a pullover and two trousers
    assert s.y_test[:4].tolist() == [9, 2, 1, 1]
    assert s.x_test.min() == 0.0 and s.x_test.max() == 1.0


def test_the_other_data_set_under_the_same_names_is_recognised(tmp_path, formats, monkeypatch):
    _serve(monkeypatch, tmp_path, formats, "FASHION_MNIST", n_train=6, n_test=2)
    formats.write_mnist(tmp_path / "both", n_train=6, n_test=2, seed=9)  # "MNIST" files
    with pytest.raises(DatasetError, match="checksum mismatch .*is it the other data set"):
        mnist.fashion_mnist(tmp_path / "both", download=False)
