"""docs/jit.md stays true: its Python blocks run, in order, in one namespace, and the graph it
prints is the one the first block's trace prints."""

import contextlib
import io
import re
import warnings
from pathlib import Path

from fovea.jit import TracerWarning

DOC = Path(__file__).resolve().parents[2] / "docs" / "jit.md"


def test_the_python_blocks_of_the_page_run_and_print_what_it_shows():
    text = DOC.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("error", TracerWarning)  # only where the page expects them
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    shown = re.search(r"```\n(graph\(.*?)```", text, flags=re.S).group(1).strip()
    assert out.getvalue().startswith(shown)
    assert "{'fold': 3, 'dce': 1, 'fuse': 0}" in out.getvalue()
    assert "input 0 has shape (5, 3, 2, 2) but the trace was recorded for (4, 3, 2, 2)" \
        in out.getvalue()
