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
