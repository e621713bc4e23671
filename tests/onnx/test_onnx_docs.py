"""docs/export.md stays true: its Python blocks run, in order, in one namespace."""

import re
from pathlib import Path

import pytest

from fovea import config

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

PAGE = Path(__file__).resolve().parents[2] / "docs" / "export.md"


def test_the_python_blocks_of_export_md_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the examples write resnet20.onnx to the working directory
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) >= 3
    namespace: dict = {}
    with config.override(jit=False):
        for block in blocks:
            exec(compile(block, str(PAGE), "exec"), namespace)  # noqa: S102 - our own docs
    assert (tmp_path / "resnet20.onnx").is_file()
    assert "no ONNX counterpart" in capsys.readouterr().out
