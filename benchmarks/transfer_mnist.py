"""The transfer-learning experiment of docs/transfer.md (Lecture 7): pretrain on Fashion-MNIST,
then train on the MNIST subset (mnist5k) with 10, 100 and all examples per class, three ways:

* ``scratch``: a new network;
* ``frozen``: the Fashion-MNIST backbone frozen (BN in eval mode), only a new head trains;
* ``finetune``: the backbone at a 10× smaller learning rate than the new head.

Usage::

    python benchmarks/transfer_mnist.py [--model small_cnn] [--pretrain-epochs 1 |
        --pretrain-steps N | --pretrain RUN_DIR] [--steps 300]
        [--per-class 10,100,all] [--seed 0] [--plot docs/transfer.png]

Pretraining is ``fovea train --dataset fashion_mnist --model MODEL --epochs E`` (its run
directory is reused when ``--pretrain RUN_DIR`` is given). Every fine-tuning run takes
``--steps`` Adam steps of batch 32 (lr 1e-3; the head at 1e-3, the backbone at 1e-4 when
fine-tuning) on a class-balanced subset of mnist5k's training split, and is scored on
mnist5k's test split. Prints a Markdown table and the wall time; writes the plot.
"""

from __future__ import annotations

import argparse
import json
import time


def _subset(y, per_class, rng):
    import numpy as np

    if per_class == "all":
        return np.arange(len(y))
    idx = [rng.choice(np.flatnonzero(y == c), int(per_class), replace=False)
           for c in np.unique(y)]
    return np.concatenate(idx)


def _run(args, mode, x, y, xt, yt, pre_dir, seed):
    import numpy as np

    import fovea
    from fovea import optim
    from fovea.models import build_model
    from fovea.models.transfer import setup_transfer

    fovea.manual_seed(seed)
    model = build_model(args.model, 1, (28, 28), 10)
    if mode == "scratch":
        params = model.parameters()
    else:
        params = setup_transfer(model, pre_dir, "backbone" if mode == "frozen" else "none",
                                args.lr, args.lr, args.lr / 10 if mode == "finetune" else None)
    opt = optim.Adam(params, lr=args.lr)
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(args.steps):
        b = rng.integers(0, len(y), min(32, len(y)))
        loss = fovea.nn.functional.cross_entropy(model(fovea.tensor(x[b])), fovea.tensor(y[b]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with fovea.no_grad():
        pred = np.concatenate([model(fovea.tensor(xt[i:i + 500])).numpy().argmax(1)
                               for i in range(0, len(xt), 500)])
    return float((pred == yt).mean())


def _pretrain_steps(args) -> str:
    """Pretrain for ``args.pretrain_steps`` steps; returns the weights file it writes."""
    import numpy as np

    import fovea
    from fovea import optim
    from fovea.data import load_dataset
    from fovea.models import build_model
    from fovea.train.run import channel_stats, normalize

    t = time.perf_counter()
    data = load_dataset("fashion_mnist", seed=args.seed)
    mean, std = channel_stats(data.x_train)
    fovea.manual_seed(args.seed)
    model = build_model(args.model, 1, (28, 28), 10)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    model.train()
    for _ in range(args.pretrain_steps):
        b = rng.integers(0, len(data.y_train), 64)
        x = normalize(data.x_train[b], mean, std)
        loss = fovea.nn.functional.cross_entropy(model(fovea.tensor(x)),
                                                 fovea.tensor(data.y_train[b]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    xt = normalize(data.x_test[:2000], mean, std)
    with fovea.no_grad():
        acc = float((model(fovea.tensor(xt)).numpy().argmax(1) == data.y_test[:2000]).mean())
    path = f"pretrain-{args.model}-{args.pretrain_steps}steps.safetensors"
    fovea.save(model.state_dict(), path)
    print(f"pretrained {args.model} on Fashion-MNIST for {args.pretrain_steps} steps: "
          f"accuracy {acc:.4f} on 2,000 test images in {time.perf_counter() - t:.0f}s "
          f"({path})", flush=True)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="small_cnn")
    p.add_argument("--pretrain", default=None, metavar="RUN_DIR",
                   help="a Fashion-MNIST run to start from (default: train one)")
    p.add_argument("--pretrain-epochs", type=int, default=1)
    p.add_argument("--pretrain-steps", type=int, default=None,
                   help="instead of `fovea train`: this many Adam steps of batch 64 on the "
                        "Fashion-MNIST training split (a short pretraining)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--per-class", default="10,100,all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default=None, help="write the figure to this PNG")
    args = p.parse_args(argv)

    import numpy as np

    from fovea.data import load_dataset
    from fovea.train.run import TrainConfig, channel_stats, normalize, train

    t0 = time.perf_counter()
    pre_dir = args.pretrain
    if pre_dir is None and args.pretrain_steps:
        pre_dir = _pretrain_steps(args)
    elif pre_dir is None:
        m = train(TrainConfig(dataset="fashion_mnist", model=args.model,
                              epochs=args.pretrain_epochs, seed=args.seed, progress=False),
                  log=lambda *a: None)
        pre_dir = m["run_dir"]
        print(f"pretrained {args.model} on Fashion-MNIST: test accuracy "
              f"{m['test_accuracy']:.4f} in {m['seconds']:.0f}s ({pre_dir})")
    data = load_dataset("mnist5k", seed=args.seed)
    rng = np.random.default_rng(args.seed)
    results = {}
    for per_class in args.per_class.split(","):
        idx = _subset(data.y_train, per_class, rng)
        mean, std = channel_stats(data.x_train[idx])
        x, xt = normalize(data.x_train[idx], mean, std), normalize(data.x_test, mean, std)
        for mode in ("scratch", "frozen", "finetune"):
            t = time.perf_counter()
            acc = _run(args, mode, x, data.y_train[idx], xt, data.y_test, pre_dir, args.seed)
            results[(per_class, mode)] = acc
            print(f"{per_class:>4s} per class ({len(idx)} images) {mode:8s} test accuracy "
                  f"{acc:.4f} ({time.perf_counter() - t:.0f}s)", flush=True)
    classes = args.per_class.split(",")
    print("\n| examples per class | scratch | frozen backbone | fine-tune all |")
    print("|---|---|---|---|")
    for c in classes:
        print(f"| {c} | " + " | ".join(f"{results[(c, m)]:.3f}" for m in
                                       ("scratch", "frozen", "finetune")) + " |")
    print(f"\nwall time {time.perf_counter() - t0:.0f}s; test images {len(data.y_test)}")
    print(json.dumps({f"{c}/{m}": a for (c, m), a in results.items()}))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        for mode, label in (("scratch", "from scratch"), ("frozen", "frozen backbone"),
                            ("finetune", "fine-tune all")):
            ax.plot(classes, [results[(c, mode)] for c in classes], marker="o", label=label)
        ax.set_xlabel("MNIST training examples per class")
        ax.set_ylabel("test accuracy (mnist5k)")
        ax.set_title(f"{args.model}: Fashion-MNIST → MNIST")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=100)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
