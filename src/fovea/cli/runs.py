"""``fovea runs [DIR]``: the training runs under DIR (default ``runs``) as a table.

Examples::

    fovea runs                          # every run under ./runs, oldest first
    fovea runs ~/experiments --sort acc # best test accuracy first
    fovea runs --json                   # the same as JSON
    fovea runs --compare runs/a runs/b --out ab.png   # their curves in one figure
"""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    """Add ``fovea runs`` to the ``fovea`` parser."""
    from fovea.train.runs import SORT_KEYS

    p = sub.add_parser(
        "runs", help="list training runs (status, accuracy, time) or compare their curves",
        description=__doc__.splitlines()[0], epilog=__doc__.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", metavar="DIR", nargs="?", default="runs",
                   help="where to look for runs, recursively (default runs)")
    p.add_argument("--sort", default="date", choices=sorted(SORT_KEYS),
                   help="order: acc (test accuracy, best first), val, time (wall time), date "
                        "(start, oldest first, default), name, epochs, status, model, "
                        "dataset, lr")
    p.add_argument("--reverse", action="store_true", help="reverse the order")
    p.add_argument("--status", default=None, choices=("complete", "running", "interrupted",
                                                      "failed"),
                   help="only runs with this status")
    p.add_argument("--json", action="store_true", help="print the runs as a JSON list")
    p.add_argument("--compare", metavar="RUN", nargs="+", default=None,
                   help="plot the loss and accuracy curves of these runs in one figure")
    p.add_argument("--out", default="compare.png",
                   help="the figure of --compare (default compare.png)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from fovea.train.runs import find_runs, format_table, plot_compare, sort_runs, summarize

    if args.compare is not None:
        path = plot_compare(args.compare, args.out)
        print(f"figure written to {path}")
        return 0
    root = Path(args.dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such directory (runs are written to ./runs by "
                                f"default)")
    rows = [summarize(d) for d in find_runs(root)]
    if args.status:
        rows = [r for r in rows if r["status"] == args.status]
    rows = sort_runs(rows, args.sort, args.reverse)
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"no runs under {root}")
    else:
        print(format_table(rows))
    return 0
