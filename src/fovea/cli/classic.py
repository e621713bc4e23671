"""``fovea classic knn|svm|softmax|two-layer``: train a classic classifier on a named data set.

Loads the fixed train / validation / test split, turns images into rows (pixels or
hand-designed features), optionally chooses hyperparameters by k-fold cross-validation on
the training split, trains, prints validation and test accuracy and writes its figures and
a ``results.json`` to ``--out`` (default ``runs/classic-<model>``).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import time
from pathlib import Path

import numpy as np

MODELS = ("knn", "svm", "softmax", "two-layer")
FEATURES = ("pixels", "hog", "color", "hog+color")
DEFAULT_K_GRID = (1, 3, 5, 8, 10, 12, 15, 20, 50, 100)

# Defaults chosen by cross-validation on the bundled digits; the other rows are starting
# points for data scaled to [0, 1] (run with --cross-validate to tune them).
DEFAULTS = {
    "digits": {
        "knn": {"k": 1},
        "svm": {"learning_rate": 0.3, "reg": 1e-3, "num_iters": 1000, "batch_size": 200},
        "softmax": {"learning_rate": 0.3, "reg": 1e-4, "num_iters": 1000, "batch_size": 200},
        "two-layer": {"hidden_size": 100, "std": 0.1, "learning_rate": 1.0,
                      "learning_rate_decay": 0.99, "reg": 1e-3, "num_iters": 1000,
                      "batch_size": 200},
    },
    "cifar10": {
        "knn": {"k": 10},
    },
    None: {
        "knn": {"k": 1},
        "svm": {"learning_rate": 5e-3, "reg": 0.5, "num_iters": 1500, "batch_size": 200},
        "softmax": {"learning_rate": 5e-3, "reg": 0.5, "num_iters": 1500, "batch_size": 200},
        "two-layer": {"hidden_size": 100, "std": None, "learning_rate": 1e-2,
                      "learning_rate_decay": 0.95, "reg": 1e-3, "num_iters": 2000,
                      "batch_size": 200},
    },
}


def defaults_for(dataset: str, model: str) -> dict:
    """The default hyperparameters of ``model`` on ``dataset``."""
    return dict(DEFAULTS.get(dataset, {}).get(model) or DEFAULTS[None][model])


# ------------------------------------------------------------------- parsing
def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _folds(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"folds must be >= 2, got {text}")
    return value


def _add_common(p: argparse.ArgumentParser, model: str) -> None:
    p.add_argument("--dataset", default="digits",
                   help="data set name for fovea.data.load_dataset (default: digits)")
    p.add_argument("--data-dir", default=None, help="where data sets are stored / downloaded")
    p.add_argument("--no-download", action="store_true",
                   help="fail instead of downloading missing data")
    p.add_argument("--seed", type=int, default=0, help="seeds the split, models and search")
    p.add_argument("--out", default=None, help=f"output folder (default runs/classic-{model})")
    p.add_argument("--features", choices=FEATURES, default="pixels",
                   help="train on raw pixels or on HOG / HSV colour-histogram features")
    p.add_argument("--max-train", type=_positive_int, default=None,
                   help="use a random subset of this many training examples")
    p.add_argument("--max-test", type=_positive_int, default=None,
                   help="use a random subset of this many validation and test examples")
    p.add_argument("--cross-validate", action="store_true",
                   help="choose hyperparameters by k-fold cross-validation on the train split")
    p.add_argument("--folds", type=_folds, default=5,
                   help="cross-validation folds, at least 2 (default 5)")


def _add_sgd(p: argparse.ArgumentParser) -> None:
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--reg", type=float, default=None, help="L2 regularisation strength")
    p.add_argument("--num-iters", type=int, default=None)
    p.add_argument("--batch-size", type=_positive_int, default=None)
    p.add_argument("--search", choices=("grid", "random"), default="grid",
                   help="with --cross-validate: a learning-rate × reg grid around the "
                        "defaults, or a log-uniform random search")
    p.add_argument("--num-samples", type=_positive_int, default=12,
                   help="settings tried by --search random (default 12)")


def register(sub) -> None:
    """Add ``fovea classic`` and its model subcommands to the ``fovea`` parser."""
    p = sub.add_parser("classic", help="kNN, linear SVM / softmax, two-layer net (NumPy)",
                       description=__doc__)
    models = p.add_subparsers(dest="model", metavar="MODEL", required=True)
    knn = models.add_parser("knn", help="k-nearest neighbours")
    _add_common(knn, "knn")
    knn.add_argument("--k", type=_positive_int, nargs="+", default=None,
                     help="neighbours; several values are compared (on the validation split, "
                          "or by cross-validation)")
    knn.add_argument("--metric", choices=("l2", "l1"), default="l2")
    for name, help_ in (("svm", "linear SVM (hinge loss)"), ("softmax", "softmax classifier")):
        lp = models.add_parser(name, help=help_)
        _add_common(lp, name)
        _add_sgd(lp)
    net = models.add_parser("two-layer", help="two-layer net with hand-written backprop")
    _add_common(net, "two-layer")
    _add_sgd(net)
    net.add_argument("--hidden-size", type=_positive_int, default=None)
    net.add_argument("--std", type=float, default=None,
                     help="initial weight scale (default: sqrt(2 / D))")
    net.add_argument("--learning-rate-decay", type=float, default=None)
    for parser in models.choices.values():
        parser.set_defaults(func=run)


# ---------------------------------------------------------------------- data
def _subset(x, y, n, rng):
    if n is None or n >= len(y):
        return x, y
    idx = np.sort(rng.choice(len(y), size=n, replace=False))
    return x[idx], y[idx]


def _featurize(kind: str, images: np.ndarray) -> np.ndarray:
    from fovea.classic.features import color_histogram_hsv, extract_features, hog_features
    from fovea.classic.preprocessing import flatten_images

    if kind == "pixels":
        return flatten_images(images)
    fns = []
    if "hog" in kind:
        cell = max(1, min(images.shape[-2:]) // 4)
        fns.append(functools.partial(hog_features, cell_size=cell))
    if "color" in kind:
        if images.shape[1] != 3:
            raise ValueError(f"--features {kind}: colour histograms need RGB images, the data "
                             f"set has {images.shape[1]} channel(s)")
        fns.append(color_histogram_hsv)
    return extract_features(images, fns)


def _load(args):
    from fovea.data import load_dataset

    data = load_dataset(args.dataset, data_dir=args.data_dir, download=not args.no_download,
                        seed=args.seed)
    rng = np.random.default_rng(args.seed)
    x_tr, y_tr = _subset(data.x_train, data.y_train, args.max_train, rng)
    x_va, y_va = _subset(data.x_val, data.y_val, args.max_test, rng)
    x_te, y_te = _subset(data.x_test, data.y_test, args.max_test, rng)
    if len(y_tr) == 0:
        raise ValueError(f"data set {args.dataset!r} has an empty training split")
    splits = {name: (_featurize(args.features, x), y) for name, x, y in
              (("train", x_tr, y_tr), ("val", x_va, y_va), ("test", x_te, y_te))}
    return data, splits


def _accuracy(model, X, y) -> float | None:
    if len(y) == 0:
        return None
    return float(np.mean(model.predict(X) == y))


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=float) + "\n")
    os.replace(tmp, path)


# -------------------------------------------------------------------- models
def _run_knn(args, splits, out: Path, figures: list, report: dict):
    """k from --k (one value), else the best of the candidates by cross-validation or on the
    validation split; the accuracy-against-k figure is drawn either way when there is data
    to draw it from."""
    from fovea.classic.knn import KNearestNeighbor
    from fovea.classic.model_selection import CVResult, cross_validate
    from fovea.classic.plots import plot_accuracy_vs_k

    (Xtr, ytr), (Xva, yva) = splits["train"], splits["val"]
    # The smallest training set k must fit: a cross-validation fold's, or the whole split.
    fold_train = len(ytr) - math.ceil(len(ytr) / args.folds) if args.cross_validate \
        else len(ytr)
    given = list(dict.fromkeys(args.k)) if args.k is not None else []
    for k in given:
        if k > fold_train:
            where = "each cross-validation fold's" if args.cross_validate else "the"
            raise ValueError(f"--k {k} is larger than {where} training set ({fold_train} "
                             f"examples)")
    grid = given if len(given) > 1 else [k for k in DEFAULT_K_GRID if k <= fold_train]
    ks = sorted(set(grid) | set(given))
    result = None
    if args.cross_validate:
        result = cross_validate(lambda k: KNearestNeighbor(k=k, metric=args.metric), Xtr, ytr,
                                param_grid={"k": ks}, folds=args.folds, seed=args.seed)
        title = f"{args.folds}-fold cross-validation on k ({args.dataset})"
    elif len(yva):
        knn = KNearestNeighbor(metric=args.metric).train(Xtr, ytr)
        dists = knn.compute_distances_no_loops(Xva)  # once, then a vote per k
        scores = [[float(np.mean(knn.predict_labels(dists, k) == yva))] for k in ks]
        result = CVResult([{"k": k} for k in ks], np.array(scores))
        title = f"Validation accuracy against k ({args.dataset})"
    if result is not None:
        figures.append(plot_accuracy_vs_k(result, out / "accuracy_vs_k.png", title=title))
        report["search"] = result.to_dict()
    if len(given) == 1:
        k = given[0]
    elif result is not None:
        k = result.best_params["k"]
    else:
        k = min(defaults_for(args.dataset, "knn")["k"], len(ytr))
    model = KNearestNeighbor(k=k, metric=args.metric).train(Xtr, ytr)
    report["hyperparameters"] = {"k": k, "metric": args.metric}
    print(f"k = {k}, metric = {args.metric}")
    return model


def _sgd_settings(args, model: str) -> dict:
    hp = defaults_for(args.dataset, model)
    for name in hp:
        value = getattr(args, name, None)
        if value is not None:
            hp[name] = value
    return hp


def _search(args, factory, Xtr, ytr, hp, out: Path, figures: list, report: dict, title: str):
    from fovea.classic.model_selection import cross_validate, log_uniform
    from fovea.classic.plots import plot_hyperparameter_search

    lr, reg = hp["learning_rate"], hp["reg"]
    if args.search == "grid":
        grid = {"learning_rate": [lr * f for f in (0.1, 0.3, 1.0, 3.0)],
                "reg": [reg * f for f in (0.1, 1.0, 10.0)] if reg > 0 else [0.0, 1e-4, 1e-3]}
        result = cross_validate(factory, Xtr, ytr, param_grid=grid, folds=args.folds,
                                seed=args.seed)
    else:
        sampler = {"learning_rate": log_uniform(lr / 10, lr * 3),
                   "reg": log_uniform(max(reg, 1e-6) / 100, max(reg, 1e-6) * 100)}
        result = cross_validate(factory, Xtr, ytr, sampler=sampler, folds=args.folds,
                                num_samples=args.num_samples, seed=args.seed)
    figures.append(plot_hyperparameter_search(result, out / "search.png", title=title))
    report["search"] = result.to_dict()
    hp.update(result.best_params)
    return hp


def _run_linear(args, splits, out: Path, figures: list, report: dict, image_shape):
    from fovea.classic.linear_classifier import LinearSVM, Softmax
    from fovea.classic.model_selection import Configured
    from fovea.classic.plots import plot_templates, plot_training_history
    from fovea.classic.preprocessing import Standardizer, append_bias

    cls = LinearSVM if args.model == "svm" else Softmax
    hp = _sgd_settings(args, args.model)
    prep = Standardizer(scale=args.features != "pixels").fit(splits["train"][0])
    for name, (X, y) in list(splits.items()):
        splits[name] = (append_bias(prep.transform(X)), y)
    Xtr, ytr = splits["train"]
    train_kw = {k: hp[k] for k in ("num_iters", "batch_size")}
    if args.cross_validate:
        def factory(learning_rate, reg):
            return Configured(cls(seed=args.seed),
                              dict(learning_rate=learning_rate, reg=reg, **train_kw))
        hp = _search(args, factory, Xtr, ytr, hp, out, figures, report,
                     f"{args.model}: {args.folds}-fold cross-validation ({args.dataset})")
    model = cls(seed=args.seed)
    history = model.train(Xtr, ytr, learning_rate=hp["learning_rate"], reg=hp["reg"],
                          **train_kw)
    report["hyperparameters"] = hp
    print(", ".join(f"{k} = {v:g}" for k, v in hp.items()))
    figures.append(plot_training_history(history, out / "loss.png",
                                         title=f"{args.model} training loss"))
    if args.features == "pixels":
        names = report["classes"] if len(report["classes"]) == model.W.shape[1] else None
        figures.append(plot_templates(model.visualize_templates(image_shape),
                                      out / "templates.png", class_names=names,
                                      title=f"{args.model} templates"))
    return model


def _run_two_layer(args, splits, out: Path, figures: list, report: dict):
    from fovea.classic.model_selection import Configured
    from fovea.classic.plots import plot_training_history
    from fovea.classic.preprocessing import Standardizer
    from fovea.classic.two_layer_net import TwoLayerNet

    hp = _sgd_settings(args, "two-layer")
    prep = Standardizer(scale=True).fit(splits["train"][0])
    for name, (X, y) in list(splits.items()):
        splits[name] = (prep.transform(X), y)
    (Xtr, ytr), (Xva, yva) = splits["train"], splits["val"]
    D = Xtr.shape[1]
    C = max(report["num_classes"], int(ytr.max()) + 1)
    if hp["std"] is None:
        hp["std"] = float(np.sqrt(2.0 / D))
    fixed = {k: hp[k] for k in ("learning_rate_decay", "num_iters", "batch_size")}

    def make():
        return TwoLayerNet(D, hp["hidden_size"], C, std=hp["std"], seed=args.seed)

    if args.cross_validate:
        def factory(learning_rate, reg):
            return Configured(make(), dict(learning_rate=learning_rate, reg=reg, **fixed))
        hp = _search(args, factory, Xtr, ytr, hp, out, figures, report,
                     f"two-layer net: {args.folds}-fold cross-validation ({args.dataset})")
    model = make()
    val = (Xva, yva) if len(yva) else (None, None)
    stats = model.train(Xtr, ytr, *val, learning_rate=hp["learning_rate"], reg=hp["reg"],
                        **fixed)
    report["hyperparameters"] = hp
    print(", ".join(f"{k} = {v:g}" for k, v in hp.items()))
    figures.append(plot_training_history(stats, out / "training.png",
                                         title="two-layer net training"))
    return model


# ----------------------------------------------------------------------- run
def run(args) -> int:
    """Run ``fovea classic <model>``; returns the exit code."""
    started = time.perf_counter()
    out = Path(args.out or f"runs/classic-{args.model}")
    data, splits = _load(args)
    (Xtr, ytr), yva, yte = splits["train"], splits["val"][1], splits["test"][1]
    print(f"classic {args.model} on {args.dataset}: {len(ytr)} train, {len(yva)} val, "
          f"{len(yte)} test examples, {Xtr.shape[1]} features ({args.features})")
    figures: list[Path] = []
    report = {"model": args.model, "dataset": args.dataset, "features": args.features,
              "seed": args.seed, "classes": list(data.classes),
              "num_classes": int(data.num_classes),
              "sizes": {"train": len(ytr), "val": len(yva), "test": len(yte)}}
    if args.model == "knn":
        model = _run_knn(args, splits, out, figures, report)
    elif args.model in ("svm", "softmax"):
        model = _run_linear(args, splits, out, figures, report, data.image_shape)
    else:
        model = _run_two_layer(args, splits, out, figures, report)
    val_acc = _accuracy(model, *splits["val"])
    test_acc = _accuracy(model, *splits["test"])
    report.update(val_accuracy=val_acc, test_accuracy=test_acc,
                  seconds=round(time.perf_counter() - started, 3))
    print(f"validation accuracy: {val_acc:.4f}" if val_acc is not None
          else "validation accuracy: n/a (empty split)")
    print(f"test accuracy: {test_acc:.4f}" if test_acc is not None
          else "test accuracy: n/a (empty split)")
    _write_json(out / "results.json", report)
    for f in figures:
        print(f"figure: {f}")
    print(f"results: {out / 'results.json'}")
    return 0
