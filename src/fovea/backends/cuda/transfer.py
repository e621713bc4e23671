"""Host-to-GPU copies that overlap with computation: pinned staging buffers and a copy
stream.

A copy from ordinary (pageable) host memory makes the driver stage it through a pinned
buffer of its own and blocks the host. :class:`PinnedStager` keeps its own page-locked
buffers (``cupyx.empty_pinned``), copies each host array into one, and starts the upload
on a separate CUDA stream; the compute stream is told to wait for that copy
(``wait_event``, a dependency on the GPU: the host does not wait). The next batch's upload
thus runs while the current batch's kernels compute.

A pinned buffer is reused only after the copy that last read it has finished (its event);
``depth`` buffers per array slot (default 2: the batch in use and the one in flight) make
that wait almost always already satisfied.

Interface::

    stager = PinnedStager(cupy, cupyx)
    dev = stager.upload(host_array, slot)   # a cupy array; usable by kernels queued after
"""

from __future__ import annotations

import numpy as np


class PinnedStager:
    """Uploads through pinned buffers on a copy stream (one ring of buffers per ``slot``:
    the position of the array in the batch, e.g. 0 for images and 1 for labels)."""

    def __init__(self, cp, cupyx, depth: int = 2):
        self.cp, self.cupyx, self.depth = cp, cupyx, depth
        self.stream = cp.cuda.Stream(non_blocking=True)
        self._rings: dict = {}  # slot -> [next index, [(buffer, event or None), ...]]

    def _buffer(self, slot, shape, dtype):
        ring = self._rings.setdefault(slot, [0, [None] * self.depth])
        i = ring[0]
        ring[0] = (i + 1) % self.depth
        held = ring[1][i]
        if held is not None:
            buf, event = held
            if event is not None:
                event.synchronize()  # the copy that last read this buffer is done
            if buf.shape == shape and buf.dtype == dtype:
                return ring, i, buf
        buf = self.cupyx.empty_pinned(shape, dtype=dtype)
        return ring, i, buf

    def upload(self, host, slot=0):
        """``host`` (a NumPy array) on the GPU; kernels queued on the current stream after
        this call see its values."""
        host = np.ascontiguousarray(host)
        ring, i, buf = self._buffer(slot, host.shape, host.dtype)
        np.copyto(buf, host)
        dev = self.cp.empty(host.shape, dtype=host.dtype)
        dev.set(buf, stream=self.stream)
        event = self.stream.record()
        ring[1][i] = (buf, event)
        self.cp.cuda.get_current_stream().wait_event(event)
        return dev
