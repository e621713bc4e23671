"""``fovea.save`` and ``fovea.load``: tensors, state dicts and nested containers on disk.

``save`` writes fovea's format, a safetensors file whose metadata holds the object's structure
as JSON (:mod:`fovea.serialization.native`): loading it runs no code from the file. ``load``
reads that format, plain safetensors files (a dict of tensors), and PyTorch's ``torch.save``
zip files through a restricted unpickler (:mod:`fovea.serialization.torch_reader`), so weights
trained in PyTorch load into fovea models. See docs/serialization.md.
"""

from __future__ import annotations

import os
import tempfile

from fovea.serialization import _location, native, torch_reader
from fovea.serialization.errors import SerializationError, UnsafeLoadError

__all__ = ["save", "load"]


def save(obj, f) -> None:
    """Save ``obj`` to ``f`` in fovea's format (safetensors arrays + a JSON structure).

    Args:
        obj: a Tensor, a NumPy array, a plain value (None, bool, int, float, str), a
            ``fovea.device``, or dicts / OrderedDicts / lists / tuples of these, nested
            (``model.state_dict()``, ``optimizer.state_dict()``, a checkpoint dict).
        f: a path (``str`` or ``os.PathLike``), written atomically: to a temporary file in
            the same folder, then renamed over ``f``; or a binary file object with ``write``.

    Raises:
        SerializationError: ``obj`` holds something else (the message names where), or
            contains itself.
    """
    data = native.dumps(obj)
    if isinstance(f, (str, os.PathLike)):
        _write_atomic(os.fspath(f), data)
    elif hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(f"fovea.save: f must be a path or a binary file object, got "
                        f"{type(f).__name__}")


def load(f, map_location=None, weights_only: bool = True):
    """Load an object saved by :func:`save`, a safetensors file or a ``torch.save`` file.

    Args:
        f: a path or a binary file object with ``read``.
        map_location: where tensors go, as in ``torch.load``: None (where they were saved),
            ``"cpu"`` or a ``fovea.device``, a dict from saved to new locations
            (``{"cuda:0": "cpu"}``), or ``fn(storage, location)`` returning a tensor or None.
        weights_only: accepted for PyTorch compatibility; fovea always loads weights only
            (tensors, containers and plain values) and never runs code from a file, whatever
            its value.

    Returns:
        The saved object; tensors are fovea Tensors (``nn.Parameter`` where one was saved).

    Raises:
        UnsafeLoadError: a PyTorch file asks for any other Python global (nothing runs).
        SerializationError: the file is truncated, corrupt, or of a format fovea does not
            read (PyTorch's legacy pre-1.6 format, TorchScript archives).
        FileNotFoundError: no such path.
    """
    _location.check(map_location)
    if not isinstance(weights_only, bool):
        raise TypeError(f"fovea.load: weights_only must be True or False, got {weights_only!r}")
    if isinstance(f, (str, os.PathLike)):
        where = os.path.basename(os.fspath(f)) or os.fspath(f)
        with open(f, "rb") as fh:
            data = fh.read()
    elif hasattr(f, "read"):
        where = os.path.basename(str(getattr(f, "name", ""))) or "the file object"
        try:
            data = f.read()
        except UnicodeDecodeError:  # a text-mode file
            data = ""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("fovea.load: f must be opened in binary mode ('rb')")
        data = bytes(data)
    else:
        raise TypeError(f"fovea.load: f must be a path or a binary file object, got "
                        f"{type(f).__name__}")
    if not data:
        raise SerializationError(f"fovea.load: {where} is empty")
    if torch_reader.is_zip(data):
        return torch_reader.load(data, map_location, where)
    if native.looks_like(data):
        return native.loads(data, map_location, where)
    if torch_reader.is_legacy_pickle(data):
        raise SerializationError(f"fovea.load: {where} is in PyTorch's legacy (pre-1.6) pickle "
                                 "format, which fovea does not read; re-save it in PyTorch with "
                                 "torch.save(obj, path) (the zip format, the default since 1.6)")
    raise SerializationError(f"fovea.load: {where} is neither a fovea/safetensors file nor a "
                             "PyTorch zip file (truncated or corrupt?)")


def _write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, then rename it over ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fovea-save-", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, _new_file_mode(path))  # mkstemp's 0o600 would hide the file from others
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _new_file_mode(path: str) -> int:
    """The mode a plain ``open(path, "wb")`` would give: the old file's, or 0o666 - umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
