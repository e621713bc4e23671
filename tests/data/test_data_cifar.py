"""CIFAR parsing on generated archives; the restricted unpickler refuses code."""

import hashlib
import os
import pickle

import numpy as np
import pytest

import fovea.data.download as download
from fovea.data import DatasetError, cifar
from fovea.data.cifar import load_pickle, read_cifar10, read_cifar100
from fovea.data.download import Resource
from fovea.data.splits import load_dataset


def _serve(monkeypatch, tmp_path, formats, attr, writer, **kw):
    """Write an archive under tmp_path/server and point cifar.<attr> at its file:// URL."""
    server = tmp_path / "server"
    server.mkdir(exist_ok=True)
    name = getattr(cifar, attr).filename
    expect = writer(server / name, **kw)
    monkeypatch.setattr(cifar, attr, Resource(name, ((server / name).as_uri(),),
                                              formats.md5(server / name)))
    return expect


def test_official_urls_and_checksums_are_the_published_ones():
    assert cifar.CIFAR10.urls[0] == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert cifar.CIFAR10.md5 == "c58f30108f718f92721af3b95e74349a"
    assert cifar.CIFAR100.urls[0] == "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    assert cifar.CIFAR100.md5 == "eb9058c3a382ffc7106e4002c42a8d85"


def test_read_cifar10_parses_the_batches_in_channel_plane_order(tmp_path, formats):
    expect = formats.write_cifar10(tmp_path / "c10.tar.gz", n_per_batch=4)
    x_train, y_train, x_test, y_test, classes = read_cifar10(tmp_path / "c10.tar.gz")
    assert x_train.shape == (20, 3, 32, 32) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, expect["x_train"])
    np.testing.assert_array_equal(y_train, expect["y_train"])
    np.testing.assert_array_equal(x_test, expect["x_test"])
    np.testing.assert_array_equal(y_test, expect["y_test"])
    assert classes[0] == "airplane" and len(classes) == 10
    # a row is 1024 red values, then green, then blue, each row-major over 32x32
    flat = expect["x_train"].reshape(20, 3072)
    assert x_train[2, 1, 0, 5] == flat[2, 1024 + 5]
    assert x_train[2, 2, 3, 7] == flat[2, 2048 + 3 * 32 + 7]


def test_cifar10_downloads_verifies_and_splits(tmp_path, formats, monkeypatch):
    expect = _serve(monkeypatch, tmp_path, formats, "CIFAR10", formats.write_cifar10,
                    n_per_batch=20)
    root = tmp_path / "data"
    s = cifar.cifar10(root, download=True, seed=0)
    assert (root / "cifar10" / "cifar-10-python.tar.gz").exists()
    assert s.x_train.shape == (90, 3, 32, 32) and s.x_val.shape == (10, 3, 32, 32)
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64
    assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0
    np.testing.assert_allclose(s.x_test, expect["x_test"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(s.y_test, expect["y_test"])
    # train and val partition the published training set (every image exactly once)
    ref = (expect["x_train"].reshape(100, -1).astype(np.float32) / 255.0)
    got = np.concatenate([s.x_train, s.x_val]).reshape(100, -1)
    rows = {r.tobytes() for r in ref}
    assert {r.tobytes() for r in got} == rows and len(rows) == 100
    assert s.classes[9] == "truck" and s.num_classes == 10 and s.image_shape == (3, 32, 32)
    other = cifar.cifar10(root, download=False, seed=1)
    assert not np.array_equal(other.y_val, s.y_val) or not np.array_equal(other.x_val,
                                                                           s.x_val)


def test_load_dataset_cifar10_and_cifar100(tmp_path, formats, monkeypatch):
    _serve(monkeypatch, tmp_path, formats, "CIFAR10", formats.write_cifar10, n_per_batch=10)
    expect = _serve(monkeypatch, tmp_path, formats, "CIFAR100", formats.write_cifar100)
    s10 = load_dataset("cifar10", data_dir=str(tmp_path / "data"), seed=2)
    assert len(s10.y_train) + len(s10.y_val) == 50 and len(s10.y_test) == 10
    s100 = load_dataset("cifar100", data_dir=str(tmp_path / "data"))
    assert s100.num_classes == 100 and len(s100.y_train) == 18 and len(s100.y_val) == 2
    np.testing.assert_array_equal(s100.y_test, expect["fine_test"])


def test_read_cifar100_fine_and_coarse_labels(tmp_path, formats):
    expect = formats.write_cifar100(tmp_path / "c100.tar.gz")
    x, y, xt, yt, names = read_cifar100(tmp_path / "c100.tar.gz", "coarse")
    np.testing.assert_array_equal(x, expect["x_train"])
    np.testing.assert_array_equal(y, expect["coarse_train"])
    assert names == expect["coarse_names"]
    _, y, _, yt, names = read_cifar100(tmp_path / "c100.tar.gz", "fine")
    np.testing.assert_array_equal(yt, expect["fine_test"])
    assert len(names) == 100
    with pytest.raises(ValueError, match="label_mode"):
        read_cifar100(tmp_path / "c100.tar.gz", "medium")


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_os_system(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"data": _Exploit(marker)}, protocol=2)
    with pytest.raises(DatasetError, match="refusing to unpickle global (posix|os|nt).system"):
        load_pickle(payload, "evil_batch")
    assert not marker.exists()
    # the same payload really does run code with the standard unpickler
    pickle.loads(payload)
    assert marker.exists()


@pytest.mark.parametrize("module, name", [("builtins", "eval"), ("subprocess", "Popen"),
                                          ("numpy", "load"), ("_codecs", "encode")])
def test_restricted_unpickler_refuses_other_globals(module, name):
    payload = b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n."
    with pytest.raises(DatasetError, match=f"src: refusing to unpickle global {module}.{name}"):
        load_pickle(payload, "src")


def test_restricted_unpickler_refuses_object_arrays_and_garbage():
    # protocol 4 stores bytes natively, so only the numpy globals are named
    payload = pickle.dumps({"data": np.array([1, "x"], dtype=object)}, protocol=4)
    with pytest.raises(DatasetError, match="obj: refusing an array of dtype object"):
        load_pickle(payload, "obj")
    with pytest.raises(DatasetError, match="bad: corrupt pickle"):
        load_pickle(b"\x80\x02}q\x00(", "bad")


def test_a_malicious_member_in_an_archive_is_refused(tmp_path, formats):
    archive = tmp_path / "c10.tar.gz"
    formats.write_cifar10(archive, n_per_batch=2)
    members = {f"cifar-10-batches-py/{n}": formats.py2_pickle({"labels": [0], "data": 0})
               for n in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                         "data_batch_5", "test_batch"]}
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps(_Exploit(tmp_path / "x"), 2)
    formats.tar_gz(archive, members)
    with pytest.raises(DatasetError, match="batches.meta: refusing to unpickle"):
        read_cifar10(archive)
    assert not (tmp_path / "x").exists()


def test_corrupt_archives_and_bad_content_get_clear_errors(tmp_path, formats):
    archive = tmp_path / "c10.tar.gz"
    formats.write_cifar10(archive, n_per_batch=2)
    data = archive.read_bytes()
    (tmp_path / "trunc.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="trunc.tar.gz: corrupt archive"):
        read_cifar10(tmp_path / "trunc.tar.gz")
    formats.tar_gz(tmp_path / "empty.tar.gz", {"other/file": b""})
    with pytest.raises(DatasetError, match="empty.tar.gz: archive has no member "
                                           "'cifar-10-batches-py/data_batch_1'"):
        read_cifar10(tmp_path / "empty.tar.gz")
    members = {f"cifar-10-batches-py/{n}": formats.py2_pickle(
        {"labels": [0, 1], "data": np.zeros((2, 100), np.uint8)})
        for n in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                  "data_batch_5", "test_batch"]}
    members["cifar-10-batches-py/batches.meta"] = formats.py2_pickle(
        {"label_names": [str(i) for i in range(10)]})
    formats.tar_gz(tmp_path / "shape.tar.gz", members)
    with pytest.raises(DatasetError, match="data_batch_1: 'data' must be a uint8 array of "
                                           "shape \\(n, 3072\\), got uint8 array of shape"):
        read_cifar10(tmp_path / "shape.tar.gz")


def test_a_bad_download_checksum_leaves_nothing_in_the_cache(tmp_path, formats, monkeypatch):
    server = tmp_path / "server"
    server.mkdir()
    formats.write_cifar10(server / "cifar-10-python.tar.gz", n_per_batch=2)
    url = (server / "cifar-10-python.tar.gz").as_uri()
    monkeypatch.setattr(cifar, "CIFAR10", Resource("cifar-10-python.tar.gz", (url,),
                                                   "c58f30108f718f92721af3b95e74349a"))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        cifar.cifar10(tmp_path / "data")
    assert os.listdir(tmp_path / "data" / "cifar10") == []


def test_python3_pickles_with_bytes_keys_are_read_like_the_official_ones():
    import pickle

    from fovea.data.cifar import load_pickle

    blob = pickle.dumps({b"label_names": [b"cat"], b"data": np.zeros((1, 3072), np.uint8)})
    meta = load_pickle(blob, "meta")
    assert set(meta) == {"label_names", "data"}
    assert cifar._names(meta, "meta", "label_names") == ["cat"]


def _extract(archive, dest):
    import tarfile

    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")


def _member_md5s(directory):
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def test_an_extracted_cifar10_directory_is_used_rather_than_downloading(tmp_path, formats,
                                                                        monkeypatch):
    expect = formats.write_cifar10(tmp_path / "c10.tar.gz", n_per_batch=10)
    root = tmp_path / "data"
    _extract(tmp_path / "c10.tar.gz", root)  # torchvision leaves root/cifar-10-batches-py/
    monkeypatch.setattr(cifar, "CIFAR10_MEMBER_MD5",
                        _member_md5s(root / "cifar-10-batches-py"))

    def refuse(*a, **k):
        raise AssertionError("a download was attempted")
    monkeypatch.setattr(download, "download_file", refuse)
    s = load_dataset("cifar10", data_dir=str(root), seed=0)
    np.testing.assert_allclose(s.x_test, expect["x_test"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(s.y_test, expect["y_test"])
    assert len(s.y_train) + len(s.y_val) == 50 and s.classes[0] == "airplane"
    # the directory read equals the archive read
    for a, b in zip(read_cifar10(root / "cifar-10-batches-py"),
                    read_cifar10(tmp_path / "c10.tar.gz")):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # ... and in root/cifar10/ too
    nested = tmp_path / "nested"
    _extract(tmp_path / "c10.tar.gz", nested / "cifar10")
    assert cifar.find_cifar(nested, "cifar10", "cifar-10-batches-py", cifar.CIFAR10) == (
        nested / "cifar10" / "cifar-10-batches-py")


def test_an_extracted_directory_is_checked_file_by_file(tmp_path, formats, monkeypatch):
    formats.write_cifar10(tmp_path / "c10.tar.gz", n_per_batch=3)
    _extract(tmp_path / "c10.tar.gz", tmp_path)
    top = tmp_path / "cifar-10-batches-py"
    md5s = _member_md5s(top)
    monkeypatch.setattr(cifar, "CIFAR10_MEMBER_MD5", md5s)
    batch = top / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:-1] + b"!")
    with pytest.raises(DatasetError, match="data_batch_3: checksum mismatch"):
        read_cifar10(top)
    batch.unlink()
    with pytest.raises(DatasetError, match="data_batch_3: missing from the extracted"):
        read_cifar10(top)
    # the published per-file checksums are torchvision's
    assert cifar.CIFAR10_MEMBER_MD5 is md5s
    monkeypatch.undo()
    assert cifar.CIFAR10_MEMBER_MD5["data_batch_1"] == "c99cafc152244af753f735de768cd75f"
    assert cifar.CIFAR100_MEMBER_MD5["train"] == "16019d7e3df5f24257cddd939b257f8d"


def test_an_extracted_cifar100_directory_is_read(tmp_path, formats, monkeypatch):
    expect = formats.write_cifar100(tmp_path / "c100.tar.gz", n_train=12, n_test=4)
    _extract(tmp_path / "c100.tar.gz", tmp_path / "data")
    top = tmp_path / "data" / "cifar-100-python"
    monkeypatch.setattr(cifar, "CIFAR100_MEMBER_MD5", _member_md5s(top))
    s = cifar.cifar100(tmp_path / "data", download=False)
    np.testing.assert_array_equal(s.y_test, expect["fine_test"])


def _shared_reference_pickle(depth: int) -> bytes:
    """A list holding the previous list twice, ``depth`` times: 2**depth paths, depth lists."""
    obj: list = []
    for _ in range(depth):
        obj = [obj, obj]
    return pickle.dumps({"data": obj, "labels": (obj, {"k": obj})}, protocol=2)


def test_the_object_array_check_is_linear_in_the_file_size():
    import signal

    payload = _shared_reference_pickle(64)
    assert len(payload) < 600  # a tiny file ...
    # ... whose naive walk visits 2**64 lists: a regression hangs, so stop it after 10 s
    def timeout(*_):
        raise AssertionError("the object-array check did not finish in 10 s")
    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(10)
    try:
        obj = load_pickle(payload, "shared")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert obj["data"][0] is obj["data"][1]
    # an object array hidden at the bottom of the shared structure is still found
    inner = [np.array([1, "x"], dtype=object)]
    for _ in range(40):
        inner = [inner, inner]
    with pytest.raises(DatasetError, match="deep: refusing an array of dtype object"):
        load_pickle(pickle.dumps({"data": inner}, protocol=4), "deep")


def test_a_self_referencing_pickle_is_read_without_looping():
    loop: list = [1]
    loop.append(loop)
    obj = load_pickle(pickle.dumps({"data": loop}, protocol=2), "loop")
    assert obj["data"][1] is obj["data"]
