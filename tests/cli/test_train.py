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
