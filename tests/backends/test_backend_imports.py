"""The import direction: kernels never import the layers above them.

Every module under ``src/fovea/backends/`` (and ``fovea/config.py``, which the kernels read)
is parsed, and each ``import`` / ``from ... import`` statement, at any depth (function-level
imports included), is resolved to an absolute module name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fovea

SRC = Path(fovea.__file__).resolve().parent
FORBIDDEN = ("fovea.nn", "fovea.optim", "fovea.train", "fovea.autograd", "fovea.tensor",
             "fovea.ops", "fovea.data", "fovea.classic", "fovea.models", "fovea.cli",
             "fovea.creation", "fovea.gradcheck", "fovea.bench")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[str]:
    """Absolute names of every module (or ``package.name``) that ``source`` imports."""
    out = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from fovea import nn` imports the module fovea.nn.
            out += [base] + [f"{base}.{a.name}" for a in node.names]
    return out


def _violations(source: str, module: str, is_package: bool = False) -> list[str]:
    return [name for name in imported_modules(source, module, is_package)
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]


def _modules():
    files = sorted((SRC / "backends").rglob("*.py")) + [SRC / "config.py"]
    return [pytest.param(f, id=str(f.relative_to(SRC))) for f in files]


@pytest.mark.parametrize("path", _modules())
def test_backends_and_config_import_nothing_above_them(path):
    bad = _violations(path.read_text(), _module_name(path), path.name == "__init__.py")
    assert not bad, f"{path.relative_to(SRC)} imports {bad}"


def test_the_check_finds_upward_imports_of_every_form():
    src = ("import fovea.nn.functional\n"
           "from fovea import tensor\n"
           "def f():\n"
           "    from fovea.ops.arithmetic import relu\n"
           "from ....nn import losses\n"     # relative: fovea.nn
           "from ...blas import gemm\n")     # relative: fovea.backends.blas (allowed)
    bad = _violations(src, "fovea.backends.cpu.conv.plan")
    assert {"fovea.nn.functional", "fovea.tensor", "fovea.ops.arithmetic",
            "fovea.nn.losses"} <= set(bad)
    assert not any(b.startswith("fovea.backends") for b in bad)
    assert not _violations("import numpy as np\nfrom fovea import config\n"
                           "from fovea.backends.cpu import blas\n", "fovea.backends.cpu.x")


def _top_level_imports(path):
    tree = ast.parse(path.read_text())
    names = []
    for n in tree.body:
        if isinstance(n, ast.Import):
            names += [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            names.append(n.module or "")
    return names


def test_the_kernel_package_does_not_load_numpy_before_process_tuning():
    """Every fovea import runs backends/__init__ first, so it must import process_tuning
    before NumPy; backends.cpu, process_tuning and config must not import NumPy at all at
    import time (OpenBLAS reads OPENBLAS_THREAD_TIMEOUT once, when NumPy loads it)."""
    for path in (SRC / "backends" / "cpu" / "__init__.py",
                 SRC / "backends" / "cpu" / "process_tuning.py", SRC / "config.py"):
        names = _top_level_imports(path)
        assert not any(n == "numpy" or n.startswith("numpy.") for n in names), path
    names = [n for n in _top_level_imports(SRC / "backends" / "__init__.py")
             if n.startswith(("numpy", "fovea"))]
    assert names[0] == "fovea.backends.cpu", names
