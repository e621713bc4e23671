"""``fovea train``: train a classifier and write a run directory (see docs/training.md)."""

from __future__ import annotations

import argparse
from dataclasses import fields

from fovea.errors import UserError


def register(sub) -> None:
    """Add ``fovea train`` to the ``fovea`` parser."""
    from fovea.data.catalog import TRAIN_DEFAULTS
    from fovea.data.splits import DATASET_NAMES
    from fovea.models import MODELS
    from fovea.train.run import OPTIMIZERS, SCHEDULES, TrainConfig
    from fovea.train.trainer import TTA_MODES

    d = TrainConfig()
    p = sub.add_parser(
        "train", help="train a classifier (default: a small ConvNet on the bundled digits)",
        description="Train an image classifier and write a run directory with the weights "
                    "(model.safetensors), metrics.json, a report (PNG figures) and a checkpoint.")
    p.add_argument("--dataset", default=None,
                   help=", ".join(DATASET_NAMES) + " or folder:PATH (default digits; "
                        "`fovea datasets` lists what is installed here)")
    p.add_argument("--data-dir", default=None, help="where downloaded data sets are cached")
    p.add_argument("--image-size", type=int, default=None, metavar="N",
                   help="folder data sets: resize every image to NxN")
    p.add_argument("--channels", type=int, default=None, choices=(1, 3),
                   help="folder data sets: convert every image to 1 (grayscale) or 3 (RGB)")
    p.add_argument("--model", default=None, choices=sorted(MODELS),
                   help=f"architecture (default {d.model})")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"epochs (default {d.epochs}" + "".join(
                       f"; {v['epochs']} for {k}" for k, v in TRAIN_DEFAULTS.items()
                       if "epochs" in v) + ")")
    p.add_argument("--batch-size", type=int, default=None, help=f"default {d.batch_size}")
    p.add_argument("--lr", type=float, default=None, help=f"learning rate (default {d.lr})")
    p.add_argument("--optimizer", default=None, choices=OPTIMIZERS,
                   help=f"default {d.optimizer}")
    p.add_argument("--momentum", type=float, default=None, help="for momentum/nesterov SGD")
    p.add_argument("--weight-decay", type=float, default=None,
                   help=f"L2 weight decay (default {d.weight_decay})")
    p.add_argument("--schedule", default=None, choices=SCHEDULES,
                   help=f"learning-rate schedule, stepped per epoch (default {d.schedule})")
    p.add_argument("--augment", default=None,
                   help="comma-separated: crop,flip,affine,jitter,cutout (default none)")
    p.add_argument("--seed", type=int, default=None, help="fixes initialisation, shuffling, "
                   "augmentation and dropout (default 0)")
    p.add_argument("--grad-clip", type=float, default=None, help="clip the gradient norm")
    p.add_argument("--early-stopping", type=int, default=None,
                   help="stop after this many epochs without a better validation accuracy")
    p.add_argument("--num-workers", type=int, default=None, help="data loading threads")
    p.add_argument("--device", default=None, help="where to train: cpu or cuda (a GPU through "
                   "CuPy, docs/gpu.md; batches are prefetched to it) (default cpu)")
    p.add_argument("--out", default=None, help="the run directory (default runs/<dataset>-"
                   "<model>-<time>, with -2, -3, ... if taken); an existing one is refused")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run in an existing --out (kept until the new run has "
                        "its first checkpoint)")
    p.add_argument("--resume", metavar="DIR", default=None,
                   help="continue the run in DIR up to its planned epochs (or --epochs); its "
                        "other options are fixed by the run")
    p.add_argument("--tensorboard", action="store_true",
                   help="log losses, accuracies, learning rate, histograms, update/weight "
                        "ratios and sample predictions to RUN/tensorboard (needs tensorboardX)")
    p.add_argument("--init", metavar="RUN_DIR|FILE", default=None,
                   help="start from these weights (a run directory, .safetensors or PyTorch "
                        ".pth) with a new classifier head (docs/transfer.md)")
    p.add_argument("--freeze", default=None, choices=("backbone", "none"),
                   help="backbone: train only the head, batch norm in eval mode (default none)")
    p.add_argument("--head-lr", type=float, default=None, help="learning rate of the head "
                   "(default --lr)")
    p.add_argument("--backbone-lr", type=float, default=None,
                   help="learning rate of the rest (default --lr)")
    _add_technique_options(p)
    p.add_argument("--config", metavar="FILE", default=None,
                   help="a TOML file with the same keys (command-line options override it)")
    p.add_argument("--train-eval-size", type=int, default=None, metavar="N",
                   help="measure the per-epoch training accuracy on a fixed random sample of N "
                        "training images (default: all; the pass costs a third of an epoch "
                        "of a small ResNet)")
    p.add_argument("--tta", default=None, choices=TTA_MODES,
                   help="also report the test accuracy with test-time augmentation: flip "
                        "averages the softmax of each image and its mirror "
                        "(metrics.json test_accuracy_tta)")
    p.add_argument("--overfit-small", action="store_true",
                   help="sanity check: train on 20 examples without regularisation; must "
                        "reach 100%% training accuracy")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-validation", dest="validation", action="store_const", const=False,
                   default=None,
                   help="train on the training and validation splits together (a final "
                        "model once the options are chosen); no per-epoch validation")
    p.add_argument("--no-sync-bn", dest="sync_bn", action="store_const", const=False,
                   default=None,
                   help="with --nproc: each process's own batch statistics (PyTorch DDP's "
                        "default, no collective per layer) instead of SyncBatchNorm")
    p.add_argument("--nproc", type=int, default=None, metavar="N",
                   help="data-parallel training on N local processes through mpiexec (the "
                        "distributed extra); --batch-size stays the global batch. Under your "
                        "own mpiexec/srun launch, leave it out (docs/distributed.md)")
    p.set_defaults(func=run)
    global _PARSER
    _PARSER = p


_PARSER = None  # ``fovea train``'s parser: --nproc rebuilds the command line from it


def _add_technique_options(p) -> None:
    """The lectures' regularisers and averaging (docs/training.md, "Regularisers")."""
    g = p.add_argument_group("regularisers and averaging (off by default)")
    g.add_argument("--ema", type=float, default=None, metavar="DECAY",
                   help="keep an exponential moving average of the weights (e.g. 0.999); "
                        "the run's weights are the average")
    g.add_argument("--label-smoothing", type=float, default=None, metavar="EPS",
                   help="train against (1 - EPS) one-hot + EPS uniform targets (e.g. 0.1)")
    g.add_argument("--mixup", type=float, default=None, metavar="ALPHA",
                   help="MixUp training batches, lambda ~ Beta(ALPHA, ALPHA) (e.g. 0.2)")
    g.add_argument("--cutmix", type=float, default=None, metavar="ALPHA",
                   help="CutMix training batches (e.g. 1.0); with --mixup, one per batch")
    g.add_argument("--drop-path", type=float, default=None, metavar="P",
                   help="stochastic depth in residual blocks, rising linearly to P")
    g.add_argument("--max-norm", type=float, default=None, metavar="C",
                   help="rescale each unit's incoming weights to norm <= C after each step")
    g.add_argument("--snapshots", type=int, default=None, metavar="K",
                   help="snapshot ensemble: K cosine cycles with restarts, the weights saved "
                        "after each (RUN/snapshots/; `fovea ensemble RUN --snapshots`)")


def config_from_args(args: argparse.Namespace):
    """The run's TrainConfig: defaults, then the ``--config`` file, then the options given."""
    return config_and_given(args)[0]


def config_and_given(args: argparse.Namespace):
    """The run's TrainConfig and the names of the options given (on the command line or in
    the ``--config`` file): ``--resume`` names those that the run fixes and ignores."""
    from fovea.train.run import TrainConfig

    given: set[str] = set()
    if args.config:
        cfg = TrainConfig.from_toml(args.config)
        given |= {f.name for f in fields(cfg)
                  if getattr(cfg, f.name) != getattr(TrainConfig(), f.name)}
    else:
        cfg = TrainConfig()
    flags = ("progress", "overfit_small", "tensorboard")
    for f in fields(cfg):
        value = getattr(args, f.name, None)
        if value is not None and f.name not in flags:
            setattr(cfg, f.name, value)
            given.add(f.name)
    for name in ("overfit_small", "tensorboard"):
        if getattr(args, name, False):
            setattr(cfg, name, True)
            given.add(name)
    cfg.progress = not args.no_progress
    return cfg.with_dataset_defaults(given), given


def child_argv(args: argparse.Namespace) -> list[str]:
    """``train`` and the options of ``args`` that differ from their defaults, without
    ``--nproc``: the command each process of a ``--nproc`` launch runs."""
    argv = ["train"]
    for action in _PARSER._actions:
        if action.dest in ("help", "nproc", "func") or not action.option_strings:
            continue
        value = getattr(args, action.dest, None)
        if value is None or value == action.default or value is argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._StoreConstAction):  # flags (store_true among them)
            if value == action.const:
                argv.append(action.option_strings[-1])
        else:
            argv += [action.option_strings[-1], str(value)]
    return argv


def run(args) -> int:
    from fovea.distributed import launch
    from fovea.errors import run_reported

    nproc = getattr(args, "nproc", None)
    if nproc is not None and nproc < 1:
        raise ValueError(f"train: invalid --nproc {nproc}: expected an integer >= 1")
    if launch.launched_world_size() > 1:
        # One process of an MPI launch: a failure stops every process (MPI_Abort), so that
        # none waits forever for this one; the error itself is reported here first.
        from fovea.train.distributed_run import world

        w = world()
        failed = []

        def call():
            try:
                return _run(args, quiet=not w.is_main)
            except BaseException:
                failed.append(True)
                raise

        code = run_reported("fovea train", call, debug=getattr(args, "debug", False))
        if failed:  # (an error the user can fix, reported above in one line)
            w.abort(code)
        return code
    if nproc is not None and nproc > 1:
        return launch.launch(nproc, child_argv(args))
    return _run(args)


def _run(args, quiet: bool = False) -> int:
    from fovea.train.run import train
    from fovea.train.trainer import TrainingDiverged

    cfg, given = config_and_given(args)
    if args.resume and args.overwrite:
        raise ValueError("train: --overwrite replaces an existing --out; it cannot be used "
                         "with --resume, which continues a run")
    try:
        m = train(cfg, resume_dir=args.resume, given=given, overwrite=args.overwrite)
    except TrainingDiverged as exc:
        raise UserError(f"training diverged: {exc}") from None
    if quiet:  # ranks > 0: rank 0 reports
        return 0
    val = "none" if m["val_accuracy"] is None else f"{m['val_accuracy']:.4f}"
    print(f"test accuracy {m['test_accuracy']:.4f} (val {val}, train "
          f"{m['train_accuracy']:.4f}) after {m['epochs']} epochs in {m['seconds']:.1f}s")
    if cfg.overfit_small:
        ok = m["final_train_accuracy"] == 1.0
        print("overfit check: " + ("passed (100% on 20 examples)" if ok else
                                   f"FAILED: {m['final_train_accuracy']:.2%} on 20 examples"))
        if not ok:
            return 1
    print(f"run written to {m['run_dir']}")
    return 0
