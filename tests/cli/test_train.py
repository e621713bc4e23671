"""``fovea train`` as a user runs it, including bad input."""

import numpy as np
import pytest

from fovea.cli import main


def test_train_prints_test_accuracy_and_run_dir(trained, run_dir):
    lines = trained.stdout.splitlines()
    assert lines[-2].startswith("test accuracy 0.9") and "after 2 epochs" in lines[-2]
    assert lines[-1] == f"run written to {run_dir}"
    assert (run_dir / "metrics.json").is_file() and (run_dir / "model.safetensors").is_file()


def test_unknown_model_is_one_clear_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--model", "resnet999"])
    assert e.value.code == 2
    assert "invalid choice: 'resnet999'" in capsys.readouterr().err


def test_truncated_checkpoint_gives_a_clear_error_without_traceback(run_dir, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    ck = copy / "checkpoints" / (copy / "checkpoints" / "LATEST").read_text()
    weights = ck / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    assert main(["train", "--resume", str(copy), "--epochs", "3", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "model.safetensors" in err and "truncated or corrupt" in err
    assert "Traceback" not in err


def test_config_file_with_unknown_key_is_refused(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('epochs = 1\nlearning_rate = 0.1\n')
    assert main(["train", "--config", str(cfg)]) == 2
    assert "unknown keys ['learning_rate']" in capsys.readouterr().err


def test_train_on_an_image_folder(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, name in enumerate(["dark", "light"]):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(30):
            pixels = rng.integers(0, 100, (8, 8)) + 150 * k
            Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "data" / name / f"{i}.png")
    out = tmp_path / "run"
    rc = main(["train", "--dataset", f"folder:{tmp_path / 'data'}", "--model", "two_layer",
               "--epochs", "3", "--lr", "0.01", "--out", str(out), "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    import json

    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] == 1.0
    assert json.loads((out / "run.json").read_text())["classes"] == ["dark", "light"]


@pytest.mark.parametrize("argv, option", [
    (["--early-stopping", "0"], "--early-stopping"),
    (["--early-stopping", "-1"], "--early-stopping"),
    (["--momentum", "5"], "--momentum"),
    (["--momentum", "-0.1"], "--momentum"),
    (["--momentum", "1"], "--momentum"),
    (["--seed", "-1"], "--seed"),
    (["--epochs", "0"], "--epochs"),
    (["--batch-size", "0"], "--batch-size"),
    (["--lr", "0"], "--lr"),
    (["--lr", "-0.1"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"),
    (["--weight-decay", "-0.001"], "--weight-decay"),
    (["--grad-clip", "0"], "--grad-clip"),
    (["--grad-clip", "-1"], "--grad-clip"),
    (["--num-workers", "-1"], "--num-workers"),
])
def test_every_bad_option_is_refused_up_front_by_its_name(tmp_path, capsys, argv, option):
    out = tmp_path / "run"
    assert main(["train", *argv, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fovea train: error: train: invalid {option} ") and \
        err.count("\n") == 1, err
    assert not out.exists()


def test_a_bad_value_in_the_config_file_is_refused_by_its_option_name(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('momentum = "high"\n')
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "r")]) == 2
    assert "invalid --momentum 'high'" in capsys.readouterr().err


def test_train_debug_shows_the_traceback(tmp_path):
    with pytest.raises(ValueError, match="invalid --epochs 0"):
        main(["train", "--debug", "--epochs", "0", "--out", str(tmp_path / "r")])


def test_no_progress_bar_frames_when_stderr_is_not_a_terminal(tmp_path, capsys):
    # capsys's stderr is not a terminal, as in `fovea train 2> log.txt` or a CI log.
    assert main(["train", "--model", "two_layer", "--epochs", "1",
                 "--out", str(tmp_path / "r")]) == 0
    captured = capsys.readouterr()
    assert "\r" not in captured.err and "batch/s" not in captured.err
    assert "epoch 1: loss" in captured.out  # one line per epoch instead


def test_the_progress_bar_is_shown_on_a_terminal(tmp_path, monkeypatch, capsys):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["train", "--model", "two_layer", "--epochs", "1",
                 "--out", str(tmp_path / "r")]) == 0
    assert "epoch 1/1" in term.getvalue()
    capsys.readouterr()


def test_run_json_stores_absolute_data_paths_so_evaluate_works_from_anywhere(
        tmp_path, monkeypatch, capsys):
    import json

    from PIL import Image

    rng = np.random.default_rng(0)
    for k, name in enumerate(["dark", "light"]):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(20):
            pixels = rng.integers(0, 100, (8, 8)) + 150 * k
            Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "data" / name / f"{i}.png")
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", "folder:data", "--data-dir", "cache", "--model",
                 "two_layer", "--epochs", "1", "--out", "run", "--no-progress"]) == 0
    cfg = json.loads((tmp_path / "run" / "run.json").read_text())["config"]
    assert cfg["dataset"] == f"folder:{tmp_path / 'data'}"
    assert cfg["data_dir"] == str(tmp_path / "cache")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    assert "test accuracy" in capsys.readouterr().out
