"""The ``fovea`` command's top level: --version, --help of every subcommand, errors as one
line with exit code 2, tracebacks with --debug, and the ways to start it."""

import os
import subprocess
import sys
import tomllib

import pytest

import fovea
from fovea.cli import build_parser, main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Every subcommand a user can type, nested ones included.
COMMANDS = [["train"], ["evaluate"], ["predict"], ["runs"], ["classic"], ["classic", "knn"],
            ["classic", "svm"], ["classic", "softmax"], ["classic", "two-layer"], ["bench"],
            ["graph"], ["info"], ["datasets"], ["rl"], ["rl", "train"], ["rl", "evaluate"],
            ["rl", "play"], ["generate"], ["lm"], ["caption"], ["viz"], ["serve"], ["detect"],
            ["segment"], ["summary"], ["ensemble"], ["tune"], ["export"]]


def _fovea(*argv, **kwargs):
    """``python -m fovea.cli ARGV`` in a fresh process."""
    return subprocess.run([sys.executable, "-m", "fovea.cli", *argv], capture_output=True,
                          text=True, **kwargs)


def test_version_prints_the_project_version(capsys):
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        version = tomllib.load(f)["project"]["version"]
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == f"fovea {version}\n"
    assert fovea.__version__ == version


def test_python_dash_m_fovea_runs_the_command():
    out = subprocess.run([sys.executable, "-m", "fovea", "--version"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and out.stdout == f"fovea {fovea.__version__}\n"


def test_no_command_prints_help_listing_every_subcommand(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: fovea")
    for name in ("train", "evaluate", "predict", "classic", "bench", "graph", "info",
                 "datasets"):
        assert f"\n    {name} " in out, name


def test_the_parser_has_exactly_the_subcommands_tested_here():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted({c[0] for c in COMMANDS})
    classic = next(a for a in sub.choices["classic"]._actions if a.dest == "model")
    nested = [c[1] for c in COMMANDS if len(c) == 2 and c[0] == "classic"]
    assert sorted(classic.choices) == sorted(nested)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_subcommand_help_works(capsys, command):
    with pytest.raises(SystemExit) as e:
        main([*command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: fovea {' '.join(command)} ")
    assert "--help" in out and "--debug" in out


def test_an_unknown_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["no-such-command"])
    assert e.value.code == 2
    assert "invalid choice: 'no-such-command'" in capsys.readouterr().err


def test_a_user_error_is_one_line_on_stderr_with_exit_code_2(tmp_path):
    r = _fovea("evaluate", str(tmp_path))
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == f"fovea evaluate: error: {tmp_path}/run.json: missing; is {tmp_path} " \
                       "a fovea run directory?\n"


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback_of_a_user_error(tmp_path, where):
    argv = ["evaluate", str(tmp_path)]
    argv.insert(0 if where == "before" else 1, "--debug")
    r = _fovea(*argv)
    assert r.returncode == 1  # the interpreter's code for an uncaught exception
    assert r.stderr.startswith("Traceback (most recent call last):")
    assert "run.json: missing" in r.stderr.splitlines()[-1]


@pytest.mark.parametrize("argv", [["--debug", "classic", "knn"], ["classic", "--debug", "knn"],
                                  ["classic", "knn", "--debug"]])
def test_debug_raises_in_process_wherever_it_is_given(argv):
    with pytest.raises(ValueError, match="unknown data set 'no-such-set'"):
        main([*argv, "--dataset", "no-such-set"])


def test_without_debug_the_same_error_is_one_line(capsys):
    assert main(["classic", "knn", "--dataset", "no-such-set"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fovea classic: error: load_dataset: unknown data set 'no-such-set'")
    assert err.count("\n") == 1


def test_the_command_runs_as_a_module():
    r = _fovea("--help", check=True)
    assert r.stdout.startswith("usage: fovea") and "COMMAND" in r.stdout


def test_the_console_script_entry_point_is_fovea_cli_main():
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        scripts = distribution("fovea").entry_points.select(group="console_scripts")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout, not installed
        pytest.skip("fovea is not installed")
    (script,) = [ep for ep in scripts if ep.name == "fovea"]
    assert script.value == "fovea.cli:main"
    assert script.load() is main
