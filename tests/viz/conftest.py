"""A small trained run (the default ConvNet on the bundled 8x8 digits, one epoch) shared by
the ``fovea viz`` and ``fovea serve`` tests."""

import contextlib
import io

import pytest

from fovea.cli import main


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("viz_runs") / "digits"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        rc = main(["train", "--epochs", "1", "--out", str(out), "--no-progress"])
    assert rc == 0, printed.getvalue()
    return out
