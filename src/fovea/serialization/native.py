"""fovea's own file format: a safetensors file whose metadata holds the object's structure.

The file is a standard safetensors file (any safetensors reader opens it): the arrays are
its tensors, named ``"0"``, ``"1"``, ... in the order they were met, and its ``__metadata__``
holds three strings: ``"format": "fovea"``, ``"fovea.version": "1"`` and
``"fovea.structure"``, the object as JSON in which every node is one of

====================================  ==========================================
JSON node                             Python value
====================================  ==========================================
``null``, ``true``, ``"text"``, ``3``  None, bool, str, int (any size)
``2.5``                               a finite float
``{"$float": "nan"}``                 ``nan``, ``"inf"``, ``"-inf"``
``[n1, n2]``                          a list
``{"$tuple": [n1, n2]}``              a tuple
``{"$dict": [[k, v], ...]}``          a dict (keys are nodes too: ints stay ints);
                                      ``"ordered": true`` for an OrderedDict
``{"$tensor": "0", ...}``             a fovea Tensor holding array ``"0"``, with
                                      ``"device"``, ``"requires_grad"`` and
                                      ``"parameter"`` (an ``nn.Parameter``)
``{"$ndarray": "1"}``                 a NumPy array (``"scalar": true``: a NumPy scalar)
``{"$device": "cpu"}``                a :class:`fovea.device`
``{"$ref": 4}``                       the 5th container or tensor met so far (pre-order):
                                      the same object again, not a copy
====================================  ==========================================

Loading parses JSON and reads arrays, nothing else: no code from the file runs. An object met
twice is written once and loaded as one object (and a reference costs a few bytes, so the
file stays linear in the object's size). Two tensors sharing one array (a ``state_dict()``
taken twice) load sharing one array; other views of shared memory load as separate copies.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict

import numpy as np

from fovea import backends
from fovea.nn.parameter import Parameter
from fovea.serialization import _location
from fovea.serialization.errors import SerializationError
from fovea.tensor import Tensor

FORMAT = "fovea"
VERSION = "1"


# --- writing ------------------------------------------------------------------------------
class _Writer:
    """Turns an object into (JSON-able nodes, named host arrays), depth first."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._array_keys: dict[int, str] = {}   # id(backend array) -> its name
        self._seen: dict[int, int] = {}         # id(container or tensor) -> pre-order index
        self._active: set[int] = set()          # containers being written (cycle check)
        self._keep: list = []                   # keeps ids unique while writing

    def node(self, obj, path: str):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            if math.isfinite(obj):
                return float(obj)
            return {"$float": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, np.generic):
            return {"$ndarray": self._array(np.asarray(obj)), "scalar": True}
        if isinstance(obj, backends.device):
            return {"$device": str(obj)}
        if not isinstance(obj, (list, tuple, dict, Tensor, np.ndarray)):
            raise SerializationError(
                f"fovea.save: can't save {type(obj).__module__}.{type(obj).__qualname__} at "
                f"{path}: only tensors, NumPy arrays, dicts, lists, tuples and plain values "
                "(int, float, str, bool, None) can be saved")
        key = id(obj)
        if key in self._active:
            raise SerializationError(f"fovea.save: {path} contains itself (a cycle); only "
                                     "tree-like (or shared, acyclic) structures can be saved")
        if key in self._seen:
            return {"$ref": self._seen[key]}
        self._seen[key] = len(self._seen)
        self._keep.append(obj)
        if isinstance(obj, Tensor):
            return {"$tensor": self._array(obj._data), "device": str(obj.device),
                    "requires_grad": bool(obj.requires_grad),
                    "parameter": isinstance(obj, Parameter)}
        if isinstance(obj, np.ndarray):
            return {"$ndarray": self._array(obj)}
        self._active.add(key)
        try:
            if isinstance(obj, dict):
                items = [[self.node(k, f"{path} (a key)"), self.node(v, f"{path}[{k!r}]")]
                         for k, v in obj.items()]
                out = {"$dict": items}
                if isinstance(obj, OrderedDict):
                    out["ordered"] = True
            elif isinstance(obj, tuple):
                out = {"$tuple": [self.node(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
            else:
                out = [self.node(v, f"{path}[{i}]") for i, v in enumerate(obj)]
        finally:
            self._active.discard(key)
        return out

    def _array(self, arr) -> str:
        """The name of backend array ``arr`` (one name per array object)."""
        if id(arr) in self._array_keys:
            return self._array_keys[id(arr)]
        name = str(len(self.arrays))
        host = np.asarray(backends.for_array(arr).to_host(arr))
        if not host.flags.c_contiguous:  # (np.ascontiguousarray would make 0-d arrays 1-d)
            host = host.copy(order="C")
        self.arrays[name] = host
        self._array_keys[id(arr)] = name
        self._keep.append(arr)
        return name


def dumps(obj) -> bytes:
    """The bytes of a fovea file holding ``obj``."""
    from safetensors.numpy import save

    writer = _Writer()
    try:
        structure = writer.node(obj, "the object")
    except RecursionError:
        raise SerializationError("fovea.save: the object is nested too deeply to save") from None
    meta = {"format": FORMAT, "fovea.version": VERSION,
            "fovea.structure": json.dumps(structure, separators=(",", ":"))}
    return save(writer.arrays, metadata=meta)


# --- reading ------------------------------------------------------------------------------
def header(data: bytes, where: str) -> dict:
    """The JSON header of safetensors bytes (a SerializationError if it is not one)."""
    if len(data) < 8:
        raise SerializationError(f"fovea.load: {where} is truncated ({len(data)} bytes)")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise SerializationError(f"fovea.load: {where} is truncated or corrupt: its header "
                                 f"claims {n} bytes but the file has {len(data) - 8} after it")
    try:
        head = json.loads(data[8:8 + n])
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SerializationError(f"fovea.load: {where} is corrupt: its safetensors header is "
                                 "not valid JSON") from None
    if not isinstance(head, dict):
        raise SerializationError(f"fovea.load: {where} is corrupt: its header is not an object")
    return head


def looks_like(data: bytes) -> bool:
    """Whether ``data`` starts like a safetensors file (a length, then ``{``)."""
    return len(data) >= 9 and data[8:9] == b"{" and \
        int.from_bytes(data[:8], "little") <= len(data) - 8


def loads(data: bytes, map_location, where: str):
    """The object in fovea file bytes (or a plain safetensors file: a dict of tensors)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    head = header(data, where)
    meta = head.get("__metadata__") or {}
    try:
        arrays = load(data)
    except (SafetensorError, ValueError, TypeError) as e:
        raise SerializationError(f"fovea.load: {where} is corrupt: "
                                 f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
                                 ) from None
    if meta.get("format") != FORMAT or "fovea.structure" not in meta:
        names = [k for k in head if k != "__metadata__"]  # the file's order
        return {k: Tensor._make(_place(arrays[k], "cpu", map_location, where), None)
                for k in sorted(names, key=lambda k: head[k]["data_offsets"][0])}
    if meta.get("fovea.version") != VERSION:
        raise SerializationError(f"fovea.load: {where} has fovea format version "
                                 f"{meta.get('fovea.version')!r}; this fovea reads {VERSION!r}")
    try:
        structure = json.loads(meta["fovea.structure"])
        return _Reader(arrays, map_location, where).node(structure)
    except RecursionError:
        raise SerializationError(f"fovea.load: {where} is nested too deeply to load") from None
    except (KeyError, IndexError, TypeError, ValueError) as e:
        if isinstance(e, SerializationError):
            raise
        raise SerializationError(f"fovea.load: {where} is corrupt: its structure is invalid "
                                 f"({type(e).__name__}: {e})") from None


def _place(host: np.ndarray, location: str, map_location, where: str):
    host, backend = _location.place(host, location, map_location, where)
    if backend.xp is np:
        return np.array(host, copy=True) if not host.flags.writeable else host
    return backend.xp.asarray(host)


class _Reader:
    def __init__(self, arrays: dict, map_location, where: str):
        self.arrays = arrays
        self.map_location = map_location
        self.where = where
        self.objects: list = []   # containers and tensors in pre-order, for "$ref"
        self._placed: dict[tuple, object] = {}

    def node(self, n):
        if n is None or isinstance(n, (bool, str, int, float)):
            return n
        if isinstance(n, list):
            out: list = []
            self.objects.append(out)
            out.extend(self.node(v) for v in n)
            return out
        if not isinstance(n, dict) or len(n) == 0:
            raise ValueError(f"unexpected node {n!r:.60}")
        tag = next(iter(n))
        if tag == "$float":
            return float(n["$float"])
        if tag == "$device":
            return backends.device(n["$device"])
        if tag == "$ref":
            return self.objects[n["$ref"]]
        if tag == "$ndarray" and n.get("scalar"):
            return np.array(self.arrays[n["$ndarray"]], copy=True)[()]
        slot = len(self.objects)
        self.objects.append(None)  # filled once built (no cycles: refs point back only)
        if tag == "$tensor":
            out = self._tensor(n)
        elif tag == "$ndarray":
            out = np.array(self.arrays[n["$ndarray"]], copy=True)
        elif tag == "$tuple":
            out = tuple(self.node(v) for v in n["$tuple"])
        elif tag == "$dict":
            out = OrderedDict() if n.get("ordered") else {}
            for k, v in n["$dict"]:
                out[self.node(k)] = self.node(v)
        else:
            raise ValueError(f"unknown tag {tag!r}")
        self.objects[slot] = out
        return out

    def _tensor(self, n: dict) -> Tensor:
        key, location = n["$tensor"], n.get("device", "cpu")
        if (key, location) not in self._placed:  # one array per saved array
            self._placed[key, location] = _place(self.arrays[key], location,
                                                 self.map_location, self.where)
        arr = self._placed[key, location]
        if n.get("parameter"):
            return Parameter(Tensor._make(arr, None), requires_grad=bool(n["requires_grad"]))
        t = Tensor._make(arr, None)
        if n.get("requires_grad"):
            t.requires_grad_(True)
        return t
