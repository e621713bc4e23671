"""``python -m benchmarks``: the benchmark suite of this checkout (see ``fovea bench -h``).

A thin wrapper around :mod:`fovea.bench` that imports fovea from this checkout's ``src/``
(not an installed copy) and writes to ``benchmarks/results/`` by default — a full run only:
a partial one (``--only``, ``--models-only``, ``--layers-only``, ``--quick``) goes to
``benchmarks/results/partial/`` (not committed), so it never replaces the recorded results.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

from fovea.cli import bench as bench_cli  # noqa: E402


def output_folder(args: argparse.Namespace, default: str) -> str:
    """``--out`` if given; else the recorded results' folder for a full run and its
    ``partial/`` subfolder for a run of some cases only."""
    if args.out != default:
        return args.out
    partial = args.only or args.models_only or args.layers_only or args.quick
    return os.path.join(default, "partial") if partial else default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description="fovea against PyTorch on the CPU")
    bench_cli.add_arguments(parser, default_out=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    args.out = output_folder(args, parser.get_default("out"))
    args.command_line = "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv)
    try:
        return bench_cli.run(args)
    except ValueError as exc:
        print(f"python -m benchmarks: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
