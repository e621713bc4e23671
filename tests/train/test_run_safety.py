"""Runs never lose work: unique run directories (also across processes), an existing --out
refused unless --overwrite (then replaced safely), nothing left behind by a failed start,
files written with the user's umask, and disk-full errors that name the file."""

import errno
import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from fovea.cli import main
from fovea.train import run as run_module
from fovea.train.checkpoint import atomic_write_bytes, read_latest
from fovea.train.run import TrainConfig, default_run_dir

FAST = ["--model", "two_layer", "--no-progress"]


@pytest.fixture
def frozen_clock(monkeypatch):
    """Every run name gets the same time stamp (runs started in the same second)."""
    monkeypatch.setattr(run_module.time, "strftime", lambda fmt, *a: "20261203-234944")


def test_runs_started_in_the_same_second_get_distinct_directories(tmp_path, frozen_clock):
    cfg = TrainConfig()
    made = [default_run_dir(cfg, root=tmp_path) for _ in range(3)]
    assert [p.name for p in made] == ["digits-small_cnn-20261203-234944",
                                      "digits-small_cnn-20261203-234944-2",
                                      "digits-small_cnn-20261203-234944-3"]
    assert all(p.is_dir() for p in made)  # claimed, not only named


def test_concurrent_processes_never_get_the_same_run_directory(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from fovea.train import run
        run.time.strftime = lambda fmt, *a: "20261203-234944"
        from fovea.train.run import TrainConfig, default_run_dir
        while time.time() < {__import__('time').time() + 1.5}:
            pass  # start together
        for _ in range(25):
            print(default_run_dir(TrainConfig(), root=sys.argv[1]))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    names = [line for p in procs for line in p.communicate(timeout=120)[0].split()]
    assert all(p.returncode == 0 for p in procs)
    assert len(names) == 50 and len(set(names)) == 50
    assert len(list(tmp_path.iterdir())) == 50


def test_an_existing_out_is_refused_and_left_alone(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "result.txt").write_text("precious")
    assert main(["train", "--epochs", "1", "--out", str(out), *FAST]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "already exists" in err and "--overwrite" in err
    assert [p.name for p in out.iterdir()] == ["result.txt"]


def test_overwrite_replaces_a_run_only_once_the_new_one_has_a_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), *FAST]) == 0
    first = json.loads((out / "run.json").read_text())
    # A start that diverges before its first checkpoint puts the old run back as it was.
    assert main(["train", "--epochs", "1", "--lr", "50", "--out", str(out), "--overwrite",
                 *FAST]) == 2
    assert json.loads((out / "run.json").read_text()) == first
    assert (out / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nothing set aside
    # A good start replaces it.
    assert main(["train", "--epochs", "2", "--out", str(out), "--overwrite", *FAST]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    capsys.readouterr()


def test_overwrite_refuses_a_directory_that_is_not_a_run(tmp_path, capsys):
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    assert main(["train", "--epochs", "1", "--out", str(out), "--overwrite", *FAST]) == 2
    assert "not one" in capsys.readouterr().err
    assert (out / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("argv", [["--grad-clip", "-1"], ["--lr", "50"]],
                         ids=["invalid-option", "diverges-in-epoch-1"])
def test_a_failed_start_leaves_no_run_directory(tmp_path, capsys, argv, frozen_clock,
                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--epochs", "1", *argv, *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    runs = tmp_path / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []


def test_a_failed_start_empties_but_keeps_an_empty_out_it_was_given(tmp_path, capsys):
    out = tmp_path / "prepared"
    out.mkdir()
    assert main(["train", "--epochs", "1", "--lr", "50", "--out", str(out), *FAST]) == 2
    assert out.is_dir() and list(out.iterdir()) == []
    capsys.readouterr()


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_files_get_the_users_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        assert main(["train", "--epochs", "1", "--out", str(tmp_path / "r"), *FAST]) == 0
    finally:
        os.umask(old)
    run = tmp_path / "r"
    for path in [run / "model.safetensors", run / "run.json", run / "loss.png",
                 read_latest(run) / "state.json"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
    assert stat.S_IMODE(read_latest(run).stat().st_mode) == 0o777 & ~umask


def test_disk_full_names_the_file_and_keeps_its_old_content(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    real_write = os.write

    def full(fd, data):
        if len(data) > 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError) as e:
        atomic_write_bytes(target, b"new content")
    assert e.value.errno == errno.ENOSPC and str(target) in str(e.value)
    assert "No space left on device" in str(e.value)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left


def test_disk_full_during_training_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    real_write = os.write

    def full(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}").split("/")[-1].startswith(".model.safetensors"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to tell which file is written")
    monkeypatch.setattr(os, "write", full)
    out = tmp_path / "r"
    assert main(["train", "--epochs", "1", "--out", str(out), *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err
    assert "model.safetensors" in err
    assert not out.exists()  # it failed before its first checkpoint
