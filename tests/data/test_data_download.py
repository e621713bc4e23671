"""Downloads: file:// URLs, MD5 verification, atomic writes, mirrors, the cache."""

import io
import os

import pytest

from fovea.data import download as dl
from fovea.data.download import DatasetError, Resource, download_file, ensure_file


def _source(tmp_path, data=b"hello fovea" * 1000):
    src = tmp_path / "server" / "file.bin"
    src.parent.mkdir()
    src.write_bytes(data)
    return src


def test_download_from_a_file_url_verifies_the_md5(tmp_path, formats):
    src = _source(tmp_path)
    dest = tmp_path / "cache" / "file.bin"
    download_file(src.as_uri(), dest, formats.md5(src))
    assert dest.read_bytes() == src.read_bytes()
    assert os.listdir(dest.parent) == ["file.bin"]


def test_a_bad_checksum_is_rejected_and_leaves_no_file(tmp_path):
    src = _source(tmp_path)
    dest = tmp_path / "cache" / "file.bin"
    with pytest.raises(DatasetError, match="checksum mismatch for file.bin.*expected MD5 0+"):
        download_file(src.as_uri(), dest, "0" * 32)
    assert os.listdir(dest.parent) == []


def test_a_connection_dropped_mid_download_leaves_no_file(tmp_path, monkeypatch):
    class Broken(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise ConnectionResetError("connection reset by peer")
            return super().read(4)

    monkeypatch.setattr(dl, "_fetch", lambda url, timeout=60.0: Broken(b"0123456789"))
    dest = tmp_path / "cache" / "file.bin"
    with pytest.raises(ConnectionResetError):
        download_file("https://example.invalid/file.bin", dest, None)
    assert os.listdir(dest.parent) == []


def test_ensure_file_downloads_once_then_uses_the_cache(tmp_path, formats, monkeypatch):
    src = _source(tmp_path)
    res = Resource("file.bin", (src.as_uri(),), formats.md5(src))
    cache = tmp_path / "cache"
    path = ensure_file(res, cache, download=True)
    assert path == cache / "file.bin"
    monkeypatch.setattr(dl, "_fetch", lambda *a, **k: pytest.fail("fetched again"))
    assert ensure_file(res, cache, download=False) == path


def test_ensure_file_tries_mirrors_in_order(tmp_path, formats):
    src = _source(tmp_path)
    res = Resource("file.bin", ((tmp_path / "missing.bin").as_uri(), src.as_uri()),
                   formats.md5(src))
    assert ensure_file(res, tmp_path / "cache", True).read_bytes() == src.read_bytes()


def test_ensure_file_reports_every_failed_url(tmp_path):
    src = _source(tmp_path)
    res = Resource("file.bin", ((tmp_path / "missing.bin").as_uri(), src.as_uri()), "1" * 32)
    with pytest.raises(DatasetError, match="could not download file.bin.*missing.bin.*"
                                           "checksum mismatch"):
        ensure_file(res, tmp_path / "cache", True)
    assert os.listdir(tmp_path / "cache") == []


def test_missing_file_without_download_is_a_clear_error(tmp_path):
    res = Resource("file.bin", ("https://example.invalid/file.bin",), "0" * 32)
    with pytest.raises(DatasetError, match="file.bin: file not found; pass download=True"):
        ensure_file(res, tmp_path, download=False)


def test_a_corrupt_cached_file_is_reported(tmp_path, formats):
    src = _source(tmp_path)
    res = Resource("file.bin", (src.as_uri(),), formats.md5(src))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "file.bin").write_bytes(b"truncated")
    with pytest.raises(DatasetError, match="file.bin: corrupt file"):
        ensure_file(res, tmp_path / "cache", download=True)


def test_default_data_dir_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FOVEA_DATA_DIR", str(tmp_path))
    assert dl.default_data_dir() == tmp_path
    assert dl.resolve_root(None, "mnist") == tmp_path / "mnist"
