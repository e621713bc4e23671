"""Figures of the classic pipeline: accuracy against k, the hyperparameter search, templates,
training curves. Each is drawn on a standalone matplotlib ``Figure`` (no pyplot state, no
display needed) and written atomically: to a temporary name first, then renamed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from fovea.classic.model_selection import CVResult


def _figure(width: float = 6.0, height: float = 4.0):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Write ``fig`` to ``path`` atomically (the format follows the suffix, PNG by default).

    The parent directory is created if needed. Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix[1:].lower() or "png"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format=fmt)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _check_result(result, op: str) -> CVResult:
    if not isinstance(result, CVResult):
        raise TypeError(f"{op}: result must be a CVResult from cross_validate, got "
                        f"{type(result).__name__}")
    if not result.params:
        raise ValueError(f"{op}: the result holds no settings")
    return result


def plot_accuracy_vs_k(result: CVResult, path: str | os.PathLike, param: str = "k",
                       title: str = "Cross-validation on k") -> Path:
    """Lecture 2's figure: every fold's accuracy for each k, with mean ± std.

    Args:
        result: a grid search over ``param`` (other hyperparameters, if any, are ignored).
        path: where to write the image.
        param: the name of the hyperparameter on the x axis.

    Example:
        >>> res = cross_validate(lambda k: KNearestNeighbor(k=k), X, y, {"k": [1, 3, 5]})
        >>> plot_accuracy_vs_k(res, "runs/knn/accuracy_vs_k.png")
    """
    result = _check_result(result, "plot_accuracy_vs_k")
    if any(param not in p for p in result.params):
        raise ValueError(f"plot_accuracy_vs_k: not every setting has a {param!r} value")
    ks = np.array([p[param] for p in result.params], dtype=np.float64)
    fig = _figure()
    ax = fig.add_subplot()
    for k, row in zip(ks, result.scores):
        ax.scatter(np.full(row.shape, k), row, s=12, color="tab:blue", alpha=0.6)
    order = np.argsort(ks)
    ax.errorbar(ks[order], result.mean_scores[order], yerr=result.std_scores[order],
                color="tab:orange", marker="o", capsize=3, label="mean ± std")
    ax.set_xlabel(param)
    ax.set_ylabel("cross-validation accuracy")
    ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)


def plot_hyperparameter_search(result: CVResult, path: str | os.PathLike,
                               x: str = "learning_rate", y: str = "reg",
                               title: str = "Hyperparameter search") -> Path:
    """Mean validation accuracy of every (x, y) setting tried, on log axes, colour-coded.

    Works for grids and random searches alike; the best setting is starred.

    Example:
        >>> plot_hyperparameter_search(result, "runs/svm/search.png")
    """
    result = _check_result(result, "plot_hyperparameter_search")
    for name in (x, y):
        if any(name not in p for p in result.params):
            raise ValueError(f"plot_hyperparameter_search: not every setting has {name!r}")
    xs = np.array([p[x] for p in result.params], dtype=np.float64)
    ys = np.array([p[y] for p in result.params], dtype=np.float64)
    fig = _figure()
    ax = fig.add_subplot()
    sc = ax.scatter(xs, ys, c=result.mean_scores, cmap="viridis", s=80)
    b = result.best_index
    ax.scatter([xs[b]], [ys[b]], marker="*", s=300, facecolors="none", edgecolors="red")
    if (xs > 0).all():
        ax.set_xscale("log")
    if (ys > 0).all():
        ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{title}\nbest (starred): {result.best_score:.3f}")
    fig.colorbar(sc, ax=ax, label="mean cross-validation accuracy")
    return save_figure(fig, path)


def plot_templates(templates: np.ndarray, path: str | os.PathLike,
                   class_names: Sequence[str] | None = None,
                   title: str = "Class templates") -> Path:
    """A row of class-template images (from ``LinearClassifier.visualize_templates``).

    Args:
        templates: (C, H, W, 3), (C, H, W, 1) or (C, H, W), values in [0, 1].
        path: where to write the image.
        class_names: one title per template.
    """
    t = np.asarray(templates, dtype=np.float64)
    if t.ndim == 4 and t.shape[-1] == 1:
        t = t[..., 0]
    if t.ndim not in (3, 4) or (t.ndim == 4 and t.shape[-1] != 3):
        raise ValueError(f"plot_templates: templates must be (C, H, W) or (C, H, W, 3), got "
                         f"{np.asarray(templates).shape}")
    n = t.shape[0]
    if class_names is not None and len(class_names) != n:
        raise ValueError(f"plot_templates: {n} templates but {len(class_names)} class names")
    cols = min(n, 10)
    rows = math.ceil(n / cols)
    fig = _figure(1.2 * cols + 0.4, 1.4 * rows + 0.4)
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(np.clip(t[i], 0, 1), cmap="gray" if t.ndim == 3 else None,
                  interpolation="nearest")
        ax.set_axis_off()
        if class_names is not None:
            ax.set_title(str(class_names[i]), fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_training_history(history: Sequence[float] | Mapping[str, Sequence[float]],
                          path: str | os.PathLike, title: str = "Training") -> Path:
    """The loss per iteration, and the accuracies per epoch when given.

    Args:
        history: a list of losses, or a dict with ``loss_history`` and optionally
            ``train_acc_history`` / ``val_acc_history`` (what ``TwoLayerNet.train`` returns).
        path: where to write the image.
    """
    stats = {"loss_history": history} if not isinstance(history, Mapping) else history
    if "loss_history" not in stats:
        raise ValueError("plot_training_history: history needs a 'loss_history'")
    accs = [k for k in ("train_acc_history", "val_acc_history") if len(stats.get(k, ()))]
    fig = _figure(6.0, 6.0 if accs else 3.5)
    ax = fig.add_subplot(2 if accs else 1, 1, 1)
    ax.plot(np.asarray(stats["loss_history"], dtype=np.float64), linewidth=0.8)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title(title)
    if accs:
        ax2 = fig.add_subplot(2, 1, 2)
        for k in accs:
            ax2.plot(np.arange(1, len(stats[k]) + 1), stats[k], marker="o", markersize=3,
                     label=k.replace("_acc_history", ""))
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("accuracy")
        ax2.legend()
    return save_figure(fig, path)
