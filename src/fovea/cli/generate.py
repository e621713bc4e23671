"""``fovea generate``: train generative models and draw, interpolate and evaluate them
(see docs/generative.md)."""

from __future__ import annotations

import argparse
import json

from fovea.errors import UserError


def register(sub) -> None:
    """Add ``fovea generate train|sample|interpolate|arithmetic|evaluate`` to the ``fovea``
    parser."""
    from fovea.data.splits import DATASET_NAMES
    from fovea.generative.run import GEN_MODELS, TOY_WGAN_DEFAULTS, GenConfig
    from fovea.generative.toy import TOY_SETS

    d = GenConfig()
    p = sub.add_parser("generate", help="generative models: AE, VAE, GANs, PixelCNN",
                       description="Train generative models (autoencoders, VAEs, GANs, "
                                   "PixelCNN) and sample, interpolate and evaluate them.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    t = actions.add_parser("train", help="train a model into a run directory",
                           description="Train a generative model and write a run directory "
                                       "(weights, checkpoints, sample grids per epoch).")
    t.add_argument("model", choices=GEN_MODELS)
    t.add_argument("--dataset", default=None,
                   help=", ".join((*DATASET_NAMES, *TOY_SETS)) + f" (default {d.dataset})")
    t.add_argument("--data-dir", default=None, help="where downloaded data sets are cached")
    t.add_argument("--epochs", type=int, default=None,
                   help=f"default 10 (wgan-gp on toy sets: {TOY_WGAN_DEFAULTS['epochs']} of "
                        "100,000 points)")
    t.add_argument("--batch-size", type=int, default=None,
                   help="default: the model's recipe (wgan-gp on toy sets: 256)")
    t.add_argument("--lr", type=float, default=None,
                   help="default: the model's recipe (wgan-gp on toy sets: 1e-3)")
    t.add_argument("--latent", type=int, default=None,
                   help="latent / code dimension (wgan-gp on toy sets: 2)")
    t.add_argument("--hidden", type=int, default=None,
                   help="MLP width (vae, ae, toy-set GANs: wgan-gp 256, dcgan/lsgan 128), "
                        "base channels (image GANs, pixelcnn)")
    t.add_argument("--lr-decay", default=None, choices=("none", "linear"),
                   help="linear: the learning rate falls linearly to 0 over the run "
                        "(default: linear for wgan-gp on toy sets, none otherwise)")
    t.add_argument("--arch", default=None, choices=("mlp", "conv"), help="ae: architecture")
    t.add_argument("--noise", type=float, default=None,
                   help="ae: denoising noise std (default 0: a plain autoencoder)")
    t.add_argument("--likelihood", default=None, choices=("bernoulli", "gaussian"),
                   help="vae/cvae decoder (default bernoulli)")
    t.add_argument("--layers", type=int, default=None, help="pixelcnn: residual blocks")
    t.add_argument("--gated", action="store_true", help="pixelcnn: gated units")
    t.add_argument("--binarize", action="store_true",
                   help="vae/cvae/ae: binarised pixels (x > 0.5; pixelcnn always binarises)")
    t.add_argument("--n-critic", type=int, default=None, help="wgan-gp: critic steps per "
                   "generator step (default 5)")
    t.add_argument("--gp-weight", type=float, default=None,
                   help="wgan-gp: λ (default 10; 0.1 on toy sets, the paper's toy value)")
    t.add_argument("--max-train", type=int, default=None,
                   help="train on the first N training images only (quick runs)")
    t.add_argument("--seed", type=int, default=None, help="default 0")
    t.add_argument("--out", default=None, help="the run directory (default runs/<dataset>-"
                   "<model>-<time>); an existing one is refused")
    t.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    t.add_argument("--resume", metavar="DIR", default=None,
                   help="continue the run in DIR (only --epochs may change)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)

    s = actions.add_parser("sample", help="write a PNG grid of samples",
                           description="Draw samples from a trained run (a PNG grid; a "
                                       "scatter plot for toy sets).")
    s.add_argument("run_dir")
    s.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    s.add_argument("--class", dest="cls", type=int, default=None,
                   help="conditional models: sample only this class")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default=None, help="the PNG (default RUN/sample-N-seedS.png)")
    s.set_defaults(func=_sample)

    i = actions.add_parser("interpolate", help="latent interpolations (and a 2-D manifold)",
                           description="Interpolate in a trained model's latent space: one "
                                       "row per pair of endpoints; a VAE with --latent 2 also "
                                       "gets manifold.png.")
    i.add_argument("run_dir")
    i.add_argument("--pairs", type=int, default=6)
    i.add_argument("--steps", type=int, default=10)
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--out", default=None)
    i.set_defaults(func=_interpolate)

    a = actions.add_parser("arithmetic", help="latent vector arithmetic along an attribute",
                           description="Find the latent direction of an attribute measured on "
                                       "generated images (ink, slant or width: mean codes of "
                                       "the top minus the bottom 10%% of 2000 draws) and add "
                                       "it to fresh codes: one row per code, alpha from -1.5 "
                                       "to 1.5.")
    a.add_argument("run_dir")
    a.add_argument("--attribute", default="ink", choices=("ink", "slant", "width"))
    a.add_argument("--rows", type=int, default=6)
    a.add_argument("--alphas", type=float, nargs="+", default=None,
                   help="multiples of the direction (default -1.5 -1 -0.5 0 0.5 1 1.5)")
    a.add_argument("--class", dest="cls", type=int, default=None,
                   help="conditional models: the class of every image (default 0)")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--out", default=None, help="the PNG (default RUN/arithmetic-ATTR.png)")
    a.set_defaults(func=_arithmetic)

    e = actions.add_parser("evaluate", help="test metrics (nats, classifier FID, modes)",
                           description="Measure a trained run on its test split and write "
                                       "RUN/evaluation.json.")
    e.add_argument("run_dir")
    e.add_argument("--classifier", metavar="RUN_DIR", default=None,
                   help="GANs on images: a `fovea train` run on the same data (its features "
                        "define the classifier FID and precision/recall)")
    e.add_argument("--n", type=int, default=1000, help="GAN samples (default 1000)")
    e.add_argument("--iw-samples", type=int, default=5000,
                   help="vae: importance samples per image (default 5000)")
    e.add_argument("--iw-images", type=int, default=100,
                   help="vae: test images for the importance-weighted bound (default 100)")
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(func=_evaluate)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


_OPTIONS = ("dataset", "data_dir", "epochs", "batch_size", "lr", "latent", "hidden", "arch",
            "noise", "likelihood", "layers", "n_critic", "gp_weight", "lr_decay", "max_train",
            "seed", "out")


def _train(args: argparse.Namespace) -> int:
    from fovea.generative.run import GenConfig, train_generative
    from fovea.train.trainer import TrainingDiverged

    if args.resume and args.overwrite:
        raise ValueError("generate train: --overwrite cannot be used with --resume")
    cfg, given = GenConfig(model=args.model), set()
    for name in _OPTIONS:
        value = getattr(args, name)
        if value is not None:
            setattr(cfg, name, value)
            given.add(name)
    for flag in ("gated", "binarize"):
        if getattr(args, flag):
            setattr(cfg, flag, True)
            given.add(flag)
    cfg.progress = not args.no_progress
    try:
        m = train_generative(cfg, resume_dir=args.resume, given=given, overwrite=args.overwrite)
    except TrainingDiverged as exc:
        raise UserError(f"training stopped: {exc}") from None
    shown = {k: round(v, 4) for k, v in m.items()
             if k.startswith("test_") or k in ("modes_covered", "high_quality")}
    print(f"{m['model']} on {m['dataset']}: {m['epochs']} epochs in {m['seconds']:.1f}s "
          + (json.dumps(shown) if shown else ""))
    print(f"run written to {m['run_dir']}")
    return 0


def _sample(args) -> int:
    from fovea.generative.tools import sample_run

    print(f"wrote {sample_run(args.run_dir, args.n, args.out, args.seed, args.cls)}")
    return 0


def _interpolate(args) -> int:
    from fovea.generative.tools import interpolate_run

    for path in interpolate_run(args.run_dir, args.pairs, args.steps, args.out, args.seed):
        print(f"wrote {path}")
    return 0


def _arithmetic(args) -> int:
    from fovea.generative.tools import arithmetic_run

    res = arithmetic_run(args.run_dir, args.attribute, args.rows, args.alphas, cls=args.cls,
                         seed=args.seed, out=args.out)
    means = "  ".join(f"{a:+.2g}: {m:.4g}" for a, m in zip(res["alphas"], res["column_means"]))
    print(f"{res['attribute']} by alpha  {means}")
    print(f"{res['monotonic_rows']} of {res['rows']} rows rise with every step of alpha")
    print(f"wrote {res['path']}")
    return 0


def _evaluate(args) -> int:
    from fovea.generative.tools import evaluate_run

    res = evaluate_run(args.run_dir, args.classifier, args.n, args.iw_samples, args.iw_images,
                       args.seed)
    print(json.dumps(res, indent=2))
    return 0
