"""fovea.distributed, DistributedDataParallel and SyncBatchNorm in real MPI jobs: workers
launched through ``mpiexec --oversubscribe`` (tests/distributed/_worker.py), each checking
its results against NumPy or against one process on the concatenated batch."""

import time

import pytest
from _mpi_helpers import worker


def _ok(proc, case: str, nproc: int) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    for r in range(nproc):
        assert f"OK {case} rank {r}" in proc.stdout, out[-4000:]


def test_collectives_match_numpy():
    _ok(worker(3, "collectives"), "collectives", 3)


@pytest.mark.parametrize("nproc,bucket_mb", [(2, "0.0001"), (4, "25")])
def test_ddp_syncbn_gradients_equal_one_process_on_the_whole_batch(nproc, bucket_mb):
    # float64, conv + SyncBatchNorm + linear, 2 steps and a no_sync accumulation: 1e-12;
    # bucket_mb 0.0001: one bucket per parameter, the first started during backward.
    _ok(worker(nproc, "gradients", bucket_mb, timeout=90), "gradients", nproc)


def test_local_batch_norm_averages_per_shard_gradients_and_shares_rank_0_buffers():
    _ok(worker(2, "local_bn", timeout=90), "local_bn", 2)


def test_each_process_evaluates_its_share_and_the_counts_add_up():
    _ok(worker(3, "sharded_accuracy"), "sharded_accuracy", 3)


def test_find_unused_parameters():
    _ok(worker(3, "unused"), "unused", 3)


def test_a_dead_process_stops_the_job_with_an_error():
    t0 = time.monotonic()
    proc = worker(2, "die", timeout=60)
    assert time.monotonic() - t0 < 60
    assert proc.returncode != 0
    assert "UNREACHABLE" not in proc.stdout
    assert "exit" in (proc.stdout + proc.stderr).lower()


def test_a_silent_process_times_out_with_a_clear_error():
    # Rank 1 never calls the collective: rank 0 gives up after FOVEA_DIST_TIMEOUT seconds,
    # names what it waited for, and its exception aborts the whole job (no hang).
    t0 = time.monotonic()
    proc = worker(2, "silent", timeout=60, FOVEA_DIST_TIMEOUT="2")
    assert time.monotonic() - t0 < 15
    err = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "all_reduce: rank 0 got no answer from the other processes within 2 s" in err, err
    assert "aborting all processes" in err
