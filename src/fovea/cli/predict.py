"""``fovea predict RUN_DIR IMAGE...``: the top classes of image files under a trained run.

Each file that cannot be classified (missing, not an image, too large, of another size
without ``--resize``) gets one error line on standard error; the others are still
classified, and the exit code is 2 if any file failed.
"""

from __future__ import annotations

import sys

from fovea.errors import EXIT_ERROR


def register(sub) -> None:
    """Add ``fovea predict`` to the ``fovea`` parser."""
    p = sub.add_parser("predict", help="top-5 classes of image files under a trained run")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("images", metavar="IMAGE", nargs="+")
    p.add_argument("--top", type=int, default=5, help="classes to show per image (default 5)")
    p.add_argument("--resize", action="store_true",
                   help="resize images (and convert colour) to the model's input instead of "
                        "refusing a mismatch")
    p.set_defaults(func=run)


def run(args) -> int:
    from fovea.train.run import predict

    errors: list[tuple[str, str]] = []
    results = predict(args.run_dir, args.images, args.top, args.resize, errors=errors)
    for path, top in zip(args.images, results):
        if top is None:
            continue
        print(path)
        for cls, p in top:
            print(f"  {cls:>12s}  {p:.4f}")
    for _, message in errors:
        print(f"fovea predict: error: {message}", file=sys.stderr)
    return EXIT_ERROR if errors else 0
