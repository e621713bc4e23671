"""The ``fovea`` command. Each subcommand lives in its own module and registers itself here.

A subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (called with the parsed arguments, returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

import fovea

# Subcommand modules, in the order ``fovea --help`` lists them. A module that is not
# present yet (a later part of the curriculum) is skipped.
SUBCOMMAND_MODULES = [
    "fovea.train.cli",
    "fovea.classic.cli",
    "fovea.bench_cli",
    "fovea.graph_cli",
]


class UserError(Exception):
    """An error caused by the user's input: printed as one clear line, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fovea",
        description="fovea: deep learning for computer vision, from scratch on NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"fovea {fovea.__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError, TypeError, FileNotFoundError, OSError) as exc:
        if args.debug:
            raise
        print(f"fovea {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fovea {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
