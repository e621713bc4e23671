"""Collectives on tensors over MPI: ``all_reduce``, ``broadcast``, ``all_gather`` (in place,
as ``torch.distributed``), each optionally non-blocking (``async_op=True`` returns a
:class:`Work` whose ``wait()`` completes it).

Every operation is an MPI non-blocking collective (``MPI_Iallreduce``, ``MPI_Ibcast``,
``MPI_Iallgather``) on the tensor's own array when it is contiguous, so nothing is copied;
``wait`` polls it with a growing sleep (a waiting process gives its core to the others) and
raises :class:`~fovea.distributed.DistributedError` after the group's timeout instead of
waiting forever for a process that died.
"""

from __future__ import annotations

import enum
import pickle
import time

import numpy as np

from fovea.distributed import _mpi
from fovea.distributed.process_group import DistributedError, _group, _require

__all__ = ["ReduceOp", "Work", "all_reduce", "broadcast", "all_gather",
           "broadcast_object_list", "all_gather_object"]


class ReduceOp(enum.Enum):
    """How ``all_reduce`` combines the processes' tensors (``torch.distributed.ReduceOp``)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


def _mpi_op(op: ReduceOp):
    MPI = _mpi.mpi()  # noqa: N806
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}[op]


class Work:
    """A collective in flight (``torch.distributed.Work``): ``wait()`` completes it (the
    tensors hold the result afterwards), ``is_completed()`` asks without blocking."""

    def __init__(self, request, op: str, finish=None):
        self._request, self._op, self._finish, self._done = request, op, finish, False

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()
            self._finish = None

    def wait(self, timeout=None) -> bool:
        """Block until done; raises DistributedError after ``timeout`` seconds (default: the
        process group's), naming the operation."""
        if self._done:
            return True
        limit = _group.timeout if timeout is None else (
            timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout))
        start = time.monotonic()
        pause = 0.0
        request = self._request
        while not request.Test():
            if time.monotonic() - start > limit:
                raise DistributedError(
                    f"{self._op}: rank {_group.rank} got no answer from the other processes "
                    f"within {limit:g} s (did a process die or stop calling collectives in the "
                    "same order?)")
            # A few quick polls, then sleep up to 1 ms: a waiting process yields its core.
            if pause:
                time.sleep(pause)
            pause = min(max(pause * 2, 2e-5), 1e-3)
        self._complete()
        return True


def _staging(arr: np.ndarray) -> tuple[np.ndarray, bool]:
    """An array MPI can use in place: ``arr`` itself when contiguous in a dtype MPI knows;
    else a contiguous copy (float16 and bfloat16-like types travel as float32)."""
    if arr.dtype.kind == "f" and arr.dtype.itemsize < 4:
        return np.ascontiguousarray(arr, dtype=np.float32), True
    if arr.flags.c_contiguous and isinstance(arr, np.ndarray):
        return arr, False
    return np.ascontiguousarray(arr), True


def _check_tensor(t, op: str):
    from fovea.tensor import Tensor

    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")
    if not isinstance(t._data, np.ndarray):
        raise ValueError(f"{op}: the MPI backend works on CPU tensors; this one is on "
                         f"{t.device}")
    return t._data


def _written(t, buf, copied: bool) -> None:
    """Write ``buf`` back into ``t`` when it was staged, and bump ``t``'s version (the
    collective changed it in place)."""
    if copied:
        t._data[...] = buf.astype(t._data.dtype, copy=False)
    t._version[0] += 1


def all_reduce(tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` across processes in place: afterwards every process holds the
    sum (or average, product, minimum, maximum) of all processes' tensors.

    Shapes: any; every process passes the same shape and dtype. ``ReduceOp.AVG`` needs a
    floating tensor. Returns a :class:`Work` with ``async_op=True``, else None.
    """
    g = _require("all_reduce")
    if not isinstance(op, ReduceOp):
        raise ValueError(f"all_reduce: op must be a ReduceOp, got {op!r}")
    arr = _check_tensor(tensor, "all_reduce")
    if op is ReduceOp.AVG and arr.dtype.kind not in "fc":
        raise ValueError(f"all_reduce: ReduceOp.AVG needs a floating tensor, got {arr.dtype}")
    buf, copied = _staging(arr)
    MPI = _mpi.mpi()  # noqa: N806
    request = g.comm.Iallreduce(MPI.IN_PLACE, buf, op=_mpi_op(op))
    size = g.size

    def finish():
        if op is ReduceOp.AVG:
            buf[...] /= size
        _written(tensor, buf, copied)

    work = Work(request, "all_reduce", finish)
    return work if async_op else work.wait() and None


def broadcast(tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy ``tensor`` of process ``src`` into ``tensor`` of every process (in place)."""
    g = _require("broadcast")
    _check_root(src, g.size, "broadcast")
    arr = _check_tensor(tensor, "broadcast")
    buf, copied = _staging(arr)
    work = Work(g.comm.Ibcast(buf, root=src), "broadcast",
                lambda: _written(tensor, buf, copied))
    return work if async_op else work.wait() and None


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """Every process's ``tensor`` into ``tensor_list`` (one tensor of the same shape per
    process, in rank order) on every process."""
    g = _require("all_gather")
    arr = _check_tensor(tensor, "all_gather")
    if len(tensor_list) != g.size:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors, expected "
                         f"one per process ({g.size})")
    for i, t in enumerate(tensor_list):
        out = _check_tensor(t, "all_gather")
        if out.shape != arr.shape:
            raise ValueError(f"all_gather: tensor_list[{i}] has shape {tuple(out.shape)}, "
                             f"expected {tuple(arr.shape)} (the input's)")
    send, _ = _staging(arr)
    recv = np.empty((g.size, *send.shape), dtype=send.dtype)
    request = g.comm.Iallgather(send, recv)

    def finish():
        for t, part in zip(tensor_list, recv):
            t._data[...] = part.astype(t._data.dtype, copy=False)
            t._version[0] += 1

    work = Work(request, "all_gather", finish)
    return work if async_op else work.wait() and None


def _check_root(src: int, size: int, op: str) -> None:
    if not 0 <= int(src) < size:
        raise ValueError(f"{op}: src {src} is out of range for {size} processes")


def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None) -> None:
    """Replace ``object_list``'s items with process ``src``'s (pickled Python objects)."""
    g = _require("broadcast_object_list")
    _check_root(src, g.size, "broadcast_object_list")
    payload = np.frombuffer(pickle.dumps(list(object_list)), dtype=np.uint8) \
        if g.rank == src else None
    n = np.array([0 if payload is None else payload.size], dtype=np.int64)
    Work(g.comm.Ibcast(n, root=src), "broadcast_object_list").wait()
    buf = payload.copy() if payload is not None else np.empty(int(n[0]), dtype=np.uint8)
    Work(g.comm.Ibcast(buf, root=src), "broadcast_object_list").wait()
    object_list[:] = pickle.loads(buf.tobytes())


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Every process's ``obj`` into ``object_list`` (length = world size), in rank order."""
    g = _require("all_gather_object")
    if len(object_list) != g.size:
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} items, "
                         f"expected {g.size}")
    data = np.frombuffer(pickle.dumps(obj), dtype=np.uint8)
    sizes = np.zeros(g.size, dtype=np.int64)
    Work(g.comm.Iallgather(np.array([data.size], dtype=np.int64), sizes),
         "all_gather_object").wait()
    recv = np.empty(int(sizes.sum()), dtype=np.uint8)
    MPI = _mpi.mpi()  # noqa: N806
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    Work(g.comm.Iallgatherv(data.copy(), [recv, sizes, offsets, MPI.BYTE]),
         "all_gather_object").wait()
    object_list[:] = [pickle.loads(recv[o:o + s].tobytes()) for o, s in zip(offsets, sizes)]


def all_reduce_array(arr: np.ndarray, op: ReduceOp = ReduceOp.SUM) -> Work:
    """Start an in-place all-reduce of a contiguous NumPy array (fovea's own layers use it:
    DistributedDataParallel's buckets, SyncBatchNorm's statistics)."""
    g = _require("all_reduce")
    MPI = _mpi.mpi()  # noqa: N806
    size = g.size

    def finish():
        if op is ReduceOp.AVG:
            arr[...] /= size

    return Work(g.comm.Iallreduce(MPI.IN_PLACE, arr, op=_mpi_op(op)), "all_reduce", finish)


def all_gather_array(arr: np.ndarray) -> Work:
    """Start gathering every process's ``arr`` (same shape and dtype everywhere); the Work's
    ``result`` is an array (world size, *arr.shape) once ``wait()`` returns."""
    g = _require("all_gather")
    send = np.ascontiguousarray(arr)
    recv = np.empty((g.size, *send.shape), dtype=send.dtype)
    work = Work(g.comm.Iallgather(send, recv), "all_gather")
    work.result = recv
    return work
