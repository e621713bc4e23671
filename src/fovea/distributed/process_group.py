"""The process group: one MPI communicator over every process of the launch.

``init_process_group()`` is called once per process, after an ``mpiexec -n N`` launch (or
``fovea train --nproc N``); rank and world size come from MPI. A process that fails must
not leave the others waiting forever in a collective: an uncaught exception in any process
calls ``MPI_Abort`` (the launcher then stops every process with that error), and every wait
has a timeout (``timeout=``, default 30 minutes as PyTorch's; ``FOVEA_DIST_TIMEOUT``
seconds overrides it) after which a clear error is raised.
"""

from __future__ import annotations

import datetime
import os
import sys
import traceback

from fovea.distributed import _mpi

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available",
           "is_mpi_available", "get_rank", "get_world_size", "get_backend", "barrier",
           "DistributedError"]

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)


class DistributedError(RuntimeError):
    """A collective could not complete: another process died or stopped answering."""


class _Group:
    comm = None  # mpi4py communicator (a duplicate of COMM_WORLD: fovea's own traffic)
    rank = 0
    size = 1
    timeout = DEFAULT_TIMEOUT.total_seconds()
    previous_excepthook = None


_group = _Group()


def is_available() -> bool:
    """Whether fovea.distributed can run here (mpi4py importable), as torch.distributed."""
    return _mpi.is_available()


def is_mpi_available() -> bool:
    """Whether the MPI backend is available (mpi4py importable)."""
    return _mpi.is_available()


def is_initialized() -> bool:
    """Whether :func:`init_process_group` has been called (and not destroyed)."""
    return _group.comm is not None


def _require(op: str):
    if _group.comm is None:
        raise RuntimeError(f"{op}: default process group has not been initialized, please "
                           "make sure to call init_process_group.")
    return _group


def init_process_group(backend: str | None = "mpi", init_method=None, timeout=None,
                       world_size: int = -1, rank: int = -1, store=None,
                       group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the launch's processes (as ``torch.distributed.init_process_group``).

    Args:
        backend: "mpi" (the only one; None means it too).
        init_method, store, group_name, pg_options, device_id: accepted for PyTorch's
            signature; MPI's launcher has already connected the processes.
        timeout: how long any collective may wait (``datetime.timedelta`` or seconds;
            default 30 minutes, or ``FOVEA_DIST_TIMEOUT`` seconds).
        world_size, rank: if given (not -1) they must equal what MPI says.

    Also sets each process's kernel threads to ``cores / processes on this machine`` unless
    the thread count was set explicitly (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or
    ``FOVEA_NUM_THREADS``), and makes an uncaught exception abort the whole launch.
    """
    if backend not in (None, "mpi"):
        raise ValueError(f"init_process_group: backend {backend!r} is not available: fovea "
                         "supports 'mpi'")
    if _group.comm is not None:
        raise RuntimeError("init_process_group: trying to initialize the default process "
                           "group twice!")
    MPI = _mpi.mpi()  # noqa: N806 - the module's name
    comm = MPI.COMM_WORLD.Dup()
    for given, actual, what in ((world_size, comm.Get_size(), "world_size"),
                                (rank, comm.Get_rank(), "rank")):
        if given not in (-1, None) and int(given) != actual:
            raise ValueError(f"init_process_group: {what}={given} but MPI says {actual}")
    if timeout is None:
        env = os.environ.get("FOVEA_DIST_TIMEOUT")
        timeout = float(env) if env else DEFAULT_TIMEOUT.total_seconds()
    elif isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if not float(timeout) > 0:
        raise ValueError(f"init_process_group: timeout must be positive, got {timeout}")
    _group.comm, _group.rank, _group.size = comm, comm.Get_rank(), comm.Get_size()
    _group.timeout = float(timeout)
    _set_threads(_local_size(comm))
    if _group.size > 1 and _group.previous_excepthook is None:
        _group.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_exception


def _local_size(comm) -> int:
    MPI = _mpi.mpi()  # noqa: N806
    try:
        local = comm.Split_type(MPI.COMM_TYPE_SHARED)
        n = local.Get_size()
        local.Free()
        return n
    except Exception:  # noqa: BLE001 - an MPI without shared-memory splitting
        return _mpi.launched_local_size()


def default_threads(processes_here: int) -> int:
    """The default kernel threads of each of ``processes_here`` processes on this machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    return max(1, cores // max(1, processes_here))


def _set_threads(processes_here: int) -> None:
    """``cores / processes`` BLAS threads, unless the user chose a thread count."""
    if any(os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                       "MKL_NUM_THREADS", "FOVEA_NUM_THREADS")):
        return
    from fovea.backends.cpu import blas

    blas.set_num_threads(default_threads(processes_here))


def _abort_on_exception(exc_type, exc, tb) -> None:
    """sys.excepthook while a group of several processes is up: report, then MPI_Abort, so
    that the other processes are stopped instead of waiting for this one forever."""
    traceback.print_exception(exc_type, exc, tb)
    sys.stderr.write(f"fovea.distributed: rank {_group.rank} of {_group.size} failed with "
                     f"{exc_type.__name__}; aborting all processes\n")
    sys.stderr.flush()
    comm = _group.comm
    if comm is not None:
        comm.Abort(1)


def destroy_process_group(group=None) -> None:
    """Leave the process group (the processes may call init_process_group again)."""
    comm = _require("destroy_process_group").comm
    if _group.previous_excepthook is not None:
        sys.excepthook = _group.previous_excepthook
        _group.previous_excepthook = None
    _group.comm, _group.rank, _group.size = None, 0, 1
    comm.Free()


def get_rank(group=None) -> int:
    """This process's rank, 0 .. world size - 1."""
    return _require("get_rank").rank


def get_world_size(group=None) -> int:
    """The number of processes in the group."""
    return _require("get_world_size").size


def get_backend(group=None) -> str:
    """The group's backend: "mpi"."""
    _require("get_backend")
    return "mpi"


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every process has reached this call (with the group's timeout)."""
    from fovea.distributed.collectives import Work

    g = _require("barrier")
    work = Work(g.comm.Ibarrier(), "barrier")
    if async_op:
        return work
    work.wait()
    return None
