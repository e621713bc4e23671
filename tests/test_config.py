"""fovea.config: the FOVEA_* flags are read once, in one module; tests switch them with
override(); the facts `fovea info` prints follow them."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from fovea import config
from fovea.backends.cpu import llvm
from fovea.backends.cpu import numba as nb
from fovea.backends.cpu.conv import jit_taps

SRC = Path(fovea.__file__).resolve().parent


@pytest.fixture
def fresh(monkeypatch):
    """Environment changes made in the test, then the settings re-read from the restored
    environment afterwards."""
    yield monkeypatch
    monkeypatch.undo()
    config.reload()


def test_flags_are_read_once_until_reload(fresh):
    before = config.settings()
    fresh.setenv("FOVEA_JIT", "0" if before.jit else "1")
    fresh.setenv("FOVEA_MALLOC_TUNING", "0")
    assert config.settings() is before  # the environment is not read again
    now = config.reload()
    assert now.jit is not before.jit and now.malloc_tuning is False
    assert config.settings() is now


def test_override_switches_the_kernels_and_restores_them():
    before = config.settings()
    with config.override(jit=False) as s:
        assert s.jit is False and config.settings() is s
        assert not llvm.available() and not nb.available()
        assert not jit_taps.supports(np.float32, 16, 16)
        with config.override(blas_tuning=False):  # nested: both apply
            assert config.settings().jit is False and config.settings().blas_tuning is False
        assert config.settings().blas_tuning is before.blas_tuning
    assert config.settings() is before


def test_override_rejects_unknown_names_and_leaves_nothing_behind():
    before = config.settings()
    with pytest.raises(TypeError), config.override(turbo=True):
        pass
    assert config.settings() is before


def test_override_jit_off_runs_the_blas_path_with_the_same_numbers():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 16, 6, 6)), rng.standard_normal((16, 16, 3, 3))
    outs = []
    for jit in (True, False):
        with config.override(jit=jit):
            jit_taps._cache.clear()
            outs.append(F.conv2d(fovea.tensor(x), fovea.tensor(w), padding=1).numpy())
            assert bool(jit_taps._cache) == (jit and llvm.available())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-10, atol=1e-10)


def test_info_facts_report_backend_kernels_threads_blas_and_flags():
    from fovea.cli.info import facts

    with config.override(jit=False):
        off = facts()
    d = facts()
    assert set(d) == {"fovea", "python", "numpy", "backend", "devices", "settings",
                      "environment", "threads", "llvm_conv_kernels", "numba_kernels", "blas",
                      "process_tuning", "data_dir"}
    assert d["devices"][0] == "cpu"
    assert d["backend"] == "cpu" and d["threads"] >= 1
    assert d["settings"] == {"jit": True, "blas_tuning": True, "malloc_tuning": True} \
        or os.environ.get("FOVEA_JIT") == "0"
    assert off["settings"]["jit"] is False
    assert off["llvm_conv_kernels"]["available"] is False
    assert off["numba_kernels"] == {"available": False, "threading_layer": None}
    assert set(d["blas"]) == {"library", "version", "threads", "accumulating_gemm"}
    assert d["llvm_conv_kernels"]["available"] == llvm.available()
    assert all(k.startswith("FOVEA_") for k in d["environment"])
    json.dumps(d)  # printable as JSON by `fovea info`


def test_environment_flags_reach_a_new_process(tmp_path):
    code = ("import json\n"
            "from fovea.cli.info import facts\n"
            "d = facts()\n"
            "print(json.dumps([d['settings'], d['llvm_conv_kernels']['available'],"
            " d['process_tuning']['malloc'], d['data_dir']]))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), FOVEA_JIT="0",
               FOVEA_MALLOC_TUNING="0", FOVEA_BLAS_TUNING="1", FOVEA_DATA_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    settings, llvm_on, malloc, data_dir = json.loads(out)
    assert settings == {"jit": False, "blas_tuning": True, "malloc_tuning": False}
    assert llvm_on is False and malloc is False and data_dir == str(tmp_path)


def _flag_constants(path: Path) -> set[str]:
    names = set(config._FLAGS.values())
    return {n.value for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.Constant) and n.value in names}


def test_no_module_but_config_names_a_flag():
    """Docstrings may mention FOVEA_JIT; code reading it may live in config.py only."""
    readers = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if _flag_constants(p)}
    assert readers == {"config.py"}
