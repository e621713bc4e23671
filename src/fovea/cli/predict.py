"""``fovea predict RUN_DIR IMAGE...``: the top classes of image files under a trained run."""

from __future__ import annotations


def register(sub) -> None:
    """Add ``fovea predict`` to the ``fovea`` parser."""
    p = sub.add_parser("predict", help="top-5 classes of image files under a trained run")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("images", metavar="IMAGE", nargs="+")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--resize", action="store_true",
                   help="resize images (and convert colour) to the model's input instead of "
                        "refusing a mismatch")
    p.set_defaults(func=run)


def run(args) -> int:
    from fovea.train.run import predict

    for path, top in zip(args.images, predict(args.run_dir, args.images, args.top,
                                              args.resize)):
        print(path)
        for cls, p in top:
            print(f"  {cls:>12s}  {p:.4f}")
    return 0
