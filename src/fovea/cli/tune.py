"""``fovea tune SPACE.toml``: hyperparameter search over ``fovea train`` runs (docs/tune.md)."""

from __future__ import annotations

import sys


def register(sub) -> None:
    """Add ``fovea tune`` to the ``fovea`` parser."""
    p = sub.add_parser(
        "tune", help="hyperparameter search (random search, ASHA pruning; needs optuna)",
        description="Search the options of `fovea train` given as distributions in a TOML "
                    "file (lr = \"loguniform(1e-4, 1e-1)\", uniform, int, choice(...)). Every "
                    "trial is a run directory under OUT/trials; the study is OUT/study.db, so "
                    "rerunning the command continues it. Writes best_trials.md, lr_vs_reg.png "
                    "and parallel.png into OUT.")
    p.add_argument("space", metavar="SPACE.toml", nargs="?", help="the search space")
    p.add_argument("--out", default=None, help="output directory (default tune/<SPACE name>)")
    p.add_argument("--trials", type=int, default=20, help="trials in all, over every worker "
                   "and rerun (default 20)")
    p.add_argument("--jobs", type=int, default=1,
                   help="worker processes on this machine (default 1)")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="a shared study storage for many machines: any URL Optuna accepts "
                        "(postgresql://..., mysql://..., sqlite:///PATH) or a journal file "
                        "PATH.log (default sqlite:///OUT/study.db)")
    p.add_argument("--study-name", default="fovea")
    p.add_argument("--pruner", default="asha", choices=("asha", "hyperband", "median", "none"),
                   help="stop poor trials early (default asha: asynchronous successive "
                        "halving on the validation accuracy per epoch)")
    p.add_argument("--sampler", default="random", choices=("random", "tpe"),
                   help="default random (the lecture's random search)")
    p.add_argument("--seed", type=int, default=None, help="the sampler's seed (worker k of "
                   "--jobs gets SEED + k)")
    p.add_argument("--show", metavar="DIR", default=None,
                   help="print the report of the study in DIR (and redraw its figures)")
    p.add_argument("--refine", metavar="DIR", default=None,
                   help="print a narrower search space around DIR's best trials (coarse to "
                        "fine)")
    p.add_argument("--top", type=int, default=5, help="trials --refine keeps (default 5)")
    p.add_argument("--worker", action="store_true", help="internal: one worker of --jobs")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    import fovea.tune as tune

    if args.show or args.refine:
        if args.refine:
            sys.stdout.write(tune.refine(args.refine, args.top, args.storage, args.study_name))
            return 0
        s = tune.show(args.show, args.storage, args.study_name)
        _print(s)
        return 0
    if args.space is None:
        raise ValueError("tune: give a search-space file SPACE.toml (or --show DIR)")
    out = Path(args.out) if args.out else Path("tune") / Path(args.space).stem
    if args.worker:
        from fovea.tune.study import run_worker

        run_worker(args.space, out, args.trials, args.storage, args.study_name, args.pruner,
                   args.sampler, args.seed)
        return 0
    s = tune.run_tune(args.space, out, args.trials, args.jobs, args.storage, args.study_name,
                      args.pruner, args.sampler, args.seed)
    _print(s)
    return 0


def _print(s: dict) -> None:
    print(s["table"])
    if s["best"] is not None:
        b = s["best"]
        print(f"best: trial {b['number']} val accuracy {b['val_accuracy']:.4f} ({b['run_dir']})")
    print("report: " + ", ".join(s["files"]))
