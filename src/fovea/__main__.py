"""``python -m fovea``: the ``fovea`` command (the same as ``python -m fovea.cli``)."""

import sys

from fovea.cli import main

if __name__ == "__main__":
    sys.exit(main())
