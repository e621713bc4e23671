"""Reading files that ``torch.save`` writes, without PyTorch and without running their code.

A PyTorch file (``torch.save`` since 1.6) is a zip archive with one folder holding
``data.pkl`` (the object, pickled), ``data/<key>`` (the raw bytes of each storage),
``byteorder`` and ``version``. The pickle names Python globals to call; this reader is a
restricted unpickler that knows only the few PyTorch uses for weights, and refuses every
other one before anything runs:

* ``torch._utils._rebuild_tensor_v2`` / ``_rebuild_tensor``: a tensor as a strided view of a
  storage (size, stride, offset), built here as a NumPy view of that storage, so tensors
  that share a storage share memory as in PyTorch;
* ``torch._utils._rebuild_parameter`` (``_with_state``): an ``nn.Parameter``;
* ``torch.FloatStorage``, ``DoubleStorage``, ``HalfStorage``, ``BFloat16Storage`` (loaded as
  float32: NumPy has no bfloat16), ``LongStorage``, ``IntStorage``, ``ShortStorage``,
  ``CharStorage``, ``ByteStorage``, ``BoolStorage``: storage types, met through the pickle's
  persistent ids ``('storage', type, key, location, numel)``;
* ``collections.OrderedDict`` and ``torch.Size`` (read as a tuple); plain values (None, bool,
  int, float, str, bytes, lists, tuples, dicts) need no global.

Every storage is read once (the pickle's memo shares repeated objects), so the work is linear
in the file's size.
"""

from __future__ import annotations

import io
import numbers
import pickle
import zipfile
from collections import OrderedDict

import numpy as np

from fovea.nn.parameter import Parameter
from fovea.serialization import _location
from fovea.serialization.errors import SerializationError, UnsafeLoadError
from fovea.tensor import Tensor

BFLOAT16 = "bfloat16"  # a storage NumPy cannot hold: widened to float32
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": BFLOAT16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
ZIP_MAGIC = b"PK\x03\x04"


def is_zip(data: bytes) -> bool:
    return data[:4] == ZIP_MAGIC


def is_legacy_pickle(data: bytes) -> bool:
    """A pickle stream (``torch.save(..., _use_new_zipfile_serialization=False)``)."""
    return data[:1] == b"\x80" and len(data) > 1 and data[1] <= 5


class _StorageType:
    """What ``torch.FloatStorage`` and friends are while unpickling: a name and a dtype."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]
        self.itemsize = 2 if self.dtype is BFLOAT16 else np.dtype(self.dtype).itemsize

    def __call__(self, *args):
        raise pickle.UnpicklingError(f"torch.{self.name} may only appear in a persistent id")


class _Passthrough(Exception):  # noqa: N818 - a carrier, never seen by users
    """Carries an error of ``map_location`` out of the unpickler unchanged."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


class _Storage:
    """One storage: its values as a 1-d NumPy array, and the backend its tensors go to."""

    __slots__ = ("array", "backend")

    def __init__(self, array: np.ndarray, backend):
        self.array = array
        self.backend = backend


class _Unpickler(pickle.Unpickler):
    def __init__(self, archive: zipfile.ZipFile, prefix: str, map_location, where: str,
                 byteorder: str):
        self._archive = archive
        self._prefix = prefix
        self._map_location = map_location
        self._where = where
        self._byteorder = byteorder
        self._storages: dict[str, _Storage] = {}
        super().__init__(io.BytesIO(archive.read(prefix + "data.pkl")))

    # Only these globals exist for the pickle; anything else is refused unrun.
    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils":
            found = {"_rebuild_tensor_v2": self._rebuild_tensor_v2,
                     "_rebuild_tensor": self._rebuild_tensor,
                     "_rebuild_parameter": _rebuild_parameter,
                     "_rebuild_parameter_with_state": _rebuild_parameter_with_state}.get(name)
            if found is not None:
                return found
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch" and name == "Size":
            return _size
        module = "builtins" if module == "__builtin__" else module  # protocol-2 spelling
        raise UnsafeLoadError(f"fovea.load: refusing to load '{module}.{name}' from "
                              f"{self._where}: only tensors, storages, dicts and plain values "
                              "are allowed")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
                and isinstance(pid[3], str) and _is_int(pid[4]) and pid[4] >= 0):
            raise SerializationError(f"fovea.load: {self._where} is corrupt: unexpected "
                                     f"persistent id {pid!r:.80}")
        _, kind, key, location, numel = pid
        if key not in self._storages:
            self._storages[key] = self._read_storage(kind, key, location, numel)
        return self._storages[key]

    def _read_storage(self, kind: _StorageType, key: str, location: str, numel: int):
        name = f"{self._prefix}data/{key}"
        try:
            info = self._archive.getinfo(name)
        except KeyError:
            raise SerializationError(f"fovea.load: {self._where} is corrupt: storage {key!r} "
                                     "is missing from the archive") from None
        nbytes = numel * kind.itemsize
        if info.file_size != nbytes:  # checked before reading: no surprise decompression
            raise SerializationError(f"fovea.load: {self._where} is corrupt: storage {key!r} "
                                     f"has {info.file_size} bytes, expected {nbytes}")
        raw = bytearray(self._archive.read(name))
        order = "<" if self._byteorder == "little" else ">"
        if kind.dtype is BFLOAT16:  # the top half of a float32
            bits = np.frombuffer(raw, dtype=order + "u2").astype(np.uint32) << 16
            host = bits.view(np.float32)
        else:
            host = np.frombuffer(raw, dtype=np.dtype(kind.dtype).newbyteorder(order))
            if not host.dtype.isnative:
                host = host.astype(host.dtype.newbyteorder("="))
        try:
            host, backend = _location.place(host, location, self._map_location, self._where)
        except Exception as e:  # noqa: BLE001 - the user's map_location: re-raised unchanged
            raise _Passthrough(e) from None
        return _Storage(host, backend)

    def _rebuild_tensor(self, storage, storage_offset, size, stride):
        if not isinstance(storage, _Storage):
            raise SerializationError(f"fovea.load: {self._where} is corrupt: a tensor is built "
                                     f"from {type(storage).__name__}, not a storage")
        size, stride = _ints(size, "size", self._where), _ints(stride, "stride", self._where)
        if len(size) != len(stride) or not _is_int(storage_offset) or storage_offset < 0:
            raise SerializationError(f"fovea.load: {self._where} is corrupt: bad tensor "
                                     f"geometry (size {size}, stride {stride}, offset "
                                     f"{storage_offset!r})")
        arr = storage.array
        if 0 not in size:  # the last element must lie inside the storage
            last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= arr.shape[0]:
                raise SerializationError(
                    f"fovea.load: {self._where} is corrupt: a tensor of size {size} and stride "
                    f"{stride} at offset {storage_offset} reaches past its storage of "
                    f"{arr.shape[0]} elements")
        return Tensor._make(_strided_view(storage, storage_offset, size, stride), None)

    def _rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad,
                           backward_hooks, metadata=None):
        t = self._rebuild_tensor(storage, storage_offset, size, stride)
        if requires_grad and t.dtype.kind == "f":
            t.requires_grad_(True)
        return t


def _strided_view(storage: _Storage, offset: int, size: tuple, stride: tuple):
    """The tensor's elements: a view of the storage on the CPU (tensors of one storage share
    memory, as in PyTorch), a copy on another device."""
    arr = storage.array
    if 0 in size:
        view = np.zeros(size, dtype=arr.dtype)
    else:
        view = np.lib.stride_tricks.as_strided(
            arr[offset:], shape=size, strides=tuple(s * arr.dtype.itemsize for s in stride))
    xp = storage.backend.xp
    return view if xp is np else xp.asarray(np.array(view, order="C"))


def _rebuild_parameter(data, requires_grad, backward_hooks):
    if not isinstance(data, Tensor):
        raise SerializationError("fovea.load: a parameter is built from "
                                 f"{type(data).__name__}, not a tensor")
    return Parameter(data, requires_grad=bool(requires_grad) and data.dtype.kind == "f")


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _size(dims=()):
    return tuple(_ints(dims, "size", "the file"))


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _ints(values, what: str, where: str) -> tuple:
    if not isinstance(values, (tuple, list)) or not all(_is_int(v) and v >= 0 for v in values):
        raise SerializationError(f"fovea.load: {where} is corrupt: a tensor {what} is "
                                 f"{values!r:.60}, not a tuple of non-negative integers")
    return tuple(int(v) for v in values)


def load(data: bytes, map_location, where: str):
    """The object in the bytes of a ``torch.save`` zip file."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise SerializationError(f"fovea.load: {where} is not a readable zip archive "
                                 f"(truncated or corrupt: {e})") from None
    if not names:
        raise SerializationError(f"fovea.load: {where} is an empty zip archive")
    prefix = names[0].split("/", 1)[0] + "/"
    if prefix + "constants.pkl" in names or any(n.startswith(prefix + "code/") for n in names):
        raise SerializationError(f"fovea.load: {where} is a TorchScript archive "
                                 "(torch.jit.save); fovea reads torch.save files: save the "
                                 "model's state_dict() with torch.save instead")
    if prefix + "data.pkl" not in names:
        raise SerializationError(f"fovea.load: {where} is a zip archive but not a PyTorch "
                                 f"file: it has no {prefix}data.pkl")
    byteorder = "little"
    if prefix + "byteorder" in names:
        byteorder = archive.read(prefix + "byteorder").decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise SerializationError(f"fovea.load: {where} is corrupt: byteorder record "
                                     f"{byteorder!r:.20}")
    try:
        return _Unpickler(archive, prefix, map_location, where, byteorder).load()
    except _Passthrough as p:
        raise p.error from None
    except SerializationError:
        raise
    except RecursionError:
        raise SerializationError(f"fovea.load: {where} is nested too deeply to load") from None
    except Exception as e:  # noqa: BLE001 - a malformed pickle raises anything; say it in one line
        msg = str(e).splitlines()[0] if str(e) else ""
        raise SerializationError(f"fovea.load: {where} is corrupt ({type(e).__name__}"
                                 f"{': ' + msg if msg else ''})") from None
