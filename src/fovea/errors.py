"""User-facing errors: one clear line on stderr and an exit code, not a traceback.

Library code raises ordinary exceptions for what a user can get wrong (``ValueError`` for a
bad argument, ``TypeError`` for a wrong kind of value, ``OSError`` for a missing or unreadable
file) and :class:`UserError` for a failure that is none of those but still the user's to fix
(a training run that diverged). A command-line entry point hands its work to
:func:`run_reported`, which turns any of them into the one line ``<prog>: error: <message>``
and exit code 2, the code argparse uses for a bad command line; with ``debug=True`` (the
``--debug`` flag) the exception propagates instead, traceback and all. Any other exception
is a bug in fovea and always shows its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

EXIT_ERROR = 2  # a user error: bad arguments, data or files (argparse's code for bad usage)
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as a shell reports it


class UserError(Exception):
    """An error caused by the user's input: printed as one clear line, no traceback."""


class ShapeError(ValueError, RuntimeError):
    """Tensors of shapes an op cannot take. PyTorch raises ``RuntimeError`` there, so
    ``except RuntimeError`` (PyTorch habit) and ``except ValueError`` both catch it."""


class DTypeError(TypeError, RuntimeError):
    """A tensor of a dtype an op cannot take (PyTorch: ``RuntimeError``); also a ``TypeError``."""


# What :func:`run_reported` reports as one line (FileNotFoundError is an OSError).
USER_ERRORS: tuple[type[BaseException], ...] = (UserError, ValueError, TypeError, OSError)


def report(prog: str, error: BaseException | str, file: TextIO | None = None) -> None:
    """Print ``<prog>: error: <error>`` on ``file`` (default: standard error)."""
    print(f"{prog}: error: {error}", file=file if file is not None else sys.stderr)


def run_reported(prog: str, call: Callable[[], int | None], debug: bool = False) -> int:
    """Run ``call()`` and return its exit code (None counts as 0).

    A :data:`USER_ERRORS` exception is reported as one line and gives :data:`EXIT_ERROR`
    (with ``debug`` it is raised again instead); Ctrl-C prints ``<prog>: interrupted`` and
    gives :data:`EXIT_INTERRUPTED`.
    """
    try:
        return int(call() or 0)
    except USER_ERRORS as exc:
        if debug:
            raise
        report(prog, exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
