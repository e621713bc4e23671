"""``fovea train --nproc N``: the command line each process runs, the launch environment, and
a tiny real run on 2 processes resumed on 1 (a different process count)."""

import json
import os
import subprocess
import sys

import pytest
from _mpi_helpers import ROOT, mpi_env, mpiexec_or_skip

from fovea.cli import build_parser
from fovea.cli import train as train_cli
from fovea.distributed import launch
from fovea.train.distributed_run import World


def _parse(argv):
    return build_parser().parse_args(argv)


def test_child_argv_round_trips_the_options():
    argv = ["train", "--nproc", "2", "--model", "mlp", "--epochs", "3", "--lr", "0.01",
            "--tensorboard", "--no-progress", "--augment", "crop,flip", "--out", "x y",
            "--no-sync-bn"]
    args = _parse(argv)
    child = train_cli.child_argv(args)
    assert "--nproc" not in child and "--debug" not in child
    again = _parse(child)
    for key, value in vars(args).items():
        if key not in ("nproc", "func"):
            assert getattr(again, key) == value, key
    assert again.nproc is None


def test_launch_command_and_threads(monkeypatch):
    cmd = launch.mpiexec_command(3, ["train", "--epochs", "1"], mpiexec="/x/mpiexec")
    assert cmd == ["/x/mpiexec", "-n", "3", sys.executable, "-m", "fovea", "train",
                   "--epochs", "1"]
    base = {k: v for k, v in os.environ.items()
            if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                         "FOVEA_NUM_THREADS")}
    cores = len(os.sched_getaffinity(0))
    env = launch.launch_environment(2, base)
    assert env["OPENBLAS_NUM_THREADS"] == str(max(1, cores // 2))
    env = launch.launch_environment(2, {**base, "OMP_NUM_THREADS": "7"})
    assert env["OMP_NUM_THREADS"] == "7" and "OPENBLAS_NUM_THREADS" not in env
    monkeypatch.setenv("FOVEA_MPIEXEC", "")
    monkeypatch.setattr(launch._mpi, "find_mpiexec", lambda: None)
    with pytest.raises(ValueError, match="--nproc needs mpiexec"):
        launch.mpiexec_command(2, ["train"])
    with pytest.raises(ValueError, match="--nproc 0"):
        launch.mpiexec_command(0, ["train"])


def test_the_batch_size_is_global():
    assert World(0, 4).local_batch(64) == 16
    with pytest.raises(ValueError, match="--batch-size 63: it is the global batch"):
        World(1, 4).local_batch(63)


@pytest.mark.slow  # two interpreters and mpiexec: ~15 s on an idle 2-core machine
def test_train_on_2_processes_then_resume_on_1(tmp_path, capsys):
    mpiexec_or_skip()
    out = tmp_path / "run"
    env = mpi_env(FOVEA_MPIEXEC="")  # the launcher finds mpiexec itself
    env.pop("FOVEA_MPIEXEC")
    cmd = [sys.executable, "-m", "fovea", "train", "--nproc", "2", "--model", "mlp",
           "--epochs", "1", "--out", str(out), "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                          cwd=str(ROOT))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # only rank 0 logs and writes
    assert proc.stdout.count("epoch 1:") == 1 and proc.stdout.count("run written to") == 1
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "complete" and info["config"]["batch_size"] == 64
    assert (out / "checkpoints" / "epoch-0001").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    # resume with another process count (1): the checkpoint is the global state
    from fovea.cli import main

    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--epochs", "2", "--no-progress"]) == 0
    assert "at epoch 1 of 2" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["resumed"] is True
    assert metrics["test_accuracy"] > 0.5


@pytest.mark.slow  # two interpreters and mpiexec: ~20 s on an idle 2-core machine
def test_a_local_batch_norm_run_with_ema_and_tta_completes_on_2_processes(tmp_path):
    # Regression: rank 0's test evaluation alone must not start a collective (the buffer
    # broadcast of --no-sync-bn runs before training forwards and sharded evaluations only).
    mpiexec_or_skip()
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "fovea", "train", "--nproc", "2", "--no-sync-bn",
           "--model", "small_cnn", "--epochs", "2", "--ema", "0.9", "--tta", "flip",
           "--train-eval-size", "101", "--num-workers", "0", "--out", str(out), "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=mpi_env(),
                          cwd=str(ROOT))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "complete" and info["config"]["sync_bn"] is False
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.5 < metrics["test_accuracy"] <= 1 and 0.5 < metrics["test_accuracy_tta"] <= 1
    # the sharded training-accuracy sample: a count over 101 images
    assert round(metrics["final_train_accuracy"] * 101, 6) == \
        round(metrics["final_train_accuracy"] * 101)


def test_an_error_on_rank_0_is_one_line_and_stops_the_job(tmp_path):
    mpiexec_or_skip()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    cmd = [sys.executable, "-m", "fovea", "train", "--nproc", "2", "--model", "mlp",
           "--epochs", "1", "--out", str(tmp_path / "taken"), "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=mpi_env(),
                          cwd=str(ROOT))
    assert proc.returncode == 2
    assert "fovea train: error: train: --out" in proc.stderr
    assert "Traceback" not in proc.stderr
