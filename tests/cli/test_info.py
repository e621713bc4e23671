"""``fovea info``: the facts it prints follow the environment and the installed libraries."""

import json
import os
import subprocess
import sys

import numpy as np

import fovea
from fovea.cli import main
from fovea.cli.info import format_facts


def _info_json(env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOVEA_")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-m", "fovea.cli", "info", "--json"],
                         capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out)


def test_info_json_reports_versions_backend_and_flags_from_the_environment():
    on = _info_json({})
    off = _info_json({"FOVEA_JIT": "0", "FOVEA_MALLOC_TUNING": "0"})
    assert on["fovea"] == fovea.__version__ and on["numpy"] == np.__version__
    assert on["backend"] == "cpu"
    assert on["settings"]["jit"] is True and on["environment"] == {}
    assert off["settings"] == {"jit": False, "blas_tuning": True, "malloc_tuning": False}
    assert off["environment"] == {"FOVEA_JIT": "0", "FOVEA_MALLOC_TUNING": "0"}
    # With the kernels off, neither kernel family reports itself available.
    assert off["llvm_conv_kernels"]["available"] is False
    assert off["numba_kernels"] == {"available": False, "threading_layer": None}
    assert off["process_tuning"]["malloc"] is False
    assert on["threads"] >= 1


def test_info_text_has_one_line_per_fact(capsys):
    assert main(["info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    keys = [line.split(":", 1)[0] for line in lines]
    assert keys[:4] == ["fovea", "python", "numpy", "backend"]
    assert {"threads", "blas", "conv kernels", "numba kernels", "data dir"} <= set(keys)


def test_format_facts_names_the_blas_path_when_the_kernels_are_off():
    off = _info_json({"FOVEA_JIT": "0"})
    text = format_facts(off)
    assert "conv kernels:" in text and "BLAS (im2col / shifted products)" in text
    assert "FOVEA_JIT=0" in text
