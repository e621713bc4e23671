"""A trained run directory shared by the ``train``, ``evaluate`` and ``predict`` tests."""

import contextlib
import io
from types import SimpleNamespace

import pytest

from fovea.cli import main


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """``fovea train --epochs 2`` on the bundled digits (the default small ConvNet): the run
    directory, the exit code and what the command printed."""
    out = tmp_path_factory.mktemp("runs") / "r"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        rc = main(["train", "--epochs", "2", "--out", str(out), "--no-progress"])
    return SimpleNamespace(dir=out, rc=rc, stdout=printed.getvalue())


@pytest.fixture
def run_dir(trained):
    assert trained.rc == 0, trained.stdout
    return trained.dir
