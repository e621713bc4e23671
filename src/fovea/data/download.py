"""Downloading data set files: a cache directory, MD5 verification, atomic writes.

A file is fetched into a temporary file in the cache directory while its MD5 is computed;
only a file whose checksum matches the published one is renamed to its final name
(``os.replace``), so an interrupted or corrupted download never leaves a file that looks
complete. Any ``urllib`` URL works, ``file://`` included (the tests use it).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


class DatasetError(ValueError):
    """A data set file is missing, corrupt, fails its checksum or holds unexpected content.

    The message names the file and the problem.
    """


@dataclass(frozen=True)
class Resource:
    """One published file: its name in the cache, where to get it and its MD5.

    Attributes:
        filename: the file's name inside the cache directory.
        urls: full URLs to try in order (official site first, then mirrors).
        md5: the published MD5 hex digest.
        raw_md5: for a ``.gz`` file, the published MD5 of its decompressed content, or None.
            Repackaged copies (Debian's ``dataset-fashion-mnist`` rewrites gzip headers for
            reproducible builds) hold the same data under a different file MD5.
    """

    filename: str
    urls: tuple[str, ...]
    md5: str
    raw_md5: str | None = None


def default_data_dir() -> Path:
    """The cache directory: ``$FOVEA_DATA_DIR`` or ``~/.cache/fovea/datasets``."""
    env = os.environ.get("FOVEA_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "fovea" / "datasets"


def resolve_root(root: str | os.PathLike | None, subdir: str) -> Path:
    """``root / subdir`` where ``root`` defaults to :func:`default_data_dir`."""
    base = default_data_dir() if root is None else Path(root).expanduser()
    return base / subdir


def file_md5(path: str | os.PathLike) -> str:
    """The MD5 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, timeout: float = 60.0):
    """Open ``url`` for reading (a binary file-like object). Tests may monkeypatch this."""
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - URLs are ours


def download_file(url: str, dest: str | os.PathLike, md5: str | None) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying the MD5 when given.

    The bytes go to a temporary file next to ``dest``; on a checksum mismatch or any error
    the temporary file is removed and nothing appears at ``dest``.

    Raises:
        DatasetError: the checksum does not match (names the URL, expected and actual MD5).
        OSError: the URL cannot be fetched (``urllib.error.URLError`` is an ``OSError``).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out, _fetch(url) as src:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        got = digest.hexdigest()
        if md5 is not None and got != md5.lower():
            raise DatasetError(f"download of {url}: checksum mismatch for {dest.name} "
                               f"(expected MD5 {md5}, got {got}); the file was not saved")
        os.replace(tmp_name, dest)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return dest


def ensure_file(resource: Resource, directory: str | os.PathLike, download: bool) -> Path:
    """The path of ``resource`` in ``directory``, downloading and verifying it if needed.

    An existing file is checked against the MD5 too, so a corrupt cache is reported rather
    than parsed.

    Raises:
        DatasetError: the file is missing and ``download`` is False, a cached file has the
            wrong checksum, or every URL failed (the message lists each failure).
    """
    path = Path(directory) / resource.filename
    if path.exists():
        got = file_md5(path)
        if got != resource.md5.lower():
            raise DatasetError(f"{path}: corrupt file (MD5 {got}, expected {resource.md5}); "
                               f"delete it to download it again")
        return path
    if not download:
        raise DatasetError(f"{path}: file not found; pass download=True to fetch it from "
                           f"{resource.urls[0]}")
    failures = []
    for url in _as_tuple(resource.urls):
        try:
            return download_file(url, path, resource.md5)
        except (OSError, DatasetError) as exc:
            failures.append(f"{url}: {exc}")
    raise DatasetError(f"{path}: could not download {resource.filename}; tried "
                       + "; ".join(failures))


def _as_tuple(urls: str | Sequence[str]) -> tuple[str, ...]:
    return (urls,) if isinstance(urls, str) else tuple(urls)
