"""``fovea evaluate`` on a trained run, and on weights that do not fit."""

from fovea.cli import main


def test_evaluate_prints_accuracy(run_dir, capsys):
    assert main(["evaluate", str(run_dir)]) == 0
    assert "digits test accuracy 0.9" in capsys.readouterr().out


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


def poisoned_copy(run_dir, tmp_path):
    """A copy of the run whose first weight holds a NaN and an inf (a diverged run)."""
    import shutil

    import numpy as np

    from fovea.train.checkpoint import load_weights, save_weights

    copy = tmp_path / "poisoned"
    shutil.copytree(run_dir, copy)
    w = load_weights(copy / "model.safetensors")
    w["0.weight"] = w["0.weight"].copy()
    w["0.weight"].flat[0] = np.nan
    w["0.weight"].flat[1] = np.inf
    save_weights(w, copy / "model.safetensors")
    return copy


def test_evaluate_refuses_non_finite_weights_naming_the_parameter(run_dir, tmp_path, capsys):
    copy = poisoned_copy(run_dir, tmp_path)
    assert main(["evaluate", str(copy)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "parameter '0.weight' has non-finite values (1 NaN, 1 inf" in captured.err
