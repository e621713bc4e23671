"""``fovea ensemble RUN_DIR...``: average the softmax predictions of several trained runs (or
of one run's snapshots) and report each model's and the ensemble's accuracy."""

from __future__ import annotations

import json


def register(sub) -> None:
    """Add ``fovea ensemble`` to the ``fovea`` parser."""
    p = sub.add_parser("ensemble", help="accuracy of an ensemble of trained runs (mean softmax)",
                       description="Average the class probabilities of several runs trained on "
                                   "the same data set; print each model's and the ensemble's "
                                   "accuracy.")
    p.add_argument("run_dirs", metavar="RUN_DIR", nargs="+")
    p.add_argument("--snapshots", action="store_true",
                   help="use each run's snapshots (fovea train --snapshots K) as the members")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--data-dir", default=None, help="default: the first run's")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from fovea.train.ensemble import ensemble

    r = ensemble(args.run_dirs, snapshots=args.snapshots, split=args.split,
                 data_dir=args.data_dir)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    width = max(len(m["name"]) for m in r["members"] + [{"name": "ensemble"}])
    print(f"{r['dataset']} {r['split']} accuracy ({r['examples']} images)")
    for m in r["members"]:
        print(f"  {m['name']:<{width}}  {m['accuracy']:.4f}")
    gain = r["ensemble_accuracy"] - r["best_member_accuracy"]
    print(f"  {'ensemble':<{width}}  {r['ensemble_accuracy']:.4f}  ({gain:+.4f} over the best "
          f"member, mean of {len(r['members'])} softmax outputs)")
    return 0
