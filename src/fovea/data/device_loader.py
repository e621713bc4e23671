"""Batches delivered on a device, the next one copied while the current one computes.

:class:`DeviceLoader` wraps any loader (a :class:`~fovea.data.DataLoader`, a list of
batches) and yields its batches with every Tensor and NumPy array on ``device``::

    loader = DeviceLoader(DataLoader(train_set, batch_size=128, shuffle=True), "cuda")
    for x, y in loader:                 # x, y already on the GPU
        loss = loss_fn(model(x), y)

On the GPU (the ``cuda`` backend) each batch is staged in pinned host memory and uploaded on
a copy stream (:mod:`fovea.backends.cuda.transfer`); batch t + 1 is fetched and its upload
started before batch t is handed out, so loading and copying overlap with the step. On the
CPU the loader's own batches are yielded unchanged (no copy, no extra work); on another
device each array is copied when its batch is fetched.
"""

from __future__ import annotations

import numpy as np

from fovea import backends
from fovea.tensor import Tensor

__all__ = ["DeviceLoader"]


class DeviceLoader:
    """Iterate ``loader`` with its batches on ``device`` (see the module doc).

    Args:
        loader: an iterable of batches: Tensors, NumPy arrays, or lists, tuples and dicts
            of them (other values pass through).
        device: where the batches go (``"cuda"``, ``"cpu"``, a :class:`fovea.device`).

    ``len()`` and attributes (``dataset``, ``batch_size``, ``set_epoch`` ...) are the
    wrapped loader's.
    """

    def __init__(self, loader, device):
        self.loader = loader
        self.device = backends.get(device).device
        self._stager = None

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name):
        if name == "loader":
            raise AttributeError(name)
        return getattr(self.loader, name)

    def __iter__(self):
        backend = backends.get(self.device)
        if backend is backends.CPU:
            yield from self.loader
            return
        upload = self._uploader(backend)
        it = iter(self.loader)
        try:
            ahead = _map(next(it), upload)
        except StopIteration:
            return
        for batch in it:
            current, ahead = ahead, _map(batch, upload)  # start the next copy first
            yield current
        yield ahead

    def _uploader(self, backend):
        """array, slot -> the array on ``backend``'s device."""
        if backend.name == "cuda" and hasattr(getattr(backend.xp, "cuda", None), "Stream"):
            if self._stager is None:
                import cupyx

                from fovea.backends.cuda.transfer import PinnedStager

                self._stager = PinnedStager(backend.xp, cupyx)
            return self._stager.upload
        return lambda a, slot: backend.xp.array(_host(a), copy=True)


def _host(a):
    return backends.for_array(a).to_host(a)


def _map(batch, upload):
    """``batch`` with every CPU Tensor and NumPy array uploaded (numbered in order: each
    number is a slot of pinned buffers)."""
    counter = [0]

    def one(v):
        if isinstance(v, Tensor):
            s = counter[0]
            counter[0] += 1
            if v.device.type != "cpu":
                return v
            return Tensor._make(upload(_host(v._data), s), None)
        if isinstance(v, np.ndarray):
            s = counter[0]
            counter[0] += 1
            return Tensor._make(upload(v, s), None)
        if isinstance(v, list | tuple):
            return type(v)(one(x) for x in v)
        if isinstance(v, dict):
            return {k: one(x) for k, x in v.items()}
        return v

    return one(batch)
