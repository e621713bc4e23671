"""``fovea runs``: every run under a directory with its status, accuracy, epochs and time,
sorted, as JSON, and ``--compare`` drawing their curves in one figure."""

import json
import os
import socket
import subprocess
import sys

import pytest

from fovea.cli import main
from fovea.train import run as run_module

FAST = ["--model", "two_layer", "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """runs/good (3 epochs, complete), runs/sweep/fast (lr 0.01, complete), runs/stopped
    (Ctrl-C after epoch 1 of 3), runs/broken (diverged in epoch 2), runs/killed (a "running"
    run whose process is gone)."""
    root = tmp_path_factory.mktemp("runs")
    quiet = open(os.devnull, "w")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdout", quiet)
        assert main(["train", "--epochs", "3", "--out", str(root / "good"), *FAST]) == 0
        assert main(["train", "--epochs", "2", "--lr", "0.01",
                     "--out", str(root / "sweep" / "fast"), *FAST]) == 0
        real = run_module.RunStatus.on_epoch_end

        def stop(self, trainer):
            real(self, trainer)
            if trainer.epoch == 1:
                raise KeyboardInterrupt

        mp.setattr(run_module.RunStatus, "on_epoch_end", stop)
        assert main(["train", "--epochs", "3", "--out", str(root / "stopped"), *FAST]) == 130

        def fail(self, trainer):
            real(self, trainer)
            if trainer.epoch == 1:
                raise OSError("disk went away")

        mp.setattr(run_module.RunStatus, "on_epoch_end", fail)
        assert main(["train", "--epochs", "3", "--out", str(root / "broken"), *FAST]) == 2
    quiet.close()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    killed = root / "killed"
    killed.mkdir()
    info = json.loads((root / "good" / "run.json").read_text())
    info.update(status="running", pid=int(dead), host=socket.gethostname(), epochs_done=0,
                started="2020-01-01T00:00:00+0000")
    (killed / "run.json").write_text(json.dumps(info))
    (root / ".hidden-run").mkdir()
    (root / ".hidden-run" / "run.json").write_text(json.dumps(info))
    return root


def _json(root, *extra, capsys):
    assert main(["runs", str(root), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_run_with_its_status(runs, capsys):
    rows = {os.path.relpath(r["run"], runs): r for r in _json(runs, capsys=capsys)}
    assert set(rows) == {"good", "sweep/fast", "stopped", "broken", "killed"}
    assert {k: r["status"] for k, r in rows.items()} == {
        "good": "complete", "sweep/fast": "complete", "stopped": "interrupted",
        "broken": "failed", "killed": "interrupted"}
    good = rows["good"]
    metrics = json.loads((runs / "good" / "metrics.json").read_text())
    assert good["test_accuracy"] == metrics["test_accuracy"]
    assert good["val_accuracy"] == metrics["val_accuracy"]
    assert (good["epochs_done"], good["epochs_planned"]) == (3, 3)
    assert good["dataset"] == "digits" and good["model"] == "two_layer" and good["lr"] == 0.003
    assert good["seconds"] > 0
    stopped = rows["stopped"]
    assert (stopped["epochs_done"], stopped["epochs_planned"]) == (1, 3)
    assert stopped["test_accuracy"] is None and 0 < stopped["val_accuracy"] <= 1
    assert "disk went away" in rows["broken"]["error"]


def test_sort_by_accuracy_puts_the_best_first_and_unfinished_runs_last(runs, capsys):
    rows = _json(runs, "--sort", "acc", capsys=capsys)
    accs = [r["test_accuracy"] for r in rows]
    done = [a for a in accs if a is not None]
    assert done == sorted(done, reverse=True) and len(done) == 2
    assert accs[2:] == [None] * 3
    rows = _json(runs, "--sort", "acc", "--reverse", capsys=capsys)
    assert [r["test_accuracy"] for r in rows][:2] == sorted(done)


def test_sort_by_time_and_date(runs, capsys):
    rows = _json(runs, "--sort", "time", capsys=capsys)
    secs = [r["seconds"] for r in rows if r["seconds"] is not None]
    assert secs == sorted(secs)
    rows = _json(runs, "--sort", "date", capsys=capsys)
    assert rows[0]["run"].endswith("killed")  # started in 2020


def test_filter_by_status(runs, capsys):
    rows = _json(runs, "--status", "interrupted", capsys=capsys)
    assert sorted(os.path.basename(r["run"]) for r in rows) == ["killed", "stopped"]


def test_the_table_has_one_row_per_run(runs, capsys):
    assert main(["runs", str(runs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["RUN", "STATUS", "DATASET", "MODEL"]
    assert len(lines) == 6
    good = next(ln for ln in lines if ln.startswith(str(runs / "good")))
    assert "complete" in good and "3/3" in good and "adam lr=0.003 bs=64 cosine" in good


def test_an_unknown_sort_key_is_refused(runs, capsys):
    with pytest.raises(SystemExit):
        main(["runs", str(runs), "--sort", "colour"])
    assert "--sort" in capsys.readouterr().err


def test_a_missing_directory_is_one_line(tmp_path, capsys):
    assert main(["runs", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_compare_draws_the_curves_of_several_runs_in_one_figure(runs, tmp_path, capsys,
                                                                 monkeypatch):
    from fovea.train import runs as runs_module

    drawn = []
    real = runs_module.load_history
    monkeypatch.setattr(runs_module, "load_history", lambda d: drawn.append(d) or real(d))
    out = tmp_path / "cmp.png"
    assert main(["runs", "--compare", str(runs / "good"), str(runs / "stopped"),
                 "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"figure written to {out}\n"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [os.path.basename(d) for d in drawn] == ["good", "stopped"]
    assert [len(real(d)["val_acc"]) for d in drawn] == [3, 1]


def test_compare_names_a_directory_that_is_not_a_run(runs, tmp_path, capsys):
    assert main(["runs", "--compare", str(runs / "good"), str(tmp_path),
                 "--out", str(tmp_path / "x.png")]) == 2
    assert "not a fovea run directory" in capsys.readouterr().err
