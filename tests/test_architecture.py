"""docs/architecture.md matches the code: its layer table covers every module of src/fovea,
every import (module-level or inside a function) goes to the same layer or a lower one, and
its worked examples run."""

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "fovea"
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _layer_table(text: str) -> dict[str, int]:
    """{"fovea.backends.cpu": 1, ...} from the "Who owns what" table."""
    section = text.split("## Who owns what", 1)[1].split("\n## ", 1)[0]
    layers = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit():
            for name in re.findall(r"`([\w.]+)`", cells[1]):
                layers["fovea." + name] = int(cells[0])
    return layers


LAYERS = _layer_table(DOC.read_text())


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    return ".".join(rel.parts).removesuffix(".__init__")


def _layer_of(module: str, layers=LAYERS) -> int | None:
    """The layer of the most specific table entry that contains ``module``."""
    best = None
    for name, layer in layers.items():
        if module == name or module.startswith(name + "."):
            if best is None or len(name) > len(best[0]):
                best = (name, layer)
    return None if best is None else best[1]


def _imports(path: Path, module: str) -> list[str]:
    """Every fovea module ``path`` imports, at any depth, relative imports resolved."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from fovea import backend` names a module; `from fovea.x import name` a name.
            found += [f"{target}.{a.name}" if target == "fovea" else target for a in node.names]
    return [f for f in found if f == "fovea" or f.startswith("fovea.")]


def _violations(module: str, imported: list[str], layers=LAYERS) -> list[str]:
    mine = _layer_of(module, layers)
    bad = []
    for target in imported:
        theirs = _layer_of(target, layers)
        if theirs is not None and mine is not None and theirs > mine:
            bad.append(f"{target} (layer {theirs})")
        if module.startswith("fovea.nn.functional") and target.startswith("fovea.nn.modules"):
            bad.append(f"{target} (nn.functional must not import nn.modules)")
    return bad


MODULES = sorted(p for p in SRC.rglob("*.py")
                 if p.name not in ("__main__.py",) and p != SRC / "__init__.py")


def test_the_table_names_every_module_of_the_package():
    missing = [_module_name(p) for p in MODULES if _layer_of(_module_name(p)) is None]
    assert not missing, f"docs/architecture.md's table does not place: {missing}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_go_to_the_same_layer_or_below(path):
    module = _module_name(path)
    bad = _violations(module, _imports(path, module))
    assert not bad, f"{module} (layer {_layer_of(module)}) imports {bad}"


def test_the_check_catches_upward_sideways_and_function_level_imports(tmp_path):
    layers = {"fovea.ops": 2, "fovea.nn": 3, "fovea.train": 5}
    assert _violations("fovea.ops.shape", ["fovea.nn.functional"], layers) == [
        "fovea.nn.functional (layer 3)"]
    assert _violations("fovea.train.run", ["fovea.ops", "fovea.nn"], layers) == []
    assert _violations("fovea.nn.functional.conv", ["fovea.nn.modules.conv"], layers)
    probe = tmp_path / "shape.py"
    probe.write_text("from fovea import tensor\n"
                     "def f():\n    from ..nn import modules\n    import fovea.train.run\n")
    assert _imports(probe, "fovea.ops.shape") == ["fovea.tensor", "fovea.nn", "fovea.train.run"]
    assert _layer_of("fovea.backends.cpu.conv.plan") == 1 and _layer_of("fovea.cli.info") == 6


def test_the_worked_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    for block in blocks:  # in order: a later block may use an earlier one's names
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
