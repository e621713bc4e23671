"""The ``fovea`` command: ``main`` parses the command line and runs one subcommand.

Each subcommand lives in its own module of this package, which exposes
``register(subparsers)``: it adds the subcommand's parser and sets ``func``, called with the
parsed arguments and returning an exit code. Errors the user can fix are printed as one line
with exit code 2 (see :mod:`fovea.errors`); ``fovea --debug COMMAND`` shows the traceback.
"""

from __future__ import annotations

import argparse

import fovea
from fovea.cli import (
    bench,
    caption,
    classic,
    datasets,
    detect,
    ensemble,
    evaluate,
    export,
    generate,
    graph,
    info,
    lm,
    predict,
    rl,
    runs,
    segment,
    serve,
    summary,
    train,
    tune,
    viz,
)
from fovea.errors import run_reported

# In the order ``fovea --help`` lists them.
SUBCOMMANDS = (train, evaluate, predict, runs, summary, ensemble, tune, classic, bench, graph,
               info, datasets, generate, lm, caption, viz, serve, detect, segment, rl,
               export)


def build_parser() -> argparse.ArgumentParser:
    """The ``fovea`` parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="fovea",
        description="fovea: deep learning for computer vision, from scratch on NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"fovea {fovea.__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(sub)
    for subparser in sub.choices.values():
        _accept_debug(subparser)
    return parser


def _accept_debug(parser: argparse.ArgumentParser) -> None:
    """Let ``--debug`` follow the subcommand too (``fovea train --debug``), at every level.

    Its default is SUPPRESS, so a subcommand that is not given it keeps the value parsed
    before the subcommand instead of resetting it to False.
    """
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show full tracebacks on errors")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                _accept_debug(subparser)


def main(argv: list[str] | None = None) -> int:
    """Run ``fovea`` on ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return run_reported(f"fovea {args.command}", lambda: args.func(args), debug=args.debug)

