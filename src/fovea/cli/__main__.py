"""``python -m fovea.cli``: the ``fovea`` command without the installed script."""

import sys

from fovea.cli import main

sys.exit(main())
