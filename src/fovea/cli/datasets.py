"""``fovea datasets``: every data set fovea knows, whether it is on this machine, and how to
install the missing ones (see docs/datasets.md)."""

from __future__ import annotations

import json


def register(sub) -> None:
    """Add ``fovea datasets`` to the ``fovea`` parser."""
    p = sub.add_parser(
        "datasets", help="list the data sets, where each is installed, sizes and licences",
        description="List every data set fovea can load: whether it is available on this "
                    "machine and where from, its size, licence, and how to install it.")
    p.add_argument("--data-dir", default=None,
                   help="a data directory to search too (as fovea train --data-dir)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=run)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def run(args) -> int:
    from fovea.data.catalog import dataset_status

    rows = dataset_status(args.data_dir)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = [["NAME", "AVAILABLE", "IMAGES", "SHAPE", "CLASSES", "LICENCE", "WHERE"]]
    for r in rows:
        table.append([r["name"], "yes" if r["available"] else "no", r["images"], r["shape"],
                      "-" if r["classes"] is None else str(r["classes"]), r["licence"],
                      r["where"]])
    print(_table(table))
    missing = [r for r in rows if not r["available"]]
    if missing:
        print("\nto install:")
        for r in missing:
            print(f"  {r['name']}: {r['install']}")
    return 0
