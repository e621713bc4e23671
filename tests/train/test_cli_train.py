"""``fovea train``, ``evaluate`` and ``predict`` as a user runs them, including bad input."""

import numpy as np
import pytest

from fovea.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    assert main(["train", "--epochs", "2", "--out", str(out), "--no-progress"]) == 0
    return out


def test_train_prints_test_accuracy_and_run_dir(run_dir, capsys):
    assert (run_dir / "metrics.json").is_file()


def test_evaluate_prints_accuracy(run_dir, capsys):
    assert main(["evaluate", str(run_dir)]) == 0
    assert "digits test accuracy 0.9" in capsys.readouterr().out


def test_predict_ranks_the_true_class_first(run_dir, tmp_path, capsys):
    from PIL import Image

    from fovea.data import load_dataset

    d = load_dataset("digits")
    paths = []
    for i in range(3):
        p = tmp_path / f"digit{i}.png"
        Image.fromarray((d.x_test[i, 0] * 255).round().astype(np.uint8)).save(p)
        paths.append(str(p))
    assert main(["predict", str(run_dir), *paths]) == 0
    out = capsys.readouterr().out.splitlines()
    firsts = [out[i * 6 + 1].split()[0] for i in range(3)]
    assert sum(f == str(d.y_test[i]) for i, f in enumerate(firsts)) >= 2


def test_predict_refuses_an_image_of_the_wrong_size(run_dir, tmp_path, capsys):
    from PIL import Image

    p = tmp_path / "big.png"
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(p)
    assert main(["predict", str(run_dir), str(p)]) == 2
    err = capsys.readouterr().err
    assert "big.png" in err and "8" in err and "32" in err


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


def test_weights_of_a_different_model_are_refused_clearly(run_dir, tmp_path, capsys):
    import json
    import shutil

    copy = tmp_path / "other"
    shutil.copytree(run_dir, copy)
    info = json.loads((copy / "run.json").read_text())
    info["config"]["model"] = "two_layer"
    (copy / "run.json").write_text(json.dumps(info))
    assert main(["evaluate", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "does not fit this model" in err and "missing keys" in err


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
