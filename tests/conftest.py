"""Shared test setup: the tests directory is importable (``import oracle``), hypothesis is
derandomised so CI runs are repeatable, and the stand-in device is registered: the op
harness (``oracle.check_op``) runs every op test in ``SEAM_DIRS`` on it too.

With a GPU (``fovea.cuda.is_available()``) the harness runs them on ``"cuda"`` as well. With
``FOVEA_TEST_CUDA_SHIM=1`` the stand-in device runs the GPU backend's kernel package and
namespace (``fovea.backends.cuda``, its NumPy fallbacks) instead of the generic one: the whole
suite then exercises the CUDA backend's code paths on a machine without a GPU."""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, os.path.dirname(__file__))

import fovea  # noqa: E402
import oracle  # noqa: E402
from backends import standin  # noqa: E402
from fovea import backends  # noqa: E402

settings.register_profile("fovea", derandomize=True, deadline=None, max_examples=12,
                          print_blob=True)
settings.load_profile("fovea")

if os.environ.get("FOVEA_TEST_CUDA_SHIM") == "1":
    from fovea.backends.cuda import runtime as _cuda_runtime

    backends.register(_cuda_runtime.make_backend(standin.xp, (standin.StandInArray,),
                                                 name=standin.NAME))
else:
    standin.register()
GPU = fovea.cuda.is_available()

TESTS = Path(__file__).parent
SEAM_DIRS = {"ops", "engine", "nn"}
"""Test directories whose code goes through the backend seam: ``check_op`` runs their tests
on the stand-in device too."""


@pytest.fixture(autouse=True)
def _extra_devices(request):
    """Run check_op on the stand-in device too, in the directories of ``SEAM_DIRS``."""
    try:
        top = Path(str(request.node.fspath)).relative_to(TESTS).parts[0]
    except ValueError:
        top = None
    oracle.EXTRA_DEVICES[:] = ([standin.NAME] + (["cuda"] if GPU else [])
                               if top in SEAM_DIRS else [])
    yield
    oracle.EXTRA_DEVICES[:] = []
