"""The ``fovea`` command's top level."""

import subprocess
import sys

import fovea
from fovea.cli import main


def test_version_and_help_list_subcommands(capsys):
    try:
        main(["--version"])
    except SystemExit as e:
        assert e.code == 0
    assert fovea.__version__ in capsys.readouterr().out
    assert main([]) == 0
    assert "graph" in capsys.readouterr().out


def test_graph_subcommand_prints_lecture_example(capsys):
    assert main(["graph"]) == 0
    out = capsys.readouterr().out
    assert "digraph" in out and "df/dx = -4, df/dy = -4, df/dz = 3" in out


def test_console_script_runs_as_a_module():
    r = subprocess.run([sys.executable, "-m", "fovea.cli", "--help"], capture_output=True,
                       text=True, check=True)
    assert "COMMAND" in r.stdout
