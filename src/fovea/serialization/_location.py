"""``map_location``: where loaded tensors go, as in ``torch.load``.

Every tensor in a file records the device it was saved from (``"cpu"``, ``"cuda:0"``).
``map_location`` changes that: ``None`` keeps it, a string or :class:`fovea.device` sends
everything there, a dict maps saved locations to new ones (others stay), and a callable
``fn(storage, location)`` receives each storage as a 1-d CPU tensor with its saved location
and returns a tensor (its device and values are used) or None (keep the location). The target
device's array module comes from the backends registry, so any registered device works.
"""

from __future__ import annotations

import numpy as np

from fovea import backends
from fovea.serialization.errors import SerializationError
from fovea.tensor import Tensor


def check(map_location) -> None:
    """Refuse a ``map_location`` of a type ``torch.load`` does not take."""
    ok = (map_location is None or isinstance(map_location, (str, backends.device, dict))
          or callable(map_location))
    if not ok:
        raise TypeError("fovea.load: map_location must be None, a string, a fovea.device, a dict "
                        f"or a callable, got {type(map_location).__name__}")


def target(map_location, location: str) -> str:
    """The device a tensor saved on ``location`` goes to (callables excluded)."""
    if map_location is None:
        dev = location
    elif isinstance(map_location, (str, backends.device)):
        dev = map_location
    elif isinstance(map_location, dict):
        table = {str(k): v for k, v in map_location.items()}
        dev = table.get(location, location)
    else:
        raise TypeError("target: callables are handled by place()")
    return str(dev)


def backend_for(dev: str, where: str) -> backends.Backend:
    try:
        return backends.get(dev)
    except (RuntimeError, ValueError, TypeError):
        names = ", ".join(b.name for b in backends.registered())
        raise SerializationError(
            f"fovea.load: {where} holds tensors saved on {dev!r}, but no backend for that device "
            f"is registered (registered: {names}); pass map_location='cpu' to load them on the "
            "CPU") from None


def place(host: np.ndarray, location: str, map_location, where: str):
    """Where a storage saved on ``location`` goes: ``(values, backend)``, the storage's values
    as a NumPy array (a callable may replace them) and the backend of the target device."""
    if callable(map_location) and not isinstance(map_location, (str, dict, backends.device)):
        moved = map_location(Tensor._make(host, None), location)
        if moved is None:
            return host, backend_for(location, where)
        arr = moved._data if isinstance(moved, Tensor) else moved
        if not backends.is_array(arr):
            raise SerializationError(f"fovea.load: map_location returned "
                                     f"{type(moved).__name__} for a storage; it must return a "
                                     "fovea Tensor or None")
        b = backends.for_array(arr)
        return np.asarray(b.to_host(arr)).reshape(host.shape), b
    return host, backend_for(target(map_location, location), where)
