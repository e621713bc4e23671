"""``fovea evaluate RUN_DIR``: the accuracy of a trained run on a data split."""

from __future__ import annotations


def register(sub) -> None:
    """Add ``fovea evaluate`` to the ``fovea`` parser."""
    p = sub.add_parser("evaluate", help="accuracy of a trained run on a data split")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--dataset", default=None, help="default: the run's data set")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.set_defaults(func=run)


def run(args) -> int:
    from fovea.train.run import evaluate

    r = evaluate(args.run_dir, args.dataset, args.data_dir, args.split)
    print(f"{r['dataset']} {r['split']} accuracy {r['accuracy']:.4f} ({r['examples']} images)")
    return 0
