"""docs/devices.md and the creation section of docs/engine.md stay true: their Python blocks
run, in order, in one namespace."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("page", ["devices.md", "engine.md"])
def test_the_python_blocks_of_the_page_run(page):
    path = DOCS / page
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)
    if page == "engine.md":  # the blocks of its "Creating tensors" section (the rest is prose)
        section = path.read_text().split("## Creating tensors", 1)[1].split("\n## ", 1)[0]
        blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(path), "exec"), namespace)  # noqa: S102 - our own docs
