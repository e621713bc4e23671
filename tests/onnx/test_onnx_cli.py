"""``fovea export RUN_DIR OUT``: a run made in the test exports, checks and runs in
onnxruntime at any batch size; bad options are one-line errors."""

import contextlib
import io

import numpy as np
import pytest

from fovea.cli import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(["train", "--epochs", "1", "--overfit-small", "--out", str(out),
                   "--no-progress"])
    # A complete run directory in ~5 s: the exit code only says whether one epoch memorised
    # the 20 examples, which these tests don't need.
    assert rc in (0, 1) and (out / "model.safetensors").is_file() and (out / "run.json").is_file()
    return out


def test_export_writes_a_checked_file_that_runs_at_any_batch(run_dir, tmp_path, capsys):
    out = tmp_path / "model.onnx"
    assert main(["export", str(run_dir), str(out), "--dynamic-batch", "--check",
                 "--opset", "13"]) == 0
    printed = capsys.readouterr().out
    assert "onnx.checker: ok" in printed and "outputs match fovea's" in printed
    proto = onnx.load(str(out))
    assert proto.opset_import[0].version == 13
    import fovea
    from fovea.train.run import load_run
    model, info = load_run(run_dir)
    x = np.random.default_rng(0).standard_normal((7, *info["image_shape"])).astype(np.float32)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    with fovea.no_grad():
        want = model(fovea.tensor(x)).numpy()
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], want, rtol=1e-5, atol=1e-5)


def test_without_dynamic_batch_the_batch_is_one(run_dir, tmp_path):
    out = tmp_path / "m.onnx"
    assert main(["export", str(run_dir), str(out)]) == 0
    dim = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_value == 1


def test_a_bad_opset_is_one_line_naming_the_range(run_dir, tmp_path, capsys):
    assert main(["export", str(run_dir), str(tmp_path / "m.onnx"), "--opset", "9"]) == 2
    err = capsys.readouterr().err.strip()
    assert "13..20" in err and "\n" not in err
    assert not (tmp_path / "m.onnx").exists()


def test_a_missing_run_is_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope"), str(tmp_path / "m.onnx")]) == 2
    assert "\n" not in capsys.readouterr().err.strip()


def test_without_the_onnx_package_the_error_names_the_extra(monkeypatch):
    import sys

    import fovea
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'fovea\[onnx\]'"):
        fovea.onnx.export_to_model(fovea.nn.Linear(2, 2), fovea.randn(1, 2))
    assert main(["export", "unused", "unused.onnx"]) == 2
