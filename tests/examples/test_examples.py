"""examples/: the five PyTorch-style programs run for a few steps on fovea and, when PyTorch
is installed, on PyTorch (the same file; only the imports differ), and their loss falls.

Each example prints one JSON line last: ``first_loss``/``last_loss`` (the mean of the first
and last few steps; for the DCGAN the discriminator's loss, which falls from 2·ln 2 while it
learns; for REINFORCE the episode return, which rises)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

# (script, arguments for a short run)
CASES = {
    "convnet_sgd": ["--steps", "120"],
    "classifier": ["--epochs", "2", "--steps", "30"],
    "vae": ["--steps", "40"],
    "dcgan": ["--steps", "12"],
    "reinforce": ["--episodes", "60"],
}


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _torch_ready(name: str) -> str | None:
    """Why the PyTorch run of ``name`` cannot happen here (None when it can)."""
    if not _available("torch"):
        return "PyTorch (the oracle) is not installed"
    if name == "classifier":
        try:  # torchvision must import against this torch build, not just be present
            subprocess.run([sys.executable, "-c", "import torchvision.transforms"], check=True,
                           capture_output=True, timeout=120)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return "torchvision (the classifier's transforms under PyTorch) is not importable"
    return None


def _run(name: str, backend: str) -> dict:
    env = dict(os.environ, BACKEND=backend)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), *CASES[name]],
                          capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, f"{name} on {backend} failed:\n{proc.stderr[-3000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["example"] == name and result["backend"] == backend
    return result


def _check_learning(name: str, r: dict) -> None:
    if name == "reinforce":
        assert r["last_return"] > r["first_return"], r
    else:
        assert r["last_loss"] < r["first_loss"], r


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_example_learns_on_fovea(name):
    if name == "reinforce" and not _available("gymnasium"):
        pytest.skip("gymnasium is not installed (pip install 'fovea[rl]')")
    _check_learning(name, _run(name, "fovea"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_example_learns_on_pytorch(name):
    reason = _torch_ready(name)
    if reason:
        pytest.skip(reason)
    if name == "reinforce" and not _available("gymnasium"):
        pytest.skip("gymnasium is not installed")
    _check_learning(name, _run(name, "torch"))


def _bound_names(lines: list[str]) -> set[str]:
    """The names that import lines bind (``import a.b as c`` -> c, ``from a import b`` -> b)."""
    names = set()
    for line in lines:
        imported = line.split(" import ")[-1] if line.startswith("from ") else line[len("import "):]
        for part in imported.split(","):
            words = part.split()
            names.add(words[-1] if "as" in words else words[0].split(".")[0])
    return names


def test_examples_differ_only_in_their_import_lines():
    """The `if BACKEND == "torch": ... else: ...` block holds only imports, and both
    branches bind the same names: everything else is one program for both backends."""
    for name in CASES:
        text = (EXAMPLES / f"{name}.py").read_text()
        _, _, rest = text.partition('if BACKEND == "torch":\n')
        assert rest, f"{name}.py has no backend switch"
        block = []
        for line in rest.splitlines():  # up to the first top-level line after `else:`
            if line and not line.startswith(" ") and line != "else:":
                break
            block.append(line)
        torch_branch, _, fovea_branch = "\n".join(block).partition("\nelse:\n")
        branches = [[ln.strip() for ln in b.splitlines() if ln.strip()]
                    for b in (torch_branch, fovea_branch)]
        for lines in branches:
            assert lines and all(ln.startswith(("import ", "from ")) for ln in lines), name
        assert _bound_names(branches[0]) == _bound_names(branches[1]), name
