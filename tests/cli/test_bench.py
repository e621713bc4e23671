"""``fovea bench``: a tiny run writes its results; bad options are one-line errors."""

import json

from fovea.cli import main


def test_bench_writes_results_and_reports_errors(tmp_path, capsys):
    out = tmp_path / "r"
    rc = main(["bench", "--quick", "--only", "relu:fwd", "--no-torch", "--no-memory",
                     "--repeats", "3", "--out", str(out)])
    assert rc == 0
    assert json.loads((out / "bench.json").read_text())["cases"][0]["name"].startswith("relu")
    assert "fovea alone" in capsys.readouterr().out
    assert main(["bench", "--repeats", "1", "--out", str(out)]) == 2
    assert "--repeats must be >= 3" in capsys.readouterr().err
    assert main(["bench", "--profile", "vgg", "--out", str(out)]) == 2
    assert "unknown model 'vgg'" in capsys.readouterr().err
