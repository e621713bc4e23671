"""``fovea bench``: time fovea against PyTorch (side by side), or profile fovea's step.

Examples::

    fovea bench --quick                      # every case, small batches, a few rounds
    fovea bench --models-only --repeats 21   # the three training steps, carefully
    fovea bench --only conv3x3,maxpool       # cases whose name contains either string
    fovea bench --profile resnet20           # where ResNet-20's step spends its time
    fovea bench --device cuda                # training steps on the GPU, vs PyTorch's GPU
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def register(subparsers) -> None:
    """Add ``fovea bench`` to the ``fovea`` parser."""
    p = subparsers.add_parser(
        "bench", help="benchmark fovea against PyTorch on the CPU (or --profile a model)",
        description=__doc__.splitlines()[0], epilog=__doc__.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser, default_out: str = "bench_results") -> None:
    p.add_argument("--quick", action="store_true",
                   help="small batches and few rounds (for development; not for the record)")
    p.add_argument("--repeats", type=int, default=15,
                   help="interleaved rounds per case (default 15; a third of it with --quick)")
    p.add_argument("--threads", type=int, default=0,
                   help="threads for both libraries (default: every CPU available)")
    p.add_argument("--only", default=None,
                   help="comma-separated substrings: run the cases whose name contains one")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--models-only", action="store_true", help="only the training steps")
    group.add_argument("--layers-only", action="store_true", help="only the single layers")
    p.add_argument("--no-torch", action="store_true", help="time fovea alone")
    p.add_argument("--no-memory", action="store_true",
                   help="skip the peak-memory measurement (one subprocess per model)")
    p.add_argument("--budget", type=float, default=60.0,
                   help="seconds per case after which no more rounds start (default 60)")
    p.add_argument("--out", default=default_out,
                   help=f"folder for bench.json and bench.md (default {default_out})")
    p.add_argument("--profile", nargs="?", const="all", default=None, metavar="MODEL",
                   help="profile fovea's training step per op and per layer instead "
                        "(mlp, three_layer_convnet, resnet20 or all)")
    p.add_argument("--steps", type=int, default=5, help="steps to profile (default 5)")
    p.add_argument("--device", default="cpu",
                   help="cuda: time the training steps (MLP, ConvNet, ResNet-20, resnet18) on "
                        "the GPU against PyTorch on the same GPU, with memory "
                        "(fovea.bench.device; --only, --quick, --repeats, --no-torch apply)")
    p.add_argument("--overhead", action="store_true",
                   help="measure the engine's per-op Python overhead on tiny tensors instead")


def run(args) -> int:
    from fovea.bench import Config, format_profile, profile_model, profile_torch, report, run_suite
    from fovea.bench.cases import MODEL_SPECS

    if args.threads < 0:
        raise ValueError(f"bench: --threads must be >= 1, got {args.threads}")
    if args.device != "cpu":
        return run_device(args)
    if args.overhead:
        from fovea.bench import overhead

        text = overhead.format_rows(overhead.measure(use_torch=not args.no_torch))
        print(text)
        report.write_atomic(os.path.join(args.out, "overhead.md"), text)
        return 0
    if args.profile is not None:
        names = list(MODEL_SPECS) if args.profile == "all" else [args.profile]
        for name in names:
            if name not in MODEL_SPECS:
                raise ValueError(f"bench: --profile: unknown model {name!r}; choose from "
                                 f"{', '.join(MODEL_SPECS)} or all")
        profiles, texts = [], []
        for name in names:
            p = profile_model(name, steps=args.steps, quick=args.quick,
                              threads=args.threads or None)
            t = None if args.no_torch else profile_torch(name, steps=args.steps,
                                                         quick=args.quick,
                                                         threads=args.threads or None)
            p["torch_ops"] = t
            profiles.append(p)
            texts.append(format_profile(p, t))
        text = "\n".join(texts)
        print(text)
        report.write_atomic(os.path.join(args.out, "profile.md"), text)
        report.write_atomic(os.path.join(args.out, "profile.json"),
                            json.dumps(profiles, indent=2) + "\n")
        return 0
    cfg = Config(quick=args.quick, repeats=args.repeats, threads=args.threads, only=args.only,
                 models_only=args.models_only, layers_only=args.layers_only,
                 use_torch=not args.no_torch, memory=not args.no_memory, budget_s=args.budget,
                 command=getattr(args, "command_line", None) or "fovea bench " + " ".join(
                     a for a in sys.argv[1:] if a != "bench"))
    result = run_suite(cfg)
    jpath, mpath = report.write(result, args.out)
    print()
    print(report.markdown(result))
    print(f"wrote {jpath} and {mpath}")
    return 0


def run_device(args) -> int:
    """``fovea bench --device DEVICE``: the training steps on a device (fovea.bench.device)."""
    from fovea import backends
    from fovea.bench import device as dev
    from fovea.bench import report

    backends.get(args.device)  # the one-line error when the device is not there
    names = [n for n in dev.DEVICE_MODELS
             if not args.only or any(s in n for s in args.only.split(","))]
    if not names:
        raise ValueError(f"bench: --only {args.only!r} matches no model; choose from "
                         f"{', '.join(dev.DEVICE_MODELS)}")
    rounds = max(3, args.repeats // 3) if args.quick else args.repeats
    rows = []
    for name in names:
        rows.append(dev.measure(name, args.device, rounds=rounds, quick=args.quick,
                                use_torch=not args.no_torch))
        print(dev.markdown(rows[-1:], {}).splitlines()[-1], flush=True)
    env = dev.environment(args.device)
    text = dev.markdown(rows, env)
    print(text)
    report.write_atomic(os.path.join(args.out, "bench_device.md"), text)
    report.write_atomic(os.path.join(args.out, "bench_device.json"),
                        json.dumps({"environment": env, "rows": rows}, indent=2) + "\n")
    return 0
