"""Print one of the README's two Quick start commands, verbatim, for CI to run.

``main``: the first bash block under "## Quick start" (runs the main job);
``test``: the second (installs the test tools and runs the suite).
"""

import re
import sys
from pathlib import Path

readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
blocks = re.findall(r"```bash\n(.*?)\n```", section, flags=re.S)
if len(blocks) < 2:
    sys.exit("README.md: the Quick start section must hold two bash blocks (main job, tests)")
which = {"main": 0, "test": 1}[sys.argv[1]]
print(blocks[which].strip())
