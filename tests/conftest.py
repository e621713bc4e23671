"""Shared test setup: the tests directory is importable (``import oracle``), hypothesis is
derandomised so CI runs are repeatable."""

import os
import sys

from hypothesis import settings

sys.path.insert(0, os.path.dirname(__file__))

settings.register_profile("fovea", derandomize=True, deadline=None, max_examples=12,
                          print_blob=True)
settings.load_profile("fovea")
