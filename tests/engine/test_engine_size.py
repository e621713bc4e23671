"""The engine stays small enough to read in one sitting (DESIGN.md, convention 8)."""

from pathlib import Path

import fovea

CORE = ["tensor.py", "autograd.py", "_arrayns.py", "_diffns.py", "backends/__init__.py"]
BUDGET = 1700  # lines, docstrings and comments included


def test_core_engine_fits_the_line_budget():
    root = Path(fovea.__file__).parent
    lines = {name: len((root / name).read_text().splitlines()) for name in CORE}
    total = sum(lines.values())
    print(f"core engine: {total} lines {lines}")
    assert total <= BUDGET, f"the core engine grew to {total} lines (budget {BUDGET}): {lines}"
